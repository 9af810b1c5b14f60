"""Hardening against an attacker and an unlucky user (issue 11): secrets in every form, one deadline, bounded
answers, a session never reported lost, cancellation, proxies and CAs, names and templates.

End to end through the console script under a runner's environment (the `action_runner` fixture) where the
runner matters; in process through the declared seams where only logic is tested.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from recoup_session_action import markdown
from recoup_session_action.comment_body import render_body
from recoup_session_action.context import RunnerEnv, Target
from recoup_session_action.errors import InputError
from recoup_session_action.github_rules import RepoSlug, branch_rule_broken
from recoup_session_action.inputs import parse_settings
from recoup_session_action.outcome import Outcome, State, session_url
from recoup_session_action.recoupable_models import CreateSessionResponse
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


# -- inputs and events ----------------------------------------------------------------------------------------

GIT_BRANCH_CASES = [
    "main",
    "feat/search-1.2",
    "HEAD",
    "-x",
    "a..b",
    "a b",
    "a~b",
    "a.lock",
    "x/.y",
    ".x",
    "a/",
    "a//b",
    "a@{b",
    "a.",
    "x\\y",
    "a\u202eb",
    "caf\u00e9",
]


@pytest.mark.parametrize("branch", GIT_BRANCH_CASES)
def test_branch_names_are_judged_as_git_check_ref_format_branch_judges_them(branch: str, tmp_path: Path) -> None:
    git = subprocess.run(
        ["git", "check-ref-format", "--branch", branch], cwd=tmp_path, capture_output=True, check=False
    )
    assert (branch_rule_broken(branch) is None) == (git.returncode == 0)


def test_head_is_refused_and_a_refs_heads_prefix_is_stripped() -> None:
    with pytest.raises(InputError, match="Input 'branch': 'HEAD' is not a valid branch name: it is 'HEAD'"):
        parse_settings({"branch": "HEAD"})
    assert parse_settings({"branch": "refs/heads/feat/x"}).branch == "feat/x"
    with pytest.raises(InputError, match="it is 'HEAD'"):
        parse_settings({"branch": "refs/heads/HEAD"})


INVISIBLE = "\u202e\u2066\u200b\ufeff"


def test_invisible_and_bidirectional_characters_never_reach_the_comment_or_summary_raw(
    action_runner: RunAction, recoupable: RecoupableStandIn, github: GitHubStandIn
) -> None:
    branch = f"feat/\u202etxt.exe\u200b{INVISIBLE}"
    github.add_pull("acme", "app", 42, title="t", head_ref=branch, head_sha="1234abcd", head_full_name="acme/app")
    run = action_runner(
        event_name="pull_request",
        event=pull_request_event(ref=branch, title=f"Fix {INVISIBLE} it"),
        inputs={**inputs(recoupable.url), "comment": "update", "github-token": GITHUB_TOKEN},
        env={"GITHUB_API_URL": github.api_url, "GITHUB_REPOSITORY": "acme/app"},
    )
    check_run(run)
    assert recoupable.posts[0].json()["branch"] == branch  # sent as it is: git allows it
    [comment] = github.comments("acme", "app", 42)
    for text in (comment["body"], run.summary):
        assert not any(char in text for char in INVISIBLE), text
        assert "feat/U+202Etxt.exeU+200BU+202EU+2066U+200BU+FEFF" in text

    dry = run_pr(action_runner, recoupable.url, {"dry-run": "true", "title": f"Fix {INVISIBLE} it"})
    assert dry.returncode == 0, dry.log
    assert not any(char in dry.summary for char in INVISIBLE)
    assert '"title": "Fix \\u202e\\u2066\\u200b\\ufeff it"' in dry.summary


def test_an_event_path_that_is_a_directory_is_an_event_file_error(
    action_runner: RunAction, recoupable: RecoupableStandIn, tmp_path: Path
) -> None:
    run = action_runner(
        event_name="pull_request", event=None, inputs=inputs(recoupable.url), env={"GITHUB_EVENT_PATH": str(tmp_path)}
    )
    assert run.returncode == 1, run.log
    assert f"the event file {tmp_path} cannot be read (Is a directory; GITHUB_EVENT_PATH)" in error_line(run)
    assert "Unexpected" not in run.stdout
    assert recoupable.requests == []


def test_an_event_nested_beyond_the_parser_is_an_event_file_error(
    action_runner: RunAction, recoupable: RecoupableStandIn
) -> None:
    nested = b'{"pull_request": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    run = action_runner(event_name="pull_request", event=nested, inputs=inputs(recoupable.url))
    assert run.returncode == 1, run.log
    assert "is nested deeper than any event GitHub sends" in error_line(run)
    assert "Unexpected" not in run.stdout
    assert recoupable.requests == []


@pytest.mark.parametrize("number", [2**31, 10**20, 0])
def test_pull_request_numbers_outside_githubs_range_are_refused(
    action_runner: RunAction, recoupable: RecoupableStandIn, number: int
) -> None:
    event = pull_request_event()
    event["pull_request"]["number"] = number
    run = action_runner(event_name="pull_request", event=event, inputs=inputs(recoupable.url))
    assert run.returncode == 1, run.log
    assert "the event file" in error_line(run)
    assert "pull_request.number" in error_line(run)

    run = run_pr(action_runner, recoupable.url, {"pr-number": str(number)})
    assert run.returncode == 1, run.log
    assert f"Input 'pr-number': '{number}' is not a pull request number (a whole number from 1 to 2147483647)" in (
        error_line(run)
    )
    assert recoupable.requests == []


# -- comment templates render as written ------------------------------------------------------------------------


def _rendered(template: str, *, session_id: str = "d0ca13e5-c135", branch: str = "feat/search-1.2") -> str:
    settings = parse_settings({"comment-template": template})
    response = CreateSessionResponse.model_validate(
        {"session": {"id": session_id, "status": "running"}, "chat": {"id": "c_1-x"}}
    )
    outcome = Outcome(
        state=State.CREATED,
        target=Target(repository=RepoSlug.parse("acme/my-app.js"), branch=branch, clone_url="https://x/a.git"),
        response=response,
        session_url=session_url("https://chat.recoupable.com", response),
    )
    env = RunnerEnv(repository="acme/my-app.js", run_id="7", server_url="https://github.com")
    body = render_body(settings, env, outcome)
    return body.partition("\n")[2]


def test_placeholders_give_values_that_work_where_people_put_them() -> None:
    template = "`{session_id}` [open]({session_url}) on {branch} of {repository}, chat {chat_id} ([run]({run_url}))"
    assert _rendered(template) == (
        "`d0ca13e5-c135` [open](https://chat.recoupable.com/sessions/d0ca13e5-c135/chats/c_1-x) "
        "on feat/search-1.2 of acme/my-app.js, chat c_1-x ([run](https://github.com/acme/my-app.js/actions/runs/7))"
    )


def test_double_braces_write_literal_braces() -> None:
    assert _rendered("{{session_id}} is {session_id}; {{{{x}}}} {{") == "{session_id} is d0ca13e5-c135; {{x}} {"
    with pytest.raises(InputError, match="unknown placeholder"):
        parse_settings({"comment-template": "{{{nope}}}"})


def test_placeholders_stay_injection_proof() -> None:
    hostile = "x)[evil](https://e.example) <img src=x> @team `y` *z*"
    body = _rendered("[open]({session_url}) {session_id}", session_id=hostile)
    link, _, text = body.partition(") ")
    assert link.startswith("[open](https://chat.recoupable.com/sessions/x%29%5Bevil%5D%28https")
    assert "<img" not in text
    assert "](" not in text
    assert "@&#8203;team" in text
    assert "\\`y\\` \\*z\\*" in text
