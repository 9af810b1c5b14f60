"""The sticky-comment logic in this process, through the flow's seams: the Recoupable stand-in as an httpx
transport, GitHub as an in-memory `FakeGitHub`. Fast enough to try every branch of the logic; `test_comment.py`
runs the same logic end to end against the GitHub stand-in over HTTP with PyGithub."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from recoup_session_action.comment_record import CommentRecord, has_marker, marker, read_record
from recoup_session_action.context import RunnerEnv, resolve_event
from recoup_session_action.errors import GitHubError
from recoup_session_action.event_payload import EventPayload
from recoup_session_action.flow import Seams, run
from recoup_session_action.standins.recoupable import DEMO_API_KEY, RecoupableStandIn

from .events import BASE, EVENTS, FORK, MAIN_SHA, PUSH_SHA
from .fake_github import BOT, FakeGitHub

TOKEN = "ghs_in_process_token"
TAG = "recoup-session"


@dataclass
class Recorded:
    """A `Reporter` that keeps everything it is told."""

    lines: list[tuple[str, str]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)

    def info(self, text: str) -> None:
        self.lines.append(("info", text))

    def notice(self, text: str, title: str | None = None) -> None:
        self.lines.append(("notice", text))

    def warning(self, text: str, title: str | None = None) -> None:
        self.lines.append(("warning", text))

    def error(self, text: str, title: str | None = None) -> None:
        self.lines.append(("error", text))

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        yield

    def set_outputs(self, outputs: Mapping[str, str]) -> None:
        self.outputs.update(outputs)

    def add_summary(self, markdown: str) -> None:
        self.summary.append(markdown)

    def said(self, kind: str) -> list[str]:
        return [text for said, text in self.lines if said == kind]


@dataclass
class World:
    api: RecoupableStandIn
    github: FakeGitHub

    def run(self, fixture: str, **inputs: str) -> tuple[int, Recorded]:
        """One run for one of our event fixtures, in this process."""
        event = EVENTS[fixture]
        env = RunnerEnv.from_environ({**event.runner_env(), "GITHUB_RUN_ID": "77"})
        facts = EventPayload.model_validate(event.payload())
        raw = {"api-key": DEMO_API_KEY, "api-url": "https://api.recoupable.test", "github-token": TOKEN, **inputs}
        reporter = Recorded()
        seams = Seams(recoupable_transport=self.api.transport(), open_github=self.github.open)
        code = run(raw, env, lambda: resolve_event(env, facts), reporter, seams)
        return code, reporter


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    # The environment a runner gives the step, not this machine's (its CA and proxy variables included).
    monkeypatch.setattr(os, "environ", {"PATH": os.environ.get("PATH", ""), "HOME": "/nonexistent"})
    return World(RecoupableStandIn(), FakeGitHub())


def _ours(github: FakeGitHub, number: int) -> list[str]:
    return [body for body in github.bodies(number) if has_marker(body, TAG)]


def _recorded(body: str) -> str | None:
    record = read_record(body, TAG)
    return record.session_id if record else None


def test_a_first_run_claims_creates_and_records_and_a_second_reuses(world: World) -> None:
    code, first = world.run("pull_request")

    assert code == 0
    assert first.outputs["outcome"] == "created"
    # list, claim, list again (the oldest claim wins), then record the session in the claim
    assert world.github.calls == ["comments", "create_comment", "comments", "edit_comment"]
    [body] = _ours(world.github, 12)
    assert first.outputs["session-url"] in body
    assert _recorded(body) == first.outputs["session-id"]
    assert (first.outputs["comment-id"], first.outputs["pr-number"]) == ("1", "12")
    assert world.github.accesses[0].token == TOKEN
    assert world.github.accesses[0].full_name == BASE
    assert DEMO_API_KEY in world.github.accesses[0].secrets

    world.github.calls.clear()
    code, second = world.run("pull_request")

    assert code == 0
    assert second.outputs["outcome"] == "reused"
    assert world.github.calls == ["comments", "edit_comment"]
    assert [request.method for request in world.api.requests] == ["POST", "GET"]
    assert second.outputs["session-id"] == first.outputs["session-id"]
    assert second.outputs["comment-id"] == "1"
    assert "Comment updated: https://github.com/octo-org/octo-app/pull/12#issuecomment-1" in second.said("info")


def test_session_new_replaces_the_recorded_session_in_the_same_comment(world: World) -> None:
    _, first = world.run("pull_request")
    world.github.calls.clear()

    code, second = world.run("pull_request", session="new")

    assert code == 0
    assert second.outputs["outcome"] == "created"
    assert second.outputs["session-id"] != first.outputs["session-id"]
    assert world.github.calls == ["comments", "edit_comment"]
    [body] = _ours(world.github, 12)
    assert _recorded(body) == second.outputs["session-id"]


def test_a_pasted_marker_is_left_alone_and_the_token_user_asked(world: World) -> None:
    world.github.add_comment(12, f"{marker(TAG)}\npasted", login="mallory")

    code, reporter = world.run("pull_request")

    assert code == 0
    assert "token_login" in world.github.calls
    assert world.github.bodies(12)[0] == f"{marker(TAG)}\npasted"
    assert reporter.outputs["comment-id"] == "2"


def test_a_personal_token_adopts_its_own_users_comment(world: World) -> None:
    github = FakeGitHub(login="octocat", is_bot=False, can_get_user=True)
    world.github = github
    github.add_comment(12, f"{marker(TAG)}\nmine", login="octocat")
    github.add_comment(12, f"{marker(TAG)}\ntheirs", login="mallory")

    code, reporter = world.run("pull_request")

    assert code == 0
    assert github.calls == ["comments", "token_login", "edit_comment"]
    assert reporter.outputs["comment-id"] == "1"
    assert _recorded(github.bodies(12)[0]) == reporter.outputs["session-id"]
    assert github.bodies(12)[1] == f"{marker(TAG)}\ntheirs"


def test_comments_of_another_tag_are_not_ours(world: World) -> None:
    world.github.add_comment(12, f"{marker('other')}\nother", login=BOT, is_bot=True)

    code, reporter = world.run("pull_request")

    assert code == 0
    assert reporter.outputs["comment-id"] == "2"
    assert world.github.bodies(12)[0] == f"{marker('other')}\nother"


def test_a_race_lost_deletes_our_claim_and_reuses_the_winners_session(world: World) -> None:
    github = world.github
    winner = world.api.add_session(DEMO_API_KEY)
    recorded = marker(TAG, CommentRecord(session_id=winner["id"], chat_id="chat-of-the-winner"))

    def race(call: str) -> None:
        if call == "create_comment" and not github.threads:
            github.add_comment(12, f"{recorded}\nthe other run", login=BOT, is_bot=True)

    github.before_call = race

    code, reporter = world.run("pull_request")

    assert code == 0
    assert github.calls == ["comments", "create_comment", "comments", "delete_comment", "edit_comment"]
    assert reporter.outputs["outcome"] == "reused"
    assert reporter.outputs["session-id"] == winner["id"]
    assert [request.method for request in world.api.requests] == ["GET"]
    [body] = github.bodies(12)
    assert _recorded(body) == winner["id"]


def test_a_race_won_creates_the_session_and_leaves_the_losers_claim_to_it(world: World) -> None:
    github = world.github

    def race(call: str) -> None:
        if call == "comments" and github.calls.count("comments") == 2:
            github.add_comment(12, f"{marker(TAG, CommentRecord())}\nthe other run's claim", login=BOT, is_bot=True)

    github.before_call = race

    code, reporter = world.run("pull_request")

    assert code == 0
    assert github.calls == ["comments", "create_comment", "comments", "edit_comment"]
    assert reporter.outputs["outcome"] == "created"
    assert reporter.outputs["comment-id"] == "1"
    assert _recorded(github.bodies(12)[0]) == reporter.outputs["session-id"]
    assert read_record(github.bodies(12)[1], TAG) == CommentRecord()


def test_create_mode_adds_a_comment_every_run(world: World) -> None:
    world.run("pull_request", comment="create")
    world.run("pull_request", comment="create")

    assert len(_ours(world.github, 12)) == 2
    assert world.github.calls == ["create_comment", "create_comment"]


@pytest.mark.parametrize(("fixture", "sha"), [("push", PUSH_SHA), ("workflow_dispatch", MAIN_SHA)])
def test_a_push_or_dispatch_finds_the_open_pull_request_of_its_commit(world: World, fixture: str, sha: str) -> None:
    world.github.add_pull(6, "main", sha, state="closed")
    world.github.add_pull(7, "main", sha)
    world.github.add_pull(8, "main", sha, head=FORK)
    world.github.add_pull(9, "main", "f" * 40)

    code, reporter = world.run(fixture)

    assert code == 0
    assert world.github.calls[0] == "open_pull_for_commit"
    assert reporter.outputs["pr-number"] == "7"
    assert len(_ours(world.github, 7)) == 1


def test_a_workflow_run_from_a_fork_finds_its_pull_request_by_branch(world: World) -> None:
    world.github.add_pull(13, "fix/typo", head=FORK)

    code, reporter = world.run("workflow_run")

    assert code == 0
    assert world.github.calls[0] == "open_pull_for_branch"
    assert reporter.outputs["pr-number"] == "13"


def test_no_open_pull_request_means_no_comment_and_says_how_to_comment_anyway(world: World) -> None:
    code, reporter = world.run("schedule")

    assert code == 0
    assert world.github.calls == ["open_pull_for_commit"]
    assert reporter.outputs["comment-id"] == ""
    assert any("set pr-number to comment anyway" in part for part in reporter.summary)

    code, reporter = world.run("schedule", **{"pr-number": "9"})

    assert code == 0
    assert reporter.outputs["pr-number"] == "9"
    assert len(_ours(world.github, 9)) == 1


@pytest.mark.parametrize("fixture", ["push.tag", "release", "merge_group"])
def test_tags_releases_and_merge_groups_ask_github_nothing(world: World, fixture: str) -> None:
    code, reporter = world.run(fixture, branch="main")

    assert code == 0
    assert reporter.outputs["outcome"] == "created"
    assert world.github.calls == []
    assert reporter.outputs["comment-id"] == ""


def test_an_issue_comment_reads_its_pull_request_first(world: World) -> None:
    world.github.add_pull(13, "fix/typo", head=FORK)

    code, reporter = world.run("issue_comment.pull_request")

    assert code == 0
    assert world.github.calls[0] == "complete_facts"
    assert world.api.posts[0].json()["repoOwner"] == "forker"
    assert reporter.outputs["pr-number"] == "13"


def test_an_unreadable_pull_request_is_one_error_and_nothing_is_sent(world: World) -> None:
    code, reporter = world.run("issue_comment.pull_request")

    assert code == 1
    [error] = reporter.said("error")
    assert error == "could not read pull request #13: GitHub answered 404: Not Found"
    assert world.api.requests == []


def test_comment_off_or_no_token_asks_github_nothing(world: World) -> None:
    code, reporter = world.run("pull_request", comment="off")
    assert (code, world.github.calls, world.github.accesses) == (0, [], [])
    assert "No comment: comment is off." in reporter.said("info")

    code, reporter = world.run("pull_request", **{"github-token": ""})
    assert (code, world.github.calls, world.github.accesses) == (0, [], [])
    assert reporter.said("notice") == ["No pull-request comment: github-token is empty."]


@pytest.mark.parametrize(("fail", "code"), [("false", 0), ("true", 1)])
def test_a_github_failure_still_creates_the_session_and_warns(world: World, fail: str, code: int) -> None:
    def refuse(call: str) -> None:
        raise GitHubError("GitHub answered 403: Resource not accessible by integration")

    world.github.before_call = refuse

    exit_code, reporter = world.run("pull_request", **{"fail-on-comment-error": fail})

    assert exit_code == code
    assert world.github.calls == ["comments"]
    assert len(world.api.posts) == 1
    assert reporter.outputs["outcome"] == "created"
    assert reporter.outputs["session-id"]
    assert reporter.outputs["comment-id"] == ""
    said = reporter.said("error" if code else "warning")
    assert said == [
        "The session was created, but the pull-request comment failed: "
        "GitHub answered 403: Resource not accessible by integration"
    ]


def test_a_bug_in_the_comment_step_does_not_lose_the_session(world: World) -> None:
    def crash(call: str) -> None:
        if call == "edit_comment":  # after the session was created
            raise RuntimeError("boom")

    world.github.before_call = crash

    code, reporter = world.run("pull_request")

    assert code == 0
    assert reporter.outputs["outcome"] == "created"
    assert reporter.said("warning") == [
        "The session was created, but the pull-request comment failed: unexpected RuntimeError (please report it)"
    ]
