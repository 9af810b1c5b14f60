"""The only module that speaks the GitHub runner's language: `INPUT_*` variables, workflow commands
(masks, annotations, groups), the `GITHUB_OUTPUT` file and the job summary.

actions-toolkit is used here and nowhere else: its command formatting (with the runner's escaping) and its
output-file message format (random delimiter, refused when the value holds it). Its `core` module is not
imported: it pulls in `requests` for OIDC, which this action never needs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from secrets import token_hex
from typing import TextIO

from actions_toolkit.command import Command
from actions_toolkit.file_command import prepare_key_value_message

from .errors import SinkError
from .inputs import INPUT_SPECS, SECRET_INPUTS
from .text import redact


def read_inputs(environ: Mapping[str, str], overrides: Mapping[str, str], stream: TextIO) -> dict[str, str]:
    """Each input as the runner passes it (`INPUT_API-KEY`), or as users spell it by hand (`INPUT_API_KEY`),
    with command-line `overrides` on top.

    Secret inputs are masked on `stream` before this returns, so nothing can print them first.
    """
    raw: dict[str, str] = {}
    for spec in INPUT_SPECS:
        upper = spec.name.upper()
        names = (f"INPUT_{upper}", f"INPUT_{upper.replace('-', '_')}")
        if spec.name in overrides:
            raw[spec.name] = overrides[spec.name]
        elif spec.empty_is_value:
            given = next((environ[name] for name in names if name in environ), None)
            if given is None:
                continue  # unset, not empty: the default applies
            raw[spec.name] = given
        else:
            raw[spec.name] = next((environ[name] for name in names if environ.get(name)), "")
        if spec.name in SECRET_INPUTS:
            mask(stream, raw[spec.name])
    return raw


def parse_output_file(text: str) -> dict[str, str]:
    """Read a GITHUB_OUTPUT file back (`name<<DELIMITER` blocks), as the runner does."""
    values: dict[str, str] = {}
    lines = iter(text.split(os.linesep))
    for line in lines:
        name, marker, delimiter = line.partition("<<")
        if not marker:
            continue
        value_lines: list[str] = []
        for value_line in lines:
            if value_line == delimiter:
                break
            value_lines.append(value_line)
        values[name] = os.linesep.join(value_lines)
    return values


def mask(stream: TextIO, secret: str) -> None:
    for line in _secret_lines(secret):
        stream.write(f"{Command('add-mask', {}, line)}\n")
    stream.flush()


def _secret_lines(secret: str) -> list[str]:
    """What the runner masks of a secret: each non-blank line, stripped."""
    return [line.strip() for line in secret.splitlines() if line.strip()]


class RunnerReporter:
    """Reports to a GitHub runner: log commands on `stream`, outputs and summary into the runner's files.

    Each of `secrets` is redacted from everything it writes. The code that handles a secret already keeps it out
    of what it reports; this is the second line of defence, and the one that also covers outputs and summary,
    which the masks do not reach."""

    def __init__(
        self,
        stream: TextIO,
        output_path: str | None,
        summary_path: str | None,
        *,
        secrets: Iterable[str] = (),
    ) -> None:
        self._stream = stream
        self._output_path = output_path
        self._summary_path = summary_path
        self._secrets = tuple(line for secret in secrets for line in _secret_lines(secret))
        self._outputs_set: set[str] = set()
        self._failed: set[str] = set()  # files that could not be written: said once, not tried again

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], stream: TextIO, *, secrets: Iterable[str] = ()) -> RunnerReporter:
        output, summary = environ.get("GITHUB_OUTPUT"), environ.get("GITHUB_STEP_SUMMARY")
        return cls(stream, output, summary, secrets=secrets)

    def info(self, text: str) -> None:
        """A plain log line. Untrusted text cannot start a workflow command: if any line would, the block is
        wrapped in `::stop-commands::` with a token nobody can guess."""
        text = self._redact(text)
        if any(line.lstrip().startswith("::") for line in text.splitlines()):
            token = token_hex(16)
            self._write(f"::stop-commands::{token}\n{text}\n::{token}::\n")
        else:
            self._write(f"{text}\n")

    def notice(self, text: str, title: str | None = None) -> None:
        self._command("notice", text, title)

    def warning(self, text: str, title: str | None = None) -> None:
        self._command("warning", text, title)

    def error(self, text: str, title: str | None = None) -> None:
        self._command("error", text, title)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        self._command("group", title)
        try:
            yield
        finally:
            self._command("endgroup", "")

    def set_outputs(self, outputs: Mapping[str, str]) -> None:
        """Append `outputs` to GITHUB_OUTPUT. An output already set is never set again (the runner would take the
        last value), so nothing written later can overwrite what an earlier batch reported."""
        if "GITHUB_OUTPUT" in self._failed:
            return
        if not self._output_path:
            self._failed.add("GITHUB_OUTPUT")
            raise SinkError("GITHUB_OUTPUT is not set, so the step outputs could not be written")
        fresh = {name: value for name, value in outputs.items() if name not in self._outputs_set}
        messages = "".join(
            f"{prepare_key_value_message(name, self._redact(value))}{os.linesep}" for name, value in fresh.items()
        )
        self._append("GITHUB_OUTPUT", self._output_path, messages, "The step outputs")
        self._outputs_set.update(fresh)

    def add_summary(self, markdown: str) -> None:
        if "GITHUB_STEP_SUMMARY" in self._failed:
            return
        if not self._summary_path:
            self._failed.add("GITHUB_STEP_SUMMARY")
            raise SinkError("GITHUB_STEP_SUMMARY is not set, so the job summary could not be written")
        self._append("GITHUB_STEP_SUMMARY", self._summary_path, self._redact(markdown), "The job summary")

    def _append(self, variable: str, path: str, text: str, what: str) -> None:
        try:
            with Path(path).open("a", encoding="utf-8", newline="") as file:
                file.write(text)
        except OSError as error:
            self._failed.add(variable)
            reason = error.strerror or type(error).__name__
            raise SinkError(f"{what} could not be written to {variable} ({path}: {reason})") from None

    def _command(self, name: str, message: str, title: str | None = None) -> None:
        # Redacted after the command escaped its data (the last step before the log), in every escaped form.
        properties = {"title": title} if title else {}
        line = str(Command(name, properties, message))
        prefix = f"::{name}"
        self._write(f"{prefix}{self._redact(line.removeprefix(prefix))}\n")

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)
