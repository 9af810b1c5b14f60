"""Hardening against an attacker and an unlucky user (issue 11): secrets in every form, one deadline, bounded
answers, a session never reported lost, cancellation, proxies and CAs, names and templates.

End to end through the console script under a runner's environment (the `action_runner` fixture) where the
runner matters; in process through the declared seams where only logic is tested.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from recoup_session_action import markdown
from recoup_session_action.standins.github import GitHubStandIn
from recoup_session_action.standins.recoupable import Fault, RecoupableStandIn

from .conftest import API_KEY, GITHUB_TOKEN, ActionRun, RunAction, pull_request_event
from .test_faults import check_run, error_line, inputs, run_pr

UNKNOWN = "a session may exist"


def secret_forms(secret: str) -> list[str]:
    """Every form a secret may take on its way to a sink: raw, Markdown-escaped, JSON-escaped, percent-encoded."""
    return [
        secret,
        markdown.text(secret),
        secret.replace("_", "\\_"),
        "".join(f"\\u{ord(char):04x}" for char in secret),
        "\\u0072" + secret[1:],
        quote(secret, safe=""),
        "".join(f"%{ord(char):02X}" for char in secret),
        "%72" + secret[1:],
    ]


def assert_no_secret_form(text: str, *secrets: str) -> None:
    for secret in secrets:
        for form in secret_forms(secret):
            assert form not in text, f"{form!r} reached a sink"


def everything_written(run: ActionRun) -> str:
    """stdout (but the masks), stderr, the outputs file and the summary: every runner sink."""
    log = "\n".join(line for line in run.log.splitlines() if not line.startswith("::add-mask::"))
    return "\n".join((log, run.output_file_text, run.summary))


# -- secrets in every form ------------------------------------------------------------------------------------


def test_a_key_the_server_sends_back_in_any_encoding_reaches_no_sink(
    action_runner: RunAction, recoupable: RecoupableStandIn, github: GitHubStandIn
) -> None:
    json_escaped = "".join(f"\\u{ord(char):04x}" for char in API_KEY)
    fields = {
        "status": "".join(f"%{ord(char):02X}" for char in API_KEY),
        "lifecycleState": API_KEY.replace("_", "\\\\_"),
        "branch": json_escaped,
        "title": "\\u0072" + API_KEY[1:],
    }
    members = ",".join(f'"{name}":"{value}"' for name, value in fields.items())
    session = f'{{"session":{{"id":"s-1","repoOwner":"acme","repoName":"app",{members}}},"chat":{{"id":"c-1"}}}}'
    recoupable.faults.append(Fault(200, session.encode()))
    github.add_pull(
        "acme", "app", 42, title="t", head_ref="feat/search", head_sha="1234abcd", head_full_name="acme/app"
    )
    run = action_runner(
        event_name="pull_request",
        event=pull_request_event(),
        inputs={**inputs(recoupable.url), "comment": "update", "github-token": GITHUB_TOKEN},
        env={"GITHUB_API_URL": github.api_url, "GITHUB_REPOSITORY": "acme/app"},
    )
    check_run(run)
    assert run.returncode == 0, run.log
    assert run.outputs["session-id"] == "s-1"
    [comment] = github.comments("acme", "app", 42)
    assert_no_secret_form(everything_written(run), API_KEY, GITHUB_TOKEN)
    assert_no_secret_form(comment["body"], API_KEY, GITHUB_TOKEN)
    assert run.outputs["status"] == "***"


def test_a_key_written_into_the_comment_template_is_redacted_from_the_comment(
    action_runner: RunAction, recoupable: RecoupableStandIn, github: GitHubStandIn
) -> None:
    github.add_pull(
        "acme", "app", 42, title="t", head_ref="feat/search", head_sha="1234abcd", head_full_name="acme/app"
    )
    template = f"Session {{session_id}} key {API_KEY} escaped {markdown.text(API_KEY)} token {GITHUB_TOKEN}"
    run = action_runner(
        event_name="pull_request",
        event=pull_request_event(),
        inputs={
            **inputs(recoupable.url),
            "comment": "update",
            "github-token": GITHUB_TOKEN,
            "comment-template": template,
        },
        env={"GITHUB_API_URL": github.api_url, "GITHUB_REPOSITORY": "acme/app"},
    )
    check_run(run)
    [comment] = github.comments("acme", "app", 42)
    assert_no_secret_form(comment["body"], API_KEY, GITHUB_TOKEN)
    assert "key *** escaped *** token ***" in comment["body"]


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("api-key", API_KEY[:20] + "\n" + API_KEY[20:], "it holds a line break"),
        ("api-key", API_KEY[:20] + " " + API_KEY[20:], "it holds a space"),
        ("api-key", API_KEY[:20] + "\u00e9" + API_KEY[20:], "it holds a character that is not printable ASCII"),
        ("api-key", API_KEY[:20] + "\x7f" + API_KEY[20:], "it holds a character that is not printable ASCII"),
        ("github-token", GITHUB_TOKEN + "\r\nX-Injected: 1", "it holds a line break"),
        (
            "github-token",
            GITHUB_TOKEN[:4] + "\u200b" + GITHUB_TOKEN[4:],
            "it holds a character that is not printable ASCII",
        ),
    ],
    ids=["key-newline", "key-space", "key-non-ascii", "key-del", "token-crlf", "token-zero-width"],
)
def test_a_secret_that_cannot_be_a_header_is_an_input_error_before_anything_is_sent(
    action_runner: RunAction, recoupable: RecoupableStandIn, name: str, value: str, rule: str
) -> None:
    run = run_pr(action_runner, recoupable.url, {name: value})
    assert run.returncode == 1, run.log
    assert f"Input '{name}': {rule}" in error_line(run)
    assert recoupable.requests == []
    assert UNKNOWN not in run.stdout
    assert "CAUTION" not in run.summary
    assert run.outputs["outcome"] == "failed"
    assert "Traceback" not in run.log
    for part in (value[:20], value[-20:]):
        assert part not in everything_written(run)
