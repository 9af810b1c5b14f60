"""The runner's language: inputs as the runner passes them, masks first, outputs file, inert log lines."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from recoup_session_action.runner import RunnerReporter, parse_output_file, read_inputs


def test_inputs_hyphenated_underscored_and_overridden_with_secrets_masked_first() -> None:
    stream = io.StringIO()
    environ = {"INPUT_API-KEY": "k1", "INPUT_NEW_BRANCH": "true", "INPUT_GITHUB-TOKEN": "t1", "INPUT_BRANCH": "a"}
    raw = read_inputs(environ, {"branch": "b"}, stream)
    assert (raw["api-key"], raw["new-branch"], raw["branch"], raw["title"]) == ("k1", "true", "b", "")
    assert stream.getvalue() == "::add-mask::k1\n::add-mask::t1\n"


def test_outputs_round_trip_with_multiline_values(tmp_path: Path) -> None:
    path = tmp_path / "out"
    reporter = RunnerReporter(io.StringIO(), str(path), None)
    reporter.set_outputs({"a": "one", "b": "two\nlines"})
    reporter.set_outputs({"c": ""})
    assert parse_output_file(path.read_text(encoding="utf-8")) == {"a": "one", "b": "two\nlines", "c": ""}


def test_a_value_holding_the_delimiter_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("actions_toolkit.file_command.uuid4", lambda: "fixed")
    reporter = RunnerReporter(io.StringIO(), str(tmp_path / "out"), None)
    with pytest.raises(Exception, match="should not contain the delimiter"):
        reporter.set_outputs({"a": "x\nghadelimiter_fixed\ny"})


def test_untrusted_lines_that_look_like_commands_are_wrapped_in_stop_commands() -> None:
    stream = io.StringIO()
    RunnerReporter(stream, None, None).info("branch: x\n::set-output name=a::b")
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("::stop-commands::")
    token = lines[0].removeprefix("::stop-commands::")
    assert len(token) == 32
    assert lines[-1] == f"::{token}::"


def test_annotations_escape_their_data() -> None:
    stream = io.StringIO()
    RunnerReporter(stream, None, None).warning("a\n::error::b %0A", title="t:1,2")
    assert stream.getvalue() == "::warning title=t%3A1%2C2::a%0A::error::b %250A\n"


def test_secrets_are_redacted_from_the_log_outputs_and_summary(tmp_path: Path) -> None:
    stream, output, summary = io.StringIO(), tmp_path / "out", tmp_path / "summary"
    key, multiline = "recoup_sk_01:23,45%67", "line-one-secret\nline-two-secret\n"
    reporter = RunnerReporter(stream, str(output), str(summary), secrets=[f" {key} ", multiline, ""])

    reporter.info(f"answer: {key}")
    reporter.warning(f"body: line-two-secret {key}")
    reporter.error(f"failed with {key}", title=f"title {key}")
    reporter.set_outputs({"response": f'{{"echo": "{key}", "other": "line-one-secret"}}'})
    reporter.add_summary(f"| Key | {key} |\n")

    written = "\n".join((stream.getvalue(), output.read_text(encoding="utf-8"), summary.read_text(encoding="utf-8")))
    assert "recoup_sk_" not in written
    assert "secret" not in written
    assert parse_output_file(output.read_text(encoding="utf-8")) == {"response": '{"echo": "***", "other": "***"}'}
    assert "answer: ***" in stream.getvalue()
    assert "| Key | *** |" in summary.read_text(encoding="utf-8")
