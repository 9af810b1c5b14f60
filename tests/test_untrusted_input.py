"""Untrusted text end to end: branch names, titles, commenters and server messages chosen by someone else,
hostile event files, and the secrets (never printed, never in outputs, summary or comment).

A fork's author picks the branch name and the pull request's title, so none of it may start a workflow
command, break the outputs file, or render as Markdown, HTML or an @-mention.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from recoup_session_action.comment_record import has_marker
from recoup_session_action.outcome import OUTPUT_NAMES
from recoup_session_action.standins.github import GitHubStandIn
from recoup_session_action.standins.recoupable import Fault, RecoupableStandIn

from .conftest import API_KEY, BASE_REPO, GITHUB_TOKEN, ActionRun, RunAction, assert_no_secret, pull_request_event
from .test_faults import (
    OWN_COMMANDS,
    active_commands,
    assert_created,
    assert_failed,
    check_run,
    error_line,
    inputs,
)

HOSTILE = "evil\n::set-output name=session-id::pwned\n%0A::warning::injected <!-- @org/team\r\n::stop-commands::x"
HOSTILE_TITLE = HOSTILE + " " + "t" * 10_000
# A valid git branch name that is still hostile: a fork's author may push exactly this.
HOSTILE_BRANCH = "feat/<!--@org/team%0A"
FORK = {"full_name": "forker/app", "clone_url": "https://github.com/forker/app.git"}


def assert_inert(run: ActionRun) -> None:
    """Hostile text started no command, added no output, rendered no HTML comment or mention."""
    check_run(run)
    commands = active_commands(run.stdout)
    assert all(name in OWN_COMMANDS for name, _ in commands)
    assert not any(line.lstrip().startswith(("::set-output", "::warning::injected", "::x::")) for _, line in commands)
    assert set(run.outputs) <= set(OUTPUT_NAMES)
    assert "pwned" not in run.outputs["session-id"]
    assert "<!--" not in run.summary
    assert "@org" not in run.summary


def test_hostile_title_and_branch_from_a_fork_are_inert(
    action_runner: RunAction, recoupable: RecoupableStandIn, github: GitHubStandIn
) -> None:
    github.add_pull(
        "acme", "app", 42, title="x", head_ref=HOSTILE_BRANCH, head_sha="1234abcd", head_full_name="forker/app"
    )
    run = action_runner(
        event_name="pull_request",
        event=pull_request_event(title=HOSTILE_TITLE, ref=HOSTILE_BRANCH, head_repo=FORK),
        inputs={**inputs(recoupable.url), "comment": "update", "github-token": GITHUB_TOKEN},
        env={"GITHUB_API_URL": github.api_url, "GITHUB_REPOSITORY": "acme/app"},
    )
    assert_created(run, posts=1, api=recoupable)
    assert_inert(run)
    body = recoupable.posts[0].json()
    assert body["title"] == f"{HOSTILE_TITLE} (#42)"
    assert body["branch"] == HOSTILE_BRANCH
    assert run.outputs["branch"] == HOSTILE_BRANCH
    [comment] = github.comments("acme", "app", 42)
    text = comment["body"]
    assert has_marker(text, "recoup-session")
    assert "<!--" not in text.split("\n", 1)[1]
    assert "@org" not in text
    assert API_KEY not in text
    assert GITHUB_TOKEN not in text


def test_hostile_branch_in_the_session_answer_cannot_forge_outputs(
    action_runner: RunAction, recoupable: RecoupableStandIn
) -> None:
    session = {"id": "s1", "status": "running", "repoOwner": "acme", "repoName": "app", "branch": HOSTILE}
    recoupable.faults.append(Fault(200, json.dumps({"session": session, "chat": {"id": "c1"}}).encode()))
    run = action_runner(event_name="pull_request", event=pull_request_event(), inputs=inputs(recoupable.url))
    assert_created(run, posts=1, api=recoupable)
    assert_inert(run)
    assert run.outputs["session-id"] == "s1"
    assert run.outputs["branch"] == HOSTILE


@pytest.mark.parametrize("status", [400, 500])
def test_hostile_server_error_message_is_one_bounded_inert_line(
    action_runner: RunAction, recoupable: RecoupableStandIn, status: int
) -> None:
    body = json.dumps({"status": "error", "error": f"key {API_KEY} {HOSTILE_TITLE}"}).encode()
    recoupable.faults.extend([Fault(status, body)] * 2)
    run = action_runner(
        event_name="pull_request",
        event=pull_request_event(),
        inputs=inputs(recoupable.url, **{"max-retries": "1", "timeout-seconds": "10"}),
    )
    assert_failed(
        run,
        "key *** evil ::set-output name=session-id::pwned ",
        posts=1 if status == 400 else 2,
        api=recoupable,
    )
    assert_inert(run)
    line = error_line(run)
    assert "%250A::warning::" in line  # the runner decodes %25 back to '%': the text stays literal
    assert len(line) < 2_000
    assert "\n" not in run.outputs["error"]
    assert "key ***" in run.outputs["error"]
    assert "pwned %0A::warning::injected" in run.outputs["error"]
    for retry in (line for line in run.stdout.splitlines() if line.startswith("Attempt ")):
        assert re.fullmatch(r"Attempt 1 failed: the API answered 500: key \*\*\* evil .*; retrying in \d+\.\ds", retry)


def test_hostile_commenter_is_named_inertly_when_skipped(
    action_runner: RunAction, recoupable: RecoupableStandIn
) -> None:
    event = {
        "action": "created",
        "repository": BASE_REPO,
        "issue": {"number": 7, "title": HOSTILE, "pull_request": {"url": "x"}},
        "comment": {"body": f"/recoup {HOSTILE}", "author_association": "NONE", "user": {"login": HOSTILE}},
        "sender": {"login": "stranger"},
    }
    run = action_runner(event_name="issue_comment", event=event, inputs=inputs(recoupable.url))
    assert run.returncode == 0, run.log
    assert_inert(run)
    assert run.outputs["skipped"] == "true"
    assert run.outputs["session-id"] == ""
    notices = [line for line in run.stdout.splitlines() if line.startswith("::notice")]
    assert len(notices) == 1
    assert "association NONE" in notices[0]
    assert recoupable.requests == []


# -- event files that are missing or malformed ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (None, "event.json does not exist (GITHUB_EVENT_PATH)"),
        (b"", "event.json is not JSON"),
        (b"{not json", "event.json is not JSON"),
        (b'{"pull_request": {"title": "\xff\xfe bad bytes"}}', "event.json is not UTF-8 text"),
        (b'["a", "list"]', "event.json holds JSON list, not an object"),
        (b"null", "event.json holds JSON NoneType, not an object"),
        (b'{"pull_request": "opened"}', "event.json has an unexpected shape at pull_request"),
        (b'{"pull_request": {"number": "x", "head": {}, "base": {}}}', "has an unexpected shape at pull_request."),
        (b'{"repository": {"full_name": ["acme/app"]}}', "has an unexpected shape at repository.full_name"),
    ],
    ids=["missing", "empty", "not-json", "not-utf8", "list", "null", "string-pull", "bad-number", "bad-name"],
)
def test_bad_event_file_is_one_clear_error(
    action_runner: RunAction, recoupable: RecoupableStandIn, event: bytes | None, message: str
) -> None:
    run = action_runner(event_name="pull_request", event=event, inputs=inputs(recoupable.url))
    assert_failed(run, message, posts=0, api=recoupable)
    assert_inert(run)
    assert recoupable.requests == []


# -- secrets ----------------------------------------------------------------------------------------------------


def test_secrets_never_printed_with_runner_debug_and_a_comment(
    action_runner: RunAction, recoupable: RecoupableStandIn, github: GitHubStandIn
) -> None:
    github.add_pull(
        "acme", "app", 42, title="Add search", head_ref="feat/search", head_sha="1234abcd", head_full_name="acme/app"
    )
    run = action_runner(
        event_name="pull_request",
        event=pull_request_event(),
        inputs={**inputs(recoupable.url), "comment": "update", "github-token": GITHUB_TOKEN},
        env={"GITHUB_API_URL": github.api_url, "GITHUB_REPOSITORY": "acme/app", "RUNNER_DEBUG": "1"},
    )
    assert_created(run, posts=1, api=recoupable)
    assert run.stdout.splitlines()[:2] == [f"::add-mask::{API_KEY}", f"::add-mask::{GITHUB_TOKEN}"]
    [comment] = github.comments("acme", "app", 42)
    assert API_KEY not in comment["body"]
    assert GITHUB_TOKEN not in comment["body"]
    assert all(API_KEY not in json.dumps(request.body) for request in github.requests)


def test_secrets_never_printed_in_a_dry_run_with_debug(action_runner: RunAction, recoupable: RecoupableStandIn) -> None:
    run = action_runner(
        event_name="pull_request",
        event=pull_request_event(),
        inputs={**inputs(recoupable.url, **{"dry-run": "true"}), "github-token": GITHUB_TOKEN},
        env={"RUNNER_DEBUG": "1", "ACTIONS_STEP_DEBUG": "true"},
    )
    check_run(run)
    assert run.returncode == 0, run.log
    assert run.outputs["outcome"] == "dry-run"
    assert "x-api-key: ***" in run.stdout
    assert recoupable.requests == []


def test_a_key_echoed_in_the_session_answer_reaches_no_output(
    action_runner: RunAction, recoupable: RecoupableStandIn
) -> None:
    session = {"id": "s1", "status": API_KEY, "lifecycleState": f"x{API_KEY}y", "branch": API_KEY}
    recoupable.faults.append(
        Fault(200, json.dumps({"session": session, "chat": {"id": "c1", "title": API_KEY}}).encode())
    )
    run = action_runner(event_name="pull_request", event=pull_request_event(), inputs=inputs(recoupable.url))
    assert_created(run, posts=1, api=recoupable)
    assert all(API_KEY not in value for value in run.outputs.values())
    assert run.outputs["status"] == "***"


# -- missing secrets on forks and Dependabot -------------------------------------------------------------------


def _no_key(api: RecoupableStandIn) -> dict[str, str]:
    return {"api-url": api.url, "comment": "off"}


@pytest.mark.parametrize(
    "event",
    [
        pull_request_event(head_repo=FORK, author="forker"),
        pull_request_event(author="dependabot[bot]"),
    ],
    ids=["fork", "dependabot"],
)
def test_empty_key_on_a_fork_or_dependabot_pull_request_skips(
    action_runner: RunAction, recoupable: RecoupableStandIn, event: dict[str, Any]
) -> None:
    run = action_runner(event_name="pull_request", event=event, inputs=_no_key(recoupable))
    check_run(run, key="")
    assert run.returncode == 0, run.log
    notices = [line for line in run.stdout.splitlines() if line.startswith("::notice")]
    assert len(notices) == 1, run.stdout
    assert "GitHub does not give secrets to workflows run for forks or Dependabot" in notices[0]
    assert "workflow_run" in notices[0]
    assert run.outputs["skipped"] == "true"
    assert run.outputs["outcome"] == "skipped"
    assert "### Recoupable session skipped" in run.summary
    assert "workflow_run" in run.summary
    assert recoupable.requests == []


@pytest.mark.parametrize(
    ("event_name", "event", "env"),
    [
        ("pull_request", pull_request_event(), {}),
        ("pull_request_target", pull_request_event(head_repo=FORK, author="forker"), {}),
        ("push", {"ref": "refs/heads/main", "repository": BASE_REPO}, {"GITHUB_REF": "refs/heads/main"}),
    ],
    ids=["same-repo-pull-request", "pull-request-target-from-fork", "push"],
)
def test_empty_key_anywhere_else_is_an_error(
    action_runner: RunAction, recoupable: RecoupableStandIn, event_name: str, event: dict[str, Any], env: dict[str, str]
) -> None:
    run = action_runner(event_name=event_name, event=event, inputs=_no_key(recoupable), env=env)
    check_run(run, key="")
    assert run.returncode == 1
    assert "Input 'api-key' is required" in error_line(run)
    assert run.outputs["skipped"] == "false"
    assert run.outputs["outcome"] == "failed"
    assert "### Recoupable session not created" in run.summary
    assert recoupable.requests == []
    assert_no_secret(run, API_KEY, GITHUB_TOKEN)
