"""The action end to end: the console script under a runner's environment against a loopback Recoupable API
(whose fixture, where ../shared is present, also checks every body sent against the documented contract).

The runs that prove the runner's contract (masks first, every output, the request sent, what each path imports,
connections) start the console script as a subprocess; those that test a decision (a bad input, a bad answer, a
skip) run the same entry point in this process, with the same environment (`action_in_process`)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from recoup_session_action import __version__
from recoup_session_action.standins.github import GitHubStandIn
from recoup_session_action.standins.recoupable import Fault, RecoupableStandIn

from .conftest import (
    API_KEY,
    BASE_REPO,
    GITHUB_TOKEN,
    ActionRun,
    RunAction,
    assert_masked_first,
    assert_no_secret,
    created_outputs,
    pull_request_event,
)


def _inputs(api: RecoupableStandIn, **extra: str) -> dict[str, str]:
    return {"api-key": API_KEY, "api-url": api.url, "comment": "off", **extra}


def _assert_failed(run: ActionRun, message: str) -> None:
    assert run.returncode == 1
    errors = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, run.stdout
    assert message in errors[0]
    assert "Traceback" not in run.log
    assert run.outputs["outcome"] == "failed"
    assert message in run.outputs["error"]
    assert "Recoupable session not created" in run.summary
    assert_no_secret(run, API_KEY)


def test_pull_request_creates_one_session_and_sets_every_output(
    action_runner: RunAction, recoupable: RecoupableStandIn
) -> None:
    run = action_runner(event_name="pull_request", event=pull_request_event(), inputs=_inputs(recoupable))

    assert run.returncode == 0, run.log
    assert_masked_first(run, API_KEY)
    assert_no_secret(run, API_KEY)
    [post] = recoupable.posts
    assert post.path == "/api/sessions"
    assert post.json() == {
        "title": "Add search (#42)",
        "repoOwner": "acme",
        "repoName": "app",
        "branch": "feat/search",
        "cloneUrl": "https://github.com/acme/app.git",
        "sandboxType": "vercel",
    }
    assert post.headers["x-api-key"] == API_KEY
    assert post.headers["content-type"] == "application/json"
    assert post.headers["accept"] == "application/json"
    assert post.headers["user-agent"] == f"recoup-session-action/{__version__}"
    response = json.loads(run.outputs["response"])
    session_id, chat_id = response["session"]["id"], response["chat"]["id"]
    assert run.outputs == created_outputs(run)
    assert "### Recoupable session created" in run.summary
    assert f"(https://chat.recoupable.com/sessions/{session_id}/chats/{chat_id})" in run.summary
    assert "| Lifecycle state | provisioning |" in run.summary


def test_fork_pull_request_targets_the_head_repository(
    action_in_process: RunAction, recoupable: RecoupableStandIn
) -> None:
    fork = {"full_name": "forker/app", "clone_url": "https://github.com/forker/app.git"}
    run = action_in_process(
        event_name="pull_request", event=pull_request_event(head_repo=fork), inputs=_inputs(recoupable)
    )
    assert run.returncode == 0, run.log
    body = recoupable.posts[0].json()
    assert (body["repoOwner"], body["repoName"], body["cloneUrl"]) == ("forker", "app", fork["clone_url"])


def test_underscore_inputs_and_explicit_fields(action_runner: RunAction, recoupable: RecoupableStandIn) -> None:
    org = "123e4567-e89b-12d3-a456-426614174000"
    run = action_runner(
        event_name="workflow_dispatch",
        event={"repository": BASE_REPO, "ref": "refs/heads/main"},
        inputs={
            "API_KEY": API_KEY,
            "API_URL": recoupable.url,
            "COMMENT": "off",
            "NEW_BRANCH": "TRUE",
            "TITLE": "Nightly",
            "ORGANIZATION_ID": org,
        },
        env={"GITHUB_REF": "refs/heads/main", "GITHUB_REPOSITORY": "acme/app"},
    )
    assert run.returncode == 0, run.log
    body = recoupable.posts[0].json()
    assert body["isNewBranch"] is True
    assert body["title"] == "Nightly"
    assert body["organizationId"] == org
    assert run.outputs["branch"].startswith("ra/")
    assert "::warning" not in run.stdout


def test_server_that_ignores_repository_fields_warns_and_reports_what_it_says(action_in_process: RunAction) -> None:
    with RecoupableStandIn(echo_repository=False) as api:
        run = action_in_process(event_name="pull_request", event=pull_request_event(), inputs=_inputs(api))
    assert run.returncode == 0, run.log
    warnings = [line for line in run.stdout.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 3
    assert any("repository: asked for 'acme/app', the session reports None" in line for line in warnings)
    assert (run.outputs["repository"], run.outputs["branch"], run.outputs["clone-url"]) == ("", "", "")
    assert "| Repository reported | not reported |" in run.summary


def test_dry_run_sends_nothing_and_shows_the_request(action_runner: RunAction, recoupable: RecoupableStandIn) -> None:
    run = action_runner(
        event_name="pull_request", event=pull_request_event(), inputs=_inputs(recoupable, **{"dry-run": "true"})
    )
    assert run.returncode == 0, run.log
    assert recoupable.requests == []
    assert '"repoOwner": "acme"' in run.stdout
    assert "x-api-key: ***" in run.stdout
    assert run.outputs["outcome"] == "dry-run"
    assert (run.outputs["repository"], run.outputs["branch"], run.outputs["session-id"]) == (
        "acme/app",
        "feat/search",
        "",
    )
    assert "Request that would be sent" in run.summary
    assert_no_secret(run, API_KEY)


def test_deleted_branch_push_skips(action_in_process: RunAction, recoupable: RecoupableStandIn) -> None:
    event = {"ref": "refs/heads/old", "deleted": True, "repository": BASE_REPO}
    run = action_in_process(
        event_name="push", event=event, inputs=_inputs(recoupable), env={"GITHUB_REF": "refs/heads/old"}
    )
    assert run.returncode == 0
    assert recoupable.requests == []
    assert run.outputs["skipped"] == "true"
    assert run.stdout.count("::notice") == 1
    assert "deleted branch old" in run.summary


def test_tag_push_needs_a_branch(action_in_process: RunAction, recoupable: RecoupableStandIn) -> None:
    event = {"ref": "refs/tags/v1.0.0", "repository": BASE_REPO}
    run = action_in_process(
        event_name="push", event=event, inputs=_inputs(recoupable), env={"GITHUB_REF": "refs/tags/v1.0.0"}
    )
    _assert_failed(run, "refs/tags/v1.0.0 is a tag, not a branch; set the 'branch' input or new-branch: true")
    assert recoupable.requests == []


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"repository": "acme"}, "Input 'repository': 'acme' is not of the form owner/name."),
        ({"repository": "-acme/app"}, "Input 'repository': owner '-acme' is not a GitHub account name"),
        ({"repository": "acme/a b"}, "Input 'repository': repository name 'a b' is not a GitHub repository name"),
        ({"branch": "feat..x"}, "Input 'branch': 'feat..x' is not a valid branch name: it contains '..'"),
        ({"branch": "a b"}, "is not a valid branch name: it contains a space"),
        ({"branch": "x.lock"}, "a path component ends with '.lock'"),
        ({"branch": "b" * 10_000}, "it is longer than 255 characters"),
        ({"clone-url": "ftp://x/y"}, "Input 'clone-url': 'ftp://x/y' is not a clone URL"),
        ({"clone-url": "https://user:pw@github.com/a/b.git"}, "must not carry credentials"),
        ({"organization-id": "org-1"}, "Input 'organization-id': 'org-1' is not a UUID"),
        ({"new-branch": "yes"}, "Input 'new-branch': 'yes' is not a boolean (use true or false)."),
        ({"sandbox-type": "docker"}, "Input 'sandbox-type': 'docker' is not a sandbox type the API accepts"),
        ({"comment": "sometimes"}, "Input 'comment': 'sometimes' is not one of update, create, off."),
        ({"timeout-seconds": "0"}, "Input 'timeout-seconds': '0' is not a number of seconds above 0"),
        ({"max-retries": "-1"}, "Input 'max-retries': '-1' is not a whole number from 0 to 10."),
        (
            {"pr-number": "#3"},
            "Input 'pr-number': '#3' is not a pull request number (a whole number from 1 to 2147483647).",
        ),
        ({"api-url": "http://api.example.com"}, "must use https (plain http is allowed only for localhost)"),
        ({"api-url": "https://user:pw@api.example.com"}, "must not carry credentials"),
        ({"title": "two\nlines"}, "Input 'title': the title contains a line break"),
        ({"comment-template": "{session_url} {secret}"}, "Input 'comment-template': unknown placeholder {secret}"),
        (
            {"allowed-associations": "OWNER,ADMIN"},
            "Input 'allowed-associations': 'OWNER,ADMIN' must be a comma-separated",
        ),
    ],
)
def test_each_invalid_input_is_one_clear_error(
    action_in_process: RunAction, recoupable: RecoupableStandIn, inputs: dict[str, str], message: str
) -> None:
    run = action_in_process(event_name="pull_request", event=pull_request_event(), inputs=_inputs(recoupable, **inputs))
    _assert_failed(run, message)
    assert recoupable.requests == []


def test_missing_key_is_an_error_outside_forks(action_runner: RunAction, recoupable: RecoupableStandIn) -> None:
    run = action_runner(event_name="pull_request", event=pull_request_event(), inputs={"api-url": recoupable.url})
    _assert_failed(run, "Input 'api-key' is required")
    assert recoupable.requests == []


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault(401, b'{"status":"error","message":"Unauthorized"}'), "401: Unauthorized; check the api-key secret"),
        (
            Fault(
                400,
                b'{"status":"error","missing_fields":["organizationId"],"error":"organizationId must be a valid UUID"}',
            ),
            "400: organizationId must be a valid UUID (fields: organizationId)",
        ),
        (
            Fault(500, b"<html>Internal Server Error</html>"),
            "500 with a page that is not the API's JSON; the outcome is unknown",
        ),
        (Fault(200, b'{"session": {"id": "s1"}}'), "its body lacks a valid chat"),
        (Fault(200, b"not json"), "its body is not JSON"),
    ],
)
def test_each_bad_answer_is_one_clear_error(
    action_in_process: RunAction, recoupable: RecoupableStandIn, fault: Fault, message: str
) -> None:
    recoupable.faults.append(fault)
    run = action_in_process(event_name="pull_request", event=pull_request_event(), inputs=_inputs(recoupable))
    _assert_failed(run, message)
    assert len(recoupable.posts) == 1


def test_a_wrong_key_is_refused_by_the_stand_in_without_echoing_it(
    action_in_process: RunAction, recoupable: RecoupableStandIn
) -> None:
    wrong = "recoup_sk_" + "x" * 43
    run = action_in_process(
        event_name="pull_request", event=pull_request_event(), inputs={**_inputs(recoupable), "api-key": wrong}
    )
    _assert_failed(run, "the API refused the request with 401: Unauthorized")
    assert_no_secret(run, wrong)


def test_500_json_is_retried_and_the_key_echoed_by_the_server_is_redacted(
    action_in_process: RunAction, recoupable: RecoupableStandIn
) -> None:
    echo = json.dumps({"status": "error", "error": f"bad key {API_KEY}"}).encode()
    recoupable.faults.extend([Fault(500, echo), Fault(500, echo)])
    run = action_in_process(
        event_name="pull_request", event=pull_request_event(), inputs=_inputs(recoupable, **{"max-retries": "1"})
    )
    _assert_failed(run, "the API answered 500: bad key ***; gave up after 2 attempts")
    assert len(recoupable.posts) == 2


def _imported_packages(run: ActionRun) -> set[str]:
    """Modules the run imported, and their top-level packages, from the `-X importtime` report
    (PYTHONPROFILEIMPORTTIME) on stderr."""
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*([A-Za-z_][\w.]*)", run.stderr, flags=re.MULTILINE)
    return {*names, *(name.split(".")[0] for name in names)}


_LIFECYCLE = {f"recoup_session_action.{name}" for name in ("lifecycle", "comment", "sticky", "comment_record")}
_COMMANDS = "recoup_session_action.commands"  # only an issue_comment can hold one; these runs are pull_request
# Per path: extra inputs, the packages (or modules) it needs, and those it must not load.
_PATH_IMPORTS: dict[str, tuple[dict[str, str], set[str], set[str]]] = {
    "dry-run": (
        {"dry-run": "true"},
        set(),
        {"httpx", "httpcore", "github", "requests", "argparse", "html", _COMMANDS, *_LIFECYCLE},
    ),
    "comment off": ({}, {"httpx"}, {"github", "requests", "argparse", _COMMANDS, *_LIFECYCLE}),
    "sticky comment": (
        {"comment": "update", "github-token": GITHUB_TOKEN},
        {"httpx", "github", *_LIFECYCLE},
        {"argparse", _COMMANDS},
    ),
}


@pytest.mark.parametrize("path", list(_PATH_IMPORTS))
def test_each_path_imports_only_what_it_uses(
    action_runner: RunAction, recoupable: RecoupableStandIn, github: GitHubStandIn, path: str
) -> None:
    extra, used, unused = _PATH_IMPORTS[path]
    github.add_pull(
        "acme", "app", 42, title="Add search", head_ref="feat/search", head_sha="1234abcd", head_full_name="acme/app"
    )
    run = action_runner(
        event_name="pull_request",
        event=pull_request_event(),
        inputs=_inputs(recoupable, **extra),
        env={"PYTHONPROFILEIMPORTTIME": "1", "GITHUB_API_URL": github.api_url, "GITHUB_REPOSITORY": "acme/app"},
    )

    assert run.returncode == 0, run.log
    assert run.outputs["outcome"] == ("dry-run" if path == "dry-run" else "created")
    assert bool(run.outputs["comment-id"]) == (path == "sticky comment")
    packages = _imported_packages(run)
    assert {"pydantic", "recoup_session_action"} <= packages
    assert used <= packages
    assert not unused & packages


# Counts the cyclic collector's passes in any Python started with this folder on PYTHONPATH, apart by whether the
# threshold was still the interpreter's default (as during start-up) or raised, and says at exit (its handler,
# registered before the program's own, runs after them) how many passes it saw and whether objects were frozen.
_COLLECTOR_PROBE = """\
import atexit, gc, sys
_default, _frozen = gc.get_threshold()[0], gc.get_freeze_count()  # 3.12 starts with some objects frozen
_raised = []
gc.callbacks.append(lambda phase, info: phase == "start" and _raised.append(gc.get_threshold()[0] != _default))
def _report():
    print(f"collector passes with the threshold raised: {sum(_raised)}", file=sys.stderr)
    print(f"frozen at exit: {gc.get_freeze_count() > _frozen}", file=sys.stderr)
atexit.register(_report)
"""


def _probed(stderr: str) -> tuple[int, bool]:
    passes = re.search(r"^collector passes with the threshold raised: (\d+)$", stderr, flags=re.MULTILINE)
    frozen = re.search(r"^frozen at exit: (True|False)$", stderr, flags=re.MULTILINE)
    assert passes, stderr
    assert frozen, stderr
    return int(passes.group(1)), frozen.group(1) == "True"


def test_the_cyclic_collector_never_runs_once_a_run_has_started_nor_at_its_exit(
    action_runner: RunAction, recoupable: RecoupableStandIn, github: GitHubStandIn, tmp_path: Path
) -> None:
    """The heaviest path (PyGithub, httpx, the comment): once the console script has raised the threshold
    (`entry.COLLECTOR_THRESHOLD`), before it imports anything heavy, the collector never runs, and at exit every
    object is frozen, so the interpreter's finalization has none to walk. The probe is shown to count: importing
    PyGithub with the threshold raised by only 1,000 makes passes, and freezes nothing."""
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "sitecustomize.py").write_text(_COLLECTOR_PROBE, encoding="utf-8")
    github.add_pull(
        "acme", "app", 42, title="Add search", head_ref="feat/search", head_sha="1234abcd", head_full_name="acme/app"
    )
    run = action_runner(
        event_name="pull_request",
        event=pull_request_event(),
        inputs=_inputs(recoupable, comment="update", **{"github-token": GITHUB_TOKEN}),
        env={"PYTHONPATH": str(probe), "GITHUB_API_URL": github.api_url, "GITHUB_REPOSITORY": "acme/app"},
    )
    lower = subprocess.run(
        [sys.executable, "-c", "import gc; gc.set_threshold(gc.get_threshold()[0] + 1000); import github"],
        env={"PYTHONPATH": str(probe)},
        capture_output=True,
        text=True,
        check=True,
    )

    assert run.returncode == 0, run.log
    assert run.outputs["comment-id"] != ""
    assert _probed(run.stderr) == (0, True)
    passes, frozen = _probed(lower.stderr)
    assert passes > 0
    assert not frozen


def test_one_connection_per_host_per_run_retries_and_comment_included(
    action_runner: RunAction, recoupable: RecoupableStandIn, github: GitHubStandIn
) -> None:
    github.add_pull(
        "acme", "app", 42, title="Add search", head_ref="feat/search", head_sha="1234abcd", head_full_name="acme/app"
    )
    envelope = json.dumps({"status": "error", "error": "Busy"}).encode()
    recoupable.faults.append(Fault(503, envelope, {"Content-Type": "application/json", "Retry-After": "0"}))
    run = action_runner(
        event_name="pull_request",
        event=pull_request_event(),
        inputs=_inputs(recoupable, comment="update", **{"github-token": GITHUB_TOKEN}),
        env={"GITHUB_API_URL": github.api_url, "GITHUB_REPOSITORY": "acme/app"},
    )

    assert run.returncode == 0, run.log
    assert run.outputs["outcome"] == "created"
    assert run.outputs["comment-id"] != ""
    assert len(recoupable.posts) == 2
    assert recoupable.connections == 1
    assert len(github.requests) == 4  # list, the claim, the re-read that settles a race, the record
    assert github.connections == 1
