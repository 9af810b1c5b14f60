"""One session per pull request, end to end: the console script under a runner's environment against both
stand-ins. Reuse across pushes, replacing a session that ended, the race of runs started together (20 of them,
and one killed between its claim and its POST), closing (archive or keep), a failed run after a good one, and
`/recoup` comments. Each test pins the requests a run makes to both APIs.
"""

from __future__ import annotations

import json
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from recoup_session_action.comment_record import CLAIM, CommentRecord, marker, read_record
from recoup_session_action.standins.github import GitHubStandIn, TokenIdentity
from recoup_session_action.standins.loopback import Answer, Barrier, Fault, RecordedRequest, json_answer, requests_to
from recoup_session_action.standins.recoupable import RecoupableStandIn
from recoup_session_action.sticky import stale_after

from .conftest import API_KEY, CONSOLE_SCRIPT, GITHUB_TOKEN, ActionRun, GitHubFactory, RunAction, runner_folders
from .events import BASE, EVENTS, FORK, SEARCH_SHA, event
from .github_requests import CREATE, DELETE, GET_COMMENT, GET_PULL, LIST, PERMISSION, REACT, UPDATE
from .test_comment import BOT, TAG, TRIGGER_ID, Runner, comments_on, ours, split

OTHER_KEY = "recoup_sk_" + "x" * 43
ENVELOPE = {"Content-Type": "application/json"}


@pytest.fixture
def runner(action_in_process: RunAction, recoupable: RecoupableStandIn, github: GitHubStandIn) -> Runner:
    """Runs in this process; the tests of runs racing each other start them as programs (`_started_together`)."""
    github.add_pull(
        *split(BASE), 12, title="Add search", head_ref="feature/search", head_sha=SEARCH_SHA, head_full_name=BASE
    )
    return Runner(action_in_process, recoupable, github)


RACE_TIMEOUT = "120"
"""timeout-seconds of the racing runs: GitHub's budget covers the time their first listing is held (`_in_flight`)."""


def _started_together(action_runner: RunAction, runner: Runner, count: int, **inputs: str) -> list[ActionRun]:
    """`count` runs on the pull request against the same stand-ins, started at once as programs."""
    programs = Runner(action_runner, runner.recoupable, runner.github)
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: _opened(programs, **inputs), range(count)))


def _in_flight(runner: Runner, count: int) -> Barrier:
    """GitHub holds back its answers to the first `count` listings of #12's comments until all `count` have
    arrived: every run then decides on the same listing, taken before any of them wrote, however slowly a busy
    machine starts the programs. The worst case for the claim, made certain rather than left to timing."""
    barrier = Barrier(count, requests_to("GET", "/issues/12/comments"), seconds=40)
    runner.github.hooks.append(barrier)
    return barrier


def _opened(runner: Runner, **inputs: str) -> ActionRun:
    return runner.fixture("pull_request", **inputs)


def _closed(runner: Runner, *, merged: bool = True, **inputs: str) -> ActionRun:
    payload = event("pull_request")
    payload["action"] = "closed"
    payload["pull_request"]["state"] = "closed"
    payload["pull_request"]["merged"] = merged
    return runner("pull_request", payload, EVENTS["pull_request"].runner_env(), **inputs)


def _seed_recorded(runner: Runner, session: dict[str, Any], chat_id: str = "chat-1") -> int:
    """Our comment on #12, recording `session` (as an earlier run left it)."""
    record = CommentRecord(session_id=session["id"], chat_id=chat_id)
    body = f"{marker(TAG, record)}\n### Recoupable session\n\n**[Open the session](https://x.invalid)**\n"
    return runner.github.add_comment(*split(BASE), 12, body, login=BOT, user_type="Bot")


def _methods(api: RecoupableStandIn) -> list[str]:
    return [request.method for request in api.requests]


def _the_comment(runner: Runner) -> dict[str, Any]:
    [comment] = ours(runner.github, BASE, 12)
    return comment


# -- reuse, and what replaces a session that ended ------------------------------------------------------------


def test_a_push_reuses_the_session_the_comment_records(runner: Runner) -> None:
    session = runner.recoupable.add_session(API_KEY, title="Add search (#12)")
    comment_id = _seed_recorded(runner, session)

    run = _opened(runner)

    assert run.returncode == 0, run.log
    assert (run.outputs["outcome"], run.outputs["reused"], run.outputs["skipped"]) == ("reused", "true", "false")
    assert (run.outputs["session-id"], run.outputs["chat-id"]) == (session["id"], "chat-1")
    assert run.outputs["session-url"] == f"https://chat.recoupable.com/sessions/{session['id']}/chats/chat-1"
    assert (run.outputs["status"], run.outputs["lifecycle-state"]) == ("running", "provisioning")
    assert json.loads(run.outputs["response"]) == {"session": session}
    assert run.outputs["comment-id"] == str(comment_id)
    assert _methods(runner.recoupable) == ["GET"]  # the budget: 1 GET, 0 POST
    assert runner.signatures() == [LIST, UPDATE]  # and GitHub 2
    body = _the_comment(runner)["body"]
    assert read_record(body, TAG) == CommentRecord(session_id=session["id"], chat_id="chat-1")
    assert "[view run](https://github.com/octo-org/octo-app/actions/runs/5741279673)" in body
    assert "replaces" not in body


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"status": "archived", "lifecycleState": "archived"}, "its status is archived"),
        ({"status": "completed"}, "its status is completed"),
        ({"status": "failed"}, "its status is failed"),
        ({"lifecycleState": "failed"}, "its lifecycle state is failed"),
    ],
    ids=["archived", "completed", "failed", "lifecycle-failed"],
)
def test_a_session_that_ended_is_replaced_and_the_comment_says_so(
    runner: Runner, change: dict[str, str], why: str
) -> None:
    session = runner.recoupable.add_session(API_KEY, **change)
    _seed_recorded(runner, session)

    run = _opened(runner)

    assert run.returncode == 0, run.log
    assert (run.outputs["outcome"], run.outputs["reused"]) == ("created", "false")
    assert run.outputs["session-id"] != session["id"]
    assert _methods(runner.recoupable) == ["GET", "POST"]
    # A claim beside the comment first, so that runs starting together replace it once: list, claim, list,
    # the new record into the comment, the claim deleted.
    assert runner.signatures() == [LIST, CREATE, LIST, UPDATE, DELETE]
    body = _the_comment(runner)["body"]
    assert f"it replaces session {session['id']}: {why}" in body.replace("\\", "")
    assert read_record(body, TAG) == CommentRecord(session_id=run.outputs["session-id"], chat_id=run.outputs["chat-id"])
    assert f"It replaces session {session['id']}" in run.summary.replace("\\", "")


@pytest.mark.parametrize(
    ("owner", "said"), [(None, "no longer exists"), (OTHER_KEY, "belongs to another account")], ids=["404", "403"]
)
def test_a_session_gone_or_of_another_account_is_replaced(runner: Runner, owner: str | None, said: str) -> None:
    runner.recoupable.api_keys = (API_KEY, OTHER_KEY)
    session = runner.recoupable.add_session(OTHER_KEY) if owner else {"id": "gone-session"}
    _seed_recorded(runner, session)

    run = _opened(runner)

    assert run.returncode == 0, run.log
    assert run.outputs["outcome"] == "created"
    assert _methods(runner.recoupable) == ["GET", "POST"]
    body = _the_comment(runner)["body"].replace("\\", "")
    assert f"it replaces session {session['id']}, which {said}" in body
    expected = "Session not found" if owner is None else "Forbidden"
    assert expected in body


def test_a_get_that_keeps_failing_is_retried_then_a_new_session_is_made_with_a_warning(runner: Runner) -> None:
    session = runner.recoupable.add_session(API_KEY)
    _seed_recorded(runner, session)
    runner.recoupable.faults.extend([Fault(503, b"busy", ENVELOPE)] * 3)

    run = _opened(runner, **{"max-retries": "2"})

    assert run.returncode == 0, run.log
    assert run.outputs["outcome"] == "created"
    assert _methods(runner.recoupable) == ["GET", "GET", "GET", "POST"]  # a GET is safe to repeat
    [warning] = [line for line in run.stdout.splitlines() if line.startswith("::warning")]
    assert f"Could not check session {session['id']}" in warning
    assert "creating a new session" in warning


def test_a_get_that_fails_once_is_retried_and_the_session_reused(runner: Runner) -> None:
    session = runner.recoupable.add_session(API_KEY)
    _seed_recorded(runner, session)
    runner.recoupable.faults.append(Fault(behaviour="drop"))

    run = _opened(runner)

    assert run.returncode == 0, run.log
    assert run.outputs["outcome"] == "reused"
    assert _methods(runner.recoupable) == ["GET", "GET"]


@pytest.mark.parametrize("inputs", [{"comment": "off"}, {"github-token": ""}], ids=["comment-off", "no-token"])
def test_without_a_comment_to_read_reuse_behaves_as_new(runner: Runner, inputs: dict[str, str]) -> None:
    session = runner.recoupable.add_session(API_KEY)
    _seed_recorded(runner, session)

    run = runner.fixture("pull_request", token=inputs.pop("github-token", GITHUB_TOKEN), **inputs)

    assert run.returncode == 0, run.log
    assert run.outputs["outcome"] == "created"
    assert _methods(runner.recoupable) == ["POST"]
    assert runner.github.requests == []


# -- the race -------------------------------------------------------------------------------------------------


def test_twenty_runs_started_together_make_one_session_and_one_comment(
    action_runner: RunAction, runner: Runner
) -> None:
    barrier = _in_flight(runner, 20)

    runs = _started_together(action_runner, runner, 20, **{"timeout-seconds": RACE_TIMEOUT})

    assert barrier.met, f"only {barrier.arrived} of the 20 runs listed the comments within {barrier.seconds:g} s"
    assert [run.returncode for run in runs] == [0] * 20, [run.log for run in runs if run.returncode]
    assert len(runner.recoupable.posts) == 1
    assert len({run.outputs["session-id"] for run in runs}) == 1
    assert len({run.outputs["chat-id"] for run in runs}) == 1
    assert sorted(run.outputs["outcome"] for run in runs) == ["created"] + ["reused"] * 19
    [comment] = comments_on(runner.github, BASE, 12)
    assert {run.outputs["comment-id"] for run in runs} == {str(comment["id"])}
    assert {run.outputs["comment-url"] for run in runs} == {comment["html_url"]}
    assert read_record(comment["body"], TAG) == CommentRecord(
        session_id=runs[0].outputs["session-id"], chat_id=runs[0].outputs["chat-id"]
    )
    assert _methods(runner.recoupable).count("GET") == 19
    # The runs did overlap: all 20 saw no comment and claimed; one claim won, the other 19 deleted theirs.
    assert runner.signatures().count(CREATE) == 20
    assert all("Claimed comment" in run.log for run in runs)
    assert sum("deleting this run's claim" in run.log for run in runs) == 19
    assert runner.signatures().count(DELETE) == 19
    github_total, recoupable_total = len(runner.github.requests), len(runner.recoupable.requests)
    print(f"\n20 runs: {github_total} GitHub requests, 20 claims, {recoupable_total} requests to Recoupable")


def test_ten_runs_started_together_after_the_session_ended_replace_it_once(
    action_runner: RunAction, runner: Runner
) -> None:
    ended = runner.recoupable.add_session(API_KEY, status="completed")
    comment_id = _seed_recorded(runner, ended)
    barrier = _in_flight(runner, 10)

    runs = _started_together(action_runner, runner, 10, **{"timeout-seconds": RACE_TIMEOUT})

    assert barrier.met, f"only {barrier.arrived} of the 10 runs listed the comments within {barrier.seconds:g} s"
    assert [run.returncode for run in runs] == [0] * 10, [run.log for run in runs if run.returncode]
    assert len(runner.recoupable.posts) == 1
    assert len({run.outputs["session-id"] for run in runs}) == 1
    assert runs[0].outputs["session-id"] != ended["id"]
    assert sorted(run.outputs["outcome"] for run in runs) == ["created"] + ["reused"] * 9
    [comment] = comments_on(runner.github, BASE, 12)  # the claims beside it are gone
    assert comment["id"] == comment_id
    assert {run.outputs["comment-id"] for run in runs} == {str(comment_id)}
    assert read_record(comment["body"], TAG) == CommentRecord(
        session_id=runs[0].outputs["session-id"], chat_id=runs[0].outputs["chat-id"]
    )
    # All 10 found the ended session and claimed its replacement beside the comment; one claim won, and the 9
    # others checked the new session before reusing it.
    gets = [request.path.rpartition("/")[2] for request in runner.recoupable.requests if request.method == "GET"]
    assert sorted(gets) == sorted([ended["id"]] * 10 + [runs[0].outputs["session-id"]] * 9)
    assert runner.signatures().count(CREATE) == 10
    print(f"\n10 runs replacing an ended session: 10 claims, {len(runner.github.requests)} GitHub requests")


def test_a_winner_killed_between_claim_and_post_is_taken_over_once_stale(
    action_runner: RunAction, runner: Runner, tmp_path: Path
) -> None:
    # The first run is killed the moment its claim took effect, before GitHub's answer reaches it.
    folders = runner_folders(
        tmp_path,
        "pull_request",
        event("pull_request"),
        {"api-key": API_KEY, "api-url": runner.recoupable.url, "github-token": GITHUB_TOKEN},
        {"GITHUB_API_URL": runner.github.api_url, **EVENTS["pull_request"].runner_env()},
    )
    claimed = requests_to("POST", "/issues/12/comments")
    with subprocess.Popen(
        [CONSOLE_SCRIPT], env=folders.environ, cwd=folders.workspace, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as winner:

        def kill_at_its_claim(request: RecordedRequest) -> None:
            if claimed(request):
                winner.kill()
                winner.wait()

        runner.github.hooks.append(kill_at_its_claim)
        winner.communicate(timeout=60)
    runner.github.hooks.remove(kill_at_its_claim)
    assert winner.returncode == -signal.SIGKILL
    [claim] = ours(runner.github, BASE, 12)
    assert read_record(claim["body"], TAG) == CLAIM
    assert runner.recoupable.requests == []
    # Later, on GitHub's clock, the claim is older than the runs allow a winner (the runners' clocks play no part).
    runner.github.clock_offset = stale_after(float(RACE_TIMEOUT)) + 5
    seen = len(runner.github.requests)
    barrier = _in_flight(runner, 5)  # all five see the stale claim

    runs = _started_together(action_runner, runner, 5, **{"timeout-seconds": RACE_TIMEOUT})

    assert barrier.met, f"only {barrier.arrived} of the 5 runs listed the comments within {barrier.seconds:g} s"
    assert [run.returncode for run in runs] == [0] * 5, [run.log for run in runs if run.returncode]
    assert len(runner.recoupable.posts) == 1
    assert len({run.outputs["session-id"] for run in runs}) == 1
    [comment] = comments_on(runner.github, BASE, 12)
    assert comment["id"] != claim["id"]
    assert {run.outputs["comment-id"] for run in runs} == {str(comment["id"])}
    assert all("taking over" in run.stdout for run in runs)
    print(f"\ntakeover by 5 runs: {len(runner.github.requests) - seen} GitHub requests")


def test_a_stale_claim_alone_costs_a_delete_and_a_fresh_claim(runner: Runner) -> None:
    claim = runner.github.add_comment(*split(BASE), 12, f"{marker(TAG, CLAIM)}\nStarting", login=BOT, user_type="Bot")
    runner.github.clock_offset = stale_after(30) + 1

    run = _opened(runner)

    assert run.returncode == 0, run.log
    assert run.outputs["outcome"] == "created"
    assert runner.signatures() == [LIST, DELETE, CREATE, LIST, UPDATE]
    assert _the_comment(runner)["id"] != claim


def test_a_fresh_claim_of_another_run_is_awaited_and_its_session_reused(runner: Runner) -> None:
    """The other run is slow but alive: its claim is not taken over; this run waits, then reuses its session."""
    claim = runner.github.add_comment(*split(BASE), 12, f"{marker(TAG, CLAIM)}\nStarting", login=BOT, user_type="Bot")
    session = runner.recoupable.add_session(API_KEY)
    recorded = f"{marker(TAG, CommentRecord(session_id=session['id'], chat_id='c-2'))}\n### Recoupable session\n"
    polls = requests_to("GET", f"/issues/comments/{claim}")

    def record_after_the_first_poll(request: RecordedRequest) -> None:
        if polls(request):  # the other run records its session just after this run's first look
            runner.github.set_comment(claim, recorded)

    runner.github.hooks.append(record_after_the_first_poll)
    run = _opened(runner)

    assert run.returncode == 0, run.log
    assert (run.outputs["outcome"], run.outputs["session-id"]) == ("reused", session["id"])
    assert run.outputs["comment-id"] == str(claim)
    # No claim of its own: it looked at the other run's claim, unrecorded the first time, recorded the second.
    assert runner.signatures() == [LIST, GET_COMMENT, GET_COMMENT, UPDATE]
    assert _methods(runner.recoupable) == ["GET"]


# -- a failed run after a good one ----------------------------------------------------------------------------


def test_a_failed_run_keeps_the_link_and_says_above_it_that_it_failed(runner: Runner) -> None:
    first = _opened(runner)
    before = _the_comment(runner)["body"]
    runner.recoupable.sessions[first.outputs["session-id"]]["status"] = "completed"
    runner.recoupable.faults.append(Fault(400, {"status": "error", "error": f"bad key {API_KEY}"}))
    runner.recoupable.faults.insert(0, Fault(404, {"status": "error", "error": "Session not found"}))

    run = _opened(runner)

    assert run.returncode == 1
    assert run.outputs["outcome"] == "failed"
    comment = _the_comment(runner)
    body = comment["body"]
    assert run.outputs["comment-id"] == str(comment["id"])
    note, _, rest = body.partition("\n")[2].partition("\n\n")
    assert note.startswith("> [!WARNING]\n> The latest run failed: Could not create the session")
    assert "[view run](https://github.com/octo-org/octo-app/actions/runs/5741279673)" in note
    assert API_KEY not in body
    assert rest == before.partition("\n")[2]  # the link and the rest as they were
    assert read_record(body, TAG) == read_record(before, TAG)
    # The next good run takes the note away.
    reused = _opened(runner)
    assert reused.outputs["outcome"] == "created"
    assert "The latest run failed" not in _the_comment(runner)["body"]


def test_a_failed_first_run_leaves_its_claim_saying_so_and_the_next_run_takes_over(runner: Runner) -> None:
    runner.recoupable.faults.append(Fault(401, {"status": "error", "message": "Unauthorized"}))

    failed = _opened(runner)

    assert failed.returncode == 1
    claim = _the_comment(runner)
    assert read_record(claim["body"], TAG) == CommentRecord(failed=True)
    assert "No session was created" in claim["body"]
    assert failed.outputs["comment-id"] == str(claim["id"])
    seen = len(runner.github.requests)

    good = _opened(runner)

    assert good.outputs["outcome"] == "created"
    assert runner.signatures(seen) == [LIST, DELETE, CREATE, LIST, UPDATE]


# -- closing --------------------------------------------------------------------------------------------------


def test_closing_archives_the_recorded_session(runner: Runner) -> None:
    opened = _opened(runner)
    seen = len(runner.github.requests)

    closed = _closed(runner)

    assert closed.returncode == 0, closed.log
    assert (closed.outputs["outcome"], closed.outputs["session-id"]) == ("archived", opened.outputs["session-id"])
    [patch] = [request for request in runner.recoupable.requests if request.method == "PATCH"]
    assert patch.path == f"/api/sessions/{opened.outputs['session-id']}"
    assert patch.json() == {"status": "archived"}
    assert json.loads(closed.outputs["response"])["session"]["status"] == "archived"  # the PATCH's body
    assert _methods(runner.recoupable) == ["POST", "PATCH"]
    assert runner.signatures(seen) == [LIST, UPDATE]
    body = _the_comment(runner)["body"]
    assert "The pull request was closed: the session was archived." in body
    assert f"[Open the session]({opened.outputs['session-url']})" in body
    assert read_record(body, TAG) == CommentRecord(
        session_id=opened.outputs["session-id"], chat_id=opened.outputs["chat-id"], archived=True
    )
    assert "### Recoupable session archived" in closed.summary
    # Reopened: the archived session is not reused (no GET), a new one replaces it.
    reopened = _opened(runner)
    assert reopened.outputs["outcome"] == "created"
    assert _methods(runner.recoupable) == ["POST", "PATCH", "POST"]
    assert "archived when the pull request closed" in _the_comment(runner)["body"]


@pytest.mark.parametrize("status", [404, 405])
def test_a_server_without_patch_gets_a_notice_and_exit_0(runner: Runner, status: int) -> None:
    opened = _opened(runner)
    runner.recoupable.faults.append(Fault(status, {"status": "error", "error": "Method Not Allowed"}))

    closed = _closed(runner)

    assert closed.returncode == 0, closed.log
    assert closed.outputs["outcome"] == "skipped"
    [notice] = [line for line in closed.stdout.splitlines() if line.startswith("::notice")]
    assert f"the server did not archive session {opened.outputs['session-id']}" in notice
    assert f"answered {status} to PATCH" in notice
    assert _methods(runner.recoupable) == ["POST", "PATCH"]  # never retried


def test_closing_without_a_recorded_session_skips_with_a_notice(runner: Runner) -> None:
    closed = _closed(runner)

    assert closed.returncode == 0, closed.log
    assert closed.outputs["outcome"] == "skipped"
    assert "records no session: nothing to archive" in closed.stdout
    assert runner.recoupable.requests == []
    assert runner.signatures() == [LIST]


def test_closing_with_on_close_keep_notes_it_and_asks_nothing_of_recoupable(runner: Runner) -> None:
    opened = _opened(runner)

    closed = _closed(runner, merged=False, **{"on-close": "keep"})

    assert closed.returncode == 0, closed.log
    assert closed.outputs["outcome"] == "skipped"
    assert _methods(runner.recoupable) == ["POST"]
    body = _the_comment(runner)["body"]
    assert "The pull request was closed; the session is kept (on-close: keep)." in body
    assert f"[Open the session]({opened.outputs['session-url']})" in body


# -- /recoup comments -----------------------------------------------------------------------------------------


def _commented(runner: Runner, body: str, association: str = "MEMBER", login: str = "mona", **inputs: str) -> ActionRun:
    payload = event("issue_comment.pull_request")
    payload["comment"].update(body=body, author_association=association)
    payload["comment"]["user"]["login"] = login
    return runner("issue_comment", payload, EVENTS["issue_comment.pull_request"].runner_env(), **inputs)


@pytest.fixture
def on_comment(runner: Runner) -> Runner:
    runner.github.add_pull(
        *split(BASE), 13, title="Fix a typo", head_ref="fix/typo", head_sha="c0" * 20, head_full_name="forker/octo-app"
    )
    runner.github.add_comment(*split(BASE), 13, "/recoup", login="mona", comment_id=TRIGGER_ID)
    return runner


def test_a_comment_that_is_not_the_command_skips_without_a_request(on_comment: Runner) -> None:
    run = _commented(on_comment, "looks good to me /recoup")

    assert run.returncode == 0, run.log
    assert run.outputs["outcome"] == "skipped"
    assert "does not start with /recoup" in run.stdout
    assert on_comment.recoupable.requests == []
    assert on_comment.github.requests == []


def test_an_empty_command_lets_every_comment_through(on_comment: Runner) -> None:
    run = _commented(on_comment, "looks good to me", command="")

    assert run.outputs["outcome"] == "created", run.log


def test_recoup_new_forces_a_new_session_titled_by_the_rest_of_the_line(on_comment: Runner) -> None:
    first = _commented(on_comment, "/recoup")
    assert first.outputs["outcome"] == "created", first.log
    assert on_comment.github.reactions == [(TRIGGER_ID, "eyes", BOT), (TRIGGER_ID, "rocket", BOT)]
    again = _commented(on_comment, "/recoup")
    assert again.outputs["outcome"] == "reused"

    forced = _commented(on_comment, "/recoup new  Try the new parser\nmore text below")

    assert forced.outputs["outcome"] == "created"
    assert forced.outputs["session-id"] != first.outputs["session-id"]
    assert on_comment.recoupable.posts[-1].json()["title"] == "Try the new parser"
    assert read_record(_the_comment_on(on_comment, 13)["body"], TAG).session_id == forced.outputs["session-id"]  # type: ignore[union-attr]
    titled = _commented(on_comment, "/recoup new Other", title="From the input")
    assert on_comment.recoupable.posts[-1].json()["title"] == "From the input"
    assert titled.outputs["outcome"] == "created"


def _the_comment_on(runner: Runner, number: int) -> dict[str, Any]:
    [comment] = ours(runner.github, BASE, number)
    return comment


def test_a_contributor_with_write_permission_is_allowed(on_comment: Runner) -> None:
    on_comment.github.permissions["org-member"] = "maintain"

    run = _commented(on_comment, "/recoup", association="CONTRIBUTOR", login="org-member")

    assert run.outputs["outcome"] == "created", run.log
    signatures = on_comment.signatures()
    assert signatures[:3] == [PERMISSION, GET_PULL, REACT]
    assert on_comment.github.requests[0].path.endswith("/collaborators/org-member/permission")


def test_a_failed_session_reacts_confused(on_comment: Runner) -> None:
    on_comment.recoupable.faults.append(Fault(400, {"status": "error", "error": "Invalid repository owner"}))

    run = _commented(on_comment, "/recoup")

    assert run.returncode == 1
    assert on_comment.github.reactions == [(TRIGGER_ID, "eyes", BOT), (TRIGGER_ID, "confused", BOT)]


def test_a_token_that_may_not_react_warns_and_never_fails(
    action_runner: RunAction, recoupable: RecoupableStandIn, github_standin: GitHubFactory
) -> None:
    github = github_standin({GITHUB_TOKEN: TokenIdentity(BOT, "Bot", can_react=False)})
    runner = Runner(action_runner, recoupable, github)
    github.add_pull(*split(BASE), 13, title="Fix", head_ref="fix/typo", head_sha="c0" * 20, head_full_name=BASE)
    github.add_comment(*split(BASE), 13, "/recoup", login="mona", comment_id=TRIGGER_ID)

    run = _commented(runner, "/recoup")

    assert run.returncode == 0, run.log
    assert run.outputs["outcome"] == "created"
    warnings = [line for line in run.stdout.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 2
    assert all("Could not react" in line and "403" in line for line in warnings)
    assert github.reactions == []


class BrokenPollStandIn(GitHubStandIn):
    """GitHub answers 500 to every read of one comment (the poll of another run's claim)."""

    def answer(self, request: RecordedRequest) -> Answer:
        if request.method == "GET" and "/issues/comments/" in request.path:
            return json_answer(500, {"message": "Server Error"})
        return super().answer(request)


def test_github_failing_while_following_another_runs_claim_fails_without_a_second_post(
    action_in_process: RunAction, recoupable: RecoupableStandIn, github_standin: GitHubFactory
) -> None:
    github = github_standin(kind=BrokenPollStandIn)
    runner = Runner(action_in_process, recoupable, github)
    github.add_pull(
        *split(BASE), 12, title="Search", head_ref="feature/search", head_sha=SEARCH_SHA, head_full_name=BASE
    )
    claim = github.add_comment(*split(BASE), 12, f"{marker(TAG, CLAIM)}\nStarting", login=BOT, user_type="Bot")

    run = _opened(runner)

    assert run.returncode == 1
    assert run.outputs["outcome"] == "failed"
    assert f"Could not follow comment {claim}, which another run claimed" in run.outputs["error"]
    assert recoupable.requests == []  # no POST: the other run is the one creating the session


def test_a_dry_run_on_close_says_what_it_would_do_and_sends_nothing(runner: Runner) -> None:
    closed = _closed(runner, merged=True, **{"dry-run": "true"})

    assert closed.returncode == 0, closed.log
    assert closed.outputs["outcome"] == "dry-run"
    assert "a real run would archive the session its comment records" in closed.summary
    assert runner.recoupable.requests == []
    assert runner.github.requests == []


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"branch": "feature/other"}, "it is for branch feature/other, not feature/search"),
        ({"repoOwner": "someone", "repoName": "else"}, "it is for repository someone/else, not octo-org/octo-app"),
    ],
    ids=["branch", "repository"],
)
def test_a_recorded_session_for_another_branch_or_repository_is_replaced(
    runner: Runner, fields: dict[str, str], why: str
) -> None:
    base = {"repoOwner": "octo-org", "repoName": "octo-app", "branch": "feature/search"}
    session = runner.recoupable.add_session(API_KEY, **{**base, **fields})
    _seed_recorded(runner, session)

    run = _opened(runner)

    assert run.outputs["outcome"] == "created", run.log
    assert _methods(runner.recoupable) == ["GET", "POST"]
    assert why in _the_comment(runner)["body"].replace("\\", "")


def test_a_session_the_server_reports_without_repository_or_branch_is_reused(runner: Runner) -> None:
    session = runner.recoupable.add_session(API_KEY, repoOwner=None, repoName=None, branch=None, cloneUrl=None)
    _seed_recorded(runner, session)

    run = _opened(runner)

    assert run.outputs["outcome"] == "reused", run.log


def test_a_closed_pull_request_target_archives_too(runner: Runner) -> None:
    session = runner.recoupable.add_session(API_KEY)
    record = CommentRecord(session_id=session["id"], chat_id="chat-1")
    runner.github.add_pull(
        *split(BASE), 14, title="Support proxies", head_ref="patch-1", head_sha="b0" * 20, head_full_name=FORK
    )
    runner.github.add_comment(*split(BASE), 14, f"{marker(TAG, record)}\nlink", login=BOT, user_type="Bot")
    payload = event("pull_request_target")
    payload["action"] = "closed"

    closed = runner("pull_request_target", payload, EVENTS["pull_request_target"].runner_env())

    assert closed.returncode == 0, closed.log
    assert (closed.outputs["outcome"], closed.outputs["session-id"]) == ("archived", session["id"])
    assert _methods(runner.recoupable) == ["PATCH"]
    assert runner.recoupable.sessions[session["id"]]["status"] == "archived"
