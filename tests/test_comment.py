"""The sticky pull-request comment, end to end: the console script under a runner's environment against the
loopback Recoupable and GitHub stand-ins, driven by the project's own event payloads (`tests/events.py`).

Every test checks the exit code, the outputs, the comments that exist afterwards (count, author, marker, body),
the summary, which GitHub endpoints were called, and that no secret leaks; where ../shared is present, the
`github_standin` fixture also checks every GitHub request against GitHub's REST description. Where the issue asks
for it, the exact GitHub requests are asserted: the common path (a run that finds its comment and reuses the
session it records) is one page of comments and one update; a first run claims the comment before its POST, lists
again to settle a race, and records the session: four requests.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from recoup_session_action import markdown
from recoup_session_action.comment_body import marker
from recoup_session_action.comment_record import CLAIM, CommentRecord, has_marker, read_record
from recoup_session_action.standins.github import GitHubStandIn, RecordedRequest, TokenIdentity
from recoup_session_action.standins.loopback import Answer
from recoup_session_action.standins.recoupable import RecoupableStandIn

from .conftest import API_KEY, GITHUB_TOKEN, ActionRun, GitHubFactory, RunAction, assert_no_secret
from .events import BASE, EVENTS, FORK, MAIN_SHA, PUSH_SHA, SEARCH_SHA, TYPO_SHA, event
from .github_requests import (
    COMMIT_PULLS,
    CREATE,
    DELETE,
    GET_PULL,
    GET_USER,
    LIST,
    LIST_PULLS,
    PERMISSION,
    REACT,
    UPDATE,
    signatures,
)

BOT = "github-actions[bot]"
TAG = "recoup-session"
MARKER = marker(TAG)
RUN_ID = "5741279673"  # GITHUB_RUN_ID as the harness sets it
PAT = "ghp_personal_access_token"
FIRST_RUN = (LIST, CREATE, LIST, UPDATE)  # list, claim, re-read to settle a race, record the session
COMMON_PATH = (LIST, UPDATE)  # one page of comments + one update
NEW_FIRST_RUN = (LIST, CREATE, LIST)  # session: new creates first, then lists, creates and settles a race
_MARKDOWN_SPECIAL = re.compile(r"([\\`*{}\[\]()#!|~])")
_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def escaped(value: str) -> str:
    """How an identifier from the server (UUID, URL-safe token, repository, branch) must appear in Markdown."""
    return _EDGE_UNDERSCORE.sub(r"\\_", _MARKDOWN_SPECIAL.sub(r"\\\1", value))


def split(full_name: str) -> tuple[str, str]:
    owner, _, name = full_name.partition("/")
    return owner, name


def comments_on(github: GitHubStandIn, full_name: str, number: int) -> list[dict[str, Any]]:
    return github.comments(*split(full_name), number)


def ours(github: GitHubStandIn, full_name: str, number: int, tag: str = TAG) -> list[dict[str, Any]]:
    """Comments with the marker of `tag` written by the bot (a person may paste the marker too)."""
    return [
        c for c in comments_on(github, full_name, number) if has_marker(c["body"], tag) and c["user"]["login"] == BOT
    ]


@dataclass
class Runner:
    """Runs the action against both stand-ins with the inputs and runner variables every test shares."""

    action_in_process: RunAction
    recoupable: RecoupableStandIn
    github: GitHubStandIn
    env: dict[str, str] = field(default_factory=dict)

    def __call__(
        self, event_name: str, payload: dict[str, Any], env: dict[str, str], token: str = GITHUB_TOKEN, **inputs: str
    ) -> ActionRun:
        run = self.action_in_process(
            event_name=event_name,
            event=payload,
            inputs={"api-key": API_KEY, "api-url": self.recoupable.url, "github-token": token, **inputs},
            env={"GITHUB_API_URL": self.github.api_url, **self.env, **env},
        )
        assert "Traceback" not in run.log
        assert_no_secret(run, API_KEY, GITHUB_TOKEN, PAT)
        for request in self.github.requests:
            assert request.headers["authorization"].partition(" ")[2] == token
            assert API_KEY not in repr(request)
        self.signatures()  # every request is a call of an endpoint the action is known to make
        return run

    def fixture(self, name: str, token: str = GITHUB_TOKEN, **inputs: str) -> ActionRun:
        """A run for one of our event fixtures, with the variables a runner sets beside it."""
        fixture = EVENTS[name]
        return self(fixture.event_name, fixture.payload(), fixture.runner_env(), token, **inputs)

    def signatures(self, since: int = 0) -> list[str]:
        """The GitHub requests made (after the first `since`), as "METHOD path-template"."""
        return signatures(self.github.requests[since:], self.github.path_prefix)


@pytest.fixture
def runner(action_in_process: RunAction, recoupable: RecoupableStandIn, github: GitHubStandIn) -> Runner:
    return Runner(action_in_process, recoupable, github)


def assert_session(run: ActionRun, recoupable: RecoupableStandIn, repository: str, branch: str | None) -> None:
    """Exactly one session was made, for this repository and branch, and the outputs say so."""
    assert run.outputs["outcome"] == "created", run.log
    assert run.outputs["skipped"] == "false"
    [post] = recoupable.posts[-1:]
    owner, name = split(repository)
    assert (post.json()["repoOwner"], post.json()["repoName"]) == (owner, name)
    assert post.json().get("branch") == branch
    assert run.outputs["session-id"]
    assert "### Recoupable session created" in run.summary


def assert_sticky(
    run: ActionRun,
    github: GitHubStandIn,
    full_name: str,
    number: int,
    *,
    action: str = "created",
    tag: str = TAG,
    server_url: str = "https://github.com",
) -> dict[str, Any]:
    """One comment of ours on `full_name#number`, by the bot, showing this run's session; outputs and summary
    point at it. Returns the comment."""
    assert run.returncode == 0, run.log
    [comment] = ours(github, full_name, number, tag)
    assert comment["user"]["login"] == BOT
    assert comment["user"]["type"] == "Bot"
    body: str = comment["body"]
    record = read_record(body, tag)
    assert record is not None
    assert (record.session_id, record.chat_id) == (run.outputs["session-id"], run.outputs["chat-id"])
    assert body.count("<!--") == 1
    assert "### Recoupable session" in body
    assert f"[Open the session]({run.outputs['session-url']})" in body
    assert f"| Session | `{run.outputs['session-id']}` |" in body
    assert f"| Chat | `{run.outputs['chat-id']}` |" in body
    assert f"| Status | {run.outputs['status']} |" in body
    assert f"[view run]({server_url}/{full_name}/actions/runs/{RUN_ID})" in body
    assert re.search(r"\| Updated \| \d{4}-\d\d-\d\d \d\d:\d\d UTC \|", body)
    assert run.outputs["comment-id"] == str(comment["id"])
    assert run.outputs["comment-url"] == comment["html_url"]
    assert comment["html_url"].startswith(f"{github.server_url}/{full_name}/")
    assert run.outputs["pr-number"] == str(number)
    assert f"Pull-request comment {action}: [view it]({comment['html_url']})" in run.summary
    return comment


def assert_no_comment(run: ActionRun, github: GitHubStandIn, note: str) -> None:
    """The session is there, no comment was made, and the summary says why."""
    assert run.returncode == 0, run.log
    assert run.outputs["outcome"] == "created"
    assert (run.outputs["comment-id"], run.outputs["comment-url"]) == ("", "")
    assert f"Pull-request comment: {note}" in run.summary
    assert "::warning" not in run.stdout
    assert all(request.method == "GET" for request in github.requests)


# -- each event: where the session points and where the comment goes ------------------------------------------


Seed = Callable[[GitHubStandIn], None]


def _pull(number: int, title: str, head_ref: str, head_sha: str, *, head: str = BASE, state: str = "open") -> Seed:
    def seed(github: GitHubStandIn) -> None:
        github.add_pull(
            *split(BASE), number, title=title, head_ref=head_ref, head_sha=head_sha, head_full_name=head, state=state
        )

    return seed


def _seed_all(*seeds: Seed) -> Seed:
    def seed(github: GitHubStandIn) -> None:
        for each in seeds:
            each(github)

    return seed


TRIGGER_ID = 990001  # the id of the comment in our issue_comment fixtures


def _trigger(number: int) -> Seed:
    """The comment that triggered an issue_comment run, so the action can react on it."""

    def seed(github: GitHubStandIn) -> None:
        github.add_comment(*split(BASE), number, "/recoup", login="mona", comment_id=TRIGGER_ID)

    return seed


def _seed_push_pulls(github: GitHubStandIn) -> None:
    """Pull requests holding the pushed commit: only #7 is open with head main in this repository."""
    for number, ref, head, state in [
        (6, "main", BASE, "closed"),
        (7, "main", BASE, "open"),
        (8, "main", FORK, "open"),
        (9, "other", BASE, "open"),
    ]:
        _pull(number, f"PR {number}", ref, PUSH_SHA, head=head, state=state)(github)


SEARCH_PR = _pull(12, "Add search", "feature/search", SEARCH_SHA)
TYPO_PR = _pull(13, "Fix a typo in the README", "fix/typo", TYPO_SHA, head=FORK)
PATCH_PR = _pull(14, "Support proxies", "patch-1", "b0" * 20, head=FORK)
DISPATCH_PR = _pull(15, "Release train", "main", MAIN_SHA)


@dataclass(frozen=True)
class EventCase:
    fixture: str  # the name of one of our event fixtures
    comment_on: tuple[str, int]  # the base repository and number that gets the comment
    session: tuple[str, str]  # repository and branch of the session
    seed: Seed
    lookup: tuple[str, ...] = ()  # GitHub requests made to find the pull request, before the comment's
    after: tuple[str, ...] = ()  # GitHub requests made after the comment's


EVENT_CASES = {
    case.fixture: case
    for case in (
        EventCase("pull_request", (BASE, 12), (BASE, "feature/search"), SEARCH_PR),
        EventCase("pull_request.fork", (BASE, 13), (FORK, "fix/typo"), TYPO_PR),
        EventCase("pull_request_target", (BASE, 14), (FORK, "patch-1"), PATCH_PR),
        EventCase("pull_request_review", (BASE, 12), (BASE, "feature/search"), SEARCH_PR),
        EventCase("pull_request_review_comment", (BASE, 12), (BASE, "feature/search"), SEARCH_PR),
        # On a comment: eyes once accepted (after reading the pull request), rocket once the session is ready.
        EventCase(
            "issue_comment.pull_request",
            (BASE, 13),
            (FORK, "fix/typo"),
            _seed_all(TYPO_PR, _trigger(13)),
            lookup=(GET_PULL, REACT),
            after=(REACT,),
        ),
        EventCase(
            "issue_comment.issue",
            (BASE, 5),
            (BASE, "main"),
            _seed_all(lambda github: github.add_issue(*split(BASE), 5, title="Search is slow"), _trigger(5)),
            lookup=(REACT,),
            after=(REACT,),
        ),
        EventCase("push", (BASE, 7), (BASE, "main"), _seed_push_pulls, lookup=(COMMIT_PULLS,)),
        EventCase("workflow_dispatch", (BASE, 15), (BASE, "main"), DISPATCH_PR, lookup=(COMMIT_PULLS,)),
        EventCase("workflow_run.pull_request", (BASE, 12), (BASE, "feature/search"), SEARCH_PR),
        EventCase("workflow_run", (BASE, 13), (FORK, "fix/typo"), TYPO_PR, lookup=(LIST_PULLS,)),
    )
}


@pytest.mark.parametrize("case", EVENT_CASES.values(), ids=EVENT_CASES.keys())
def test_each_event_comments_on_its_pull_request(runner: Runner, case: EventCase) -> None:
    case.seed(runner.github)

    run = runner.fixture(case.fixture)

    assert_session(run, runner.recoupable, *case.session)
    comment = assert_sticky(run, runner.github, *case.comment_on)
    assert f"| Repository | {escaped(case.session[0])} |" in comment["body"]
    assert f"| Branch | {escaped(case.session[1])} |" in comment["body"]
    assert runner.signatures() == [*case.lookup, *FIRST_RUN, *case.after]
    assert len(ours(runner.github, *case.comment_on)) == 1


def test_push_lookup_ignores_closed_forked_and_other_branch_pulls(runner: Runner) -> None:
    _seed_push_pulls(runner.github)

    run = runner.fixture("push")

    assert_sticky(run, runner.github, BASE, 7)
    for other in (6, 8, 9):
        assert comments_on(runner.github, BASE, other) == []
    assert runner.github.requests[0].path == f"/repos/{BASE}/commits/{PUSH_SHA}/pulls"


def test_schedule_without_an_open_pull_request_makes_no_comment(runner: Runner) -> None:
    _pull(3, "Merged", "main", MAIN_SHA, state="closed")(runner.github)

    run = runner.fixture("schedule")

    assert_session(run, runner.recoupable, BASE, "main")
    assert_no_comment(run, runner.github, "none: no open pull request has branch main of")
    assert run.outputs["pr-number"] == ""
    assert comments_on(runner.github, BASE, 3) == []
    assert runner.signatures() == [COMMIT_PULLS]


@pytest.mark.parametrize(
    ("fixture", "note"),
    [
        ("push.tag", "none: a tag is about no pull request"),
        ("release", "none: a release event"),
        ("merge_group", "none: a merge_group event"),
    ],
)
def test_tags_releases_and_merge_groups_never_comment(runner: Runner, fixture: str, note: str) -> None:
    # Even an open pull request whose head is the session's branch does not draw a comment.
    _pull(5, "Open", "main", "0" * 40)(runner.github)
    inputs = {} if fixture == "merge_group" else {"branch": "main"}

    run = runner.fixture(fixture, **inputs)

    assert run.outputs["outcome"] == "created"
    assert_no_comment(run, runner.github, note)
    assert runner.github.requests == []


def _commented_by(association: str, login: str) -> dict[str, Any]:
    payload = event("issue_comment.pull_request")
    payload["comment"]["author_association"] = association
    payload["comment"]["user"]["login"] = login
    return payload


def test_issue_comment_from_a_none_association_makes_no_session(runner: Runner) -> None:
    fixture = EVENTS["issue_comment.pull_request"]

    run = runner("issue_comment", _commented_by("NONE", "drive-by"), fixture.runner_env())

    assert run.returncode == 0, run.log
    assert run.outputs["skipped"] == "true"
    assert run.outputs["outcome"] == "skipped"
    [notice] = [line for line in run.stdout.splitlines() if line.startswith("::notice")]
    assert "drive-by" in notice
    assert "NONE" in notice
    assert "their permission on the repository is none" in notice
    assert runner.recoupable.requests == []
    assert runner.signatures() == [PERMISSION]  # the association did not allow it: GitHub is asked, once
    assert runner.github.requests[0].path.endswith("/collaborators/drive-by/permission")
    assert "### Recoupable session skipped" in run.summary


def test_issue_comment_by_a_contributor_is_refused_by_default(runner: Runner) -> None:
    fixture = EVENTS["issue_comment.pull_request"]
    payload = _commented_by("CONTRIBUTOR", "newcomer")
    runner.github.permissions["newcomer"] = "triage"

    run = runner("issue_comment", payload, fixture.runner_env())

    assert run.returncode == 0, run.log
    assert run.outputs["skipped"] == "true"
    assert "CONTRIBUTOR" in run.stdout
    assert "their permission on the repository is read" in run.stdout  # triage reads as read
    assert runner.recoupable.requests == []
    assert runner.signatures() == [PERMISSION]

    TYPO_PR(runner.github)
    allowed = runner("issue_comment", payload, fixture.runner_env(), **{"allowed-associations": "CONTRIBUTOR"})

    assert_session(allowed, runner.recoupable, FORK, "fix/typo")
    assert_sticky(allowed, runner.github, BASE, 13)


# -- one sticky comment ---------------------------------------------------------------------------------------


def _search(runner: Runner, **inputs: str) -> ActionRun:
    return runner.fixture("pull_request", **inputs)


def test_second_run_reuses_the_session_in_one_get_and_two_github_requests(runner: Runner) -> None:
    SEARCH_PR(runner.github)
    first = _search(runner)
    created = assert_sticky(first, runner.github, BASE, 12)
    assert runner.signatures() == list(FIRST_RUN)
    assert [r.method for r in runner.recoupable.requests] == ["POST"]
    seen = len(runner.github.requests)

    second = _search(runner)

    updated = assert_sticky(second, runner.github, BASE, 12, action="updated")
    assert updated["id"] == created["id"]
    assert (second.outputs["session-id"], second.outputs["chat-id"]) == (
        first.outputs["session-id"],
        first.outputs["chat-id"],
    )
    assert (second.outputs["outcome"], second.outputs["reused"]) == ("reused", "true")
    assert (first.outputs["outcome"], first.outputs["reused"]) == ("created", "false")
    # The budget of a reuse: Recoupable one GET and no POST; GitHub one page of comments and one update.
    assert [r.method for r in runner.recoupable.requests] == ["POST", "GET"]
    assert runner.recoupable.requests[1].path == f"/api/sessions/{first.outputs['session-id']}"
    assert runner.signatures(seen) == list(COMMON_PATH)
    stored = runner.recoupable.sessions[first.outputs["session-id"]]
    assert json.loads(second.outputs["response"]) == {"session": stored}  # the GET's body
    patch = runner.github.requests[-1]
    assert patch.path == f"/repos/{BASE}/issues/comments/{created['id']}"
    assert patch.body == {"body": updated["body"]}
    assert len(comments_on(runner.github, BASE, 12)) == 1
    assert "### Recoupable session reused" in second.summary


def test_session_new_creates_every_run_and_updates_the_one_comment(runner: Runner) -> None:
    SEARCH_PR(runner.github)
    first = _search(runner, session="new")
    created = assert_sticky(first, runner.github, BASE, 12)
    assert runner.signatures() == list(NEW_FIRST_RUN)
    seen = len(runner.github.requests)

    second = _search(runner, session="new")

    updated = assert_sticky(second, runner.github, BASE, 12, action="updated")
    assert updated["id"] == created["id"]
    assert second.outputs["session-id"] != first.outputs["session-id"]
    assert first.outputs["session-id"] not in updated["body"]
    assert [r.method for r in runner.recoupable.requests] == ["POST", "POST"]
    assert runner.signatures(seen) == list(COMMON_PATH)


def test_more_than_100_comments_are_paged_and_leftovers_collapsed_into_the_oldest(runner: Runner) -> None:
    SEARCH_PR(runner.github)
    owner, name = split(BASE)
    for i in range(160):
        if i == 3:
            old = runner.github.add_comment(owner, name, 12, f"{MARKER}\nold", login=BOT, user_type="Bot")
        elif i == 130:
            newer = runner.github.add_comment(owner, name, 12, f"{MARKER}\nnewer", login=BOT, user_type="Bot")
        elif i == 140:
            runner.github.add_comment(owner, name, 12, f"{marker('other')}\nother tag", login=BOT, user_type="Bot")
        else:
            runner.github.add_comment(owner, name, 12, f"review comment {i}", login="reviewer")

    run = _search(runner)

    assert run.returncode == 0, run.log
    # Comments of an older version (a marker, no record): the oldest is kept and written, the newer collapsed.
    assert run.outputs["comment-id"] == str(old)
    by_id = {c["id"]: c for c in comments_on(runner.github, BASE, 12)}
    assert len(by_id) == 159
    assert newer not in by_id
    assert read_record(by_id[old]["body"], TAG) is not None
    assert f"[Open the session]({run.outputs['session-url']})" in by_id[old]["body"]
    assert runner.signatures() == [LIST, LIST, DELETE, UPDATE]
    assert [r.query for r in runner.github.requests[:2]] == [{"per_page": "100"}, {"per_page": "100", "page": "2"}]
    assert f"Pull-request comment updated: [view it]({by_id[old]['html_url']})" in run.summary


def test_two_tags_keep_two_comments(runner: Runner) -> None:
    SEARCH_PR(runner.github)

    alpha = _search(runner, **{"comment-tag": "alpha"})
    first = assert_sticky(alpha, runner.github, BASE, 12, tag="alpha")
    beta = _search(runner, **{"comment-tag": "beta"})
    assert_sticky(beta, runner.github, BASE, 12, tag="beta")
    seen = len(runner.github.requests)
    alpha_again = _search(runner, **{"comment-tag": "alpha"})

    again = assert_sticky(alpha_again, runner.github, BASE, 12, tag="alpha", action="updated")
    assert again["id"] == first["id"]
    assert alpha_again.outputs["comment-id"] != beta.outputs["comment-id"]
    assert len(comments_on(runner.github, BASE, 12)) == 2
    assert runner.signatures(seen) == list(COMMON_PATH)


def test_create_mode_adds_a_comment_every_run(runner: Runner) -> None:
    SEARCH_PR(runner.github)

    first = _search(runner, comment="create")
    second = _search(runner, comment="create")

    comments = ours(runner.github, BASE, 12)
    assert [c["id"] for c in comments] == [int(first.outputs["comment-id"]), int(second.outputs["comment-id"])]
    assert all(c["user"]["login"] == BOT for c in comments)
    for run, comment in zip((first, second), comments, strict=True):
        assert run.returncode == 0
        assert f"[Open the session]({run.outputs['session-url']})" in comment["body"]
        assert run.outputs["comment-url"] == comment["html_url"]
        assert f"Pull-request comment created: [view it]({comment['html_url']})" in run.summary
    assert runner.signatures() == [CREATE, CREATE]


def test_off_mode_makes_no_github_call(runner: Runner) -> None:
    SEARCH_PR(runner.github)

    run = _search(runner, comment="off")

    assert_session(run, runner.recoupable, BASE, "feature/search")
    assert_no_comment(run, runner.github, "comment is off")
    assert run.outputs["pr-number"] == "12"
    assert runner.github.requests == []
    assert comments_on(runner.github, BASE, 12) == []


def test_no_github_token_skips_the_comment_with_a_notice(runner: Runner) -> None:
    SEARCH_PR(runner.github)

    run = _search(runner, token="")

    assert_session(run, runner.recoupable, BASE, "feature/search")
    assert_no_comment(run, runner.github, "github-token is empty")
    assert any(line.startswith("::notice") and "github-token" in line for line in run.stdout.splitlines())
    assert runner.github.requests == []


def test_pr_number_input_overrides_the_lookup(runner: Runner) -> None:
    _seed_push_pulls(runner.github)

    run = runner.fixture("push", **{"pr-number": "9"})

    assert_sticky(run, runner.github, BASE, 9)
    assert comments_on(runner.github, BASE, 7) == []
    assert runner.signatures() == list(FIRST_RUN)


# -- whose comment is ours ----------------------------------------------------------------------------------


def test_a_pasted_marker_is_never_taken_over(runner: Runner) -> None:
    SEARCH_PR(runner.github)
    pasted = runner.github.add_comment(*split(BASE), 12, f"{MARKER}\nlook, I can paste it", login="mallory")

    run = _search(runner)

    comment = assert_sticky(run, runner.github, BASE, 12)
    assert comment["id"] != pasted
    [theirs] = [c for c in comments_on(runner.github, BASE, 12) if c["id"] == pasted]
    assert theirs["body"] == f"{MARKER}\nlook, I can paste it"
    assert theirs["user"]["login"] == "mallory"
    # GET /user answers 403 to GITHUB_TOKEN: asked (a person's comment has the marker), not depended on.
    assert runner.signatures() == [LIST, GET_USER, *FIRST_RUN[1:]]  # who the token is: asked once


def test_a_personal_token_updates_its_own_users_comment(
    action_in_process: RunAction, recoupable: RecoupableStandIn, github_standin: GitHubFactory
) -> None:
    github = github_standin({PAT: TokenIdentity("octocat", "User", can_get_user=True)})
    SEARCH_PR(github)
    mine = github.add_comment(*split(BASE), 12, f"{MARKER}\nmine", login="octocat")
    theirs = github.add_comment(*split(BASE), 12, f"{MARKER}\ntheirs", login="mallory")
    runner = Runner(action_in_process, recoupable, github)

    run = _search(runner, token=PAT)

    assert run.returncode == 0, run.log
    assert run.outputs["comment-id"] == str(mine)
    by_id = {c["id"]: c for c in comments_on(github, BASE, 12)}
    assert f"[Open the session]({run.outputs['session-url']})" in by_id[mine]["body"]
    assert by_id[theirs]["body"] == f"{MARKER}\ntheirs"
    assert runner.signatures() == [LIST, GET_USER, UPDATE]


class RacingStandIn(GitHubStandIn):
    """Another run of the same workflow posts its comment (`body`) just after this run's first `trigger` request to
    the comments (GET: before our claim, so the race is lost; POST: after it, so it is won)."""

    trigger = ""
    body = ""
    racer: int | None = None

    def handle(self, request: RecordedRequest) -> Answer:
        answer = super().handle(request)
        if self.racer is None and request.method == self.trigger and request.path.endswith("/comments"):
            self.racer = self.add_comment(*split(BASE), 12, self.body, login=BOT, user_type="Bot")
        return answer


def _racing(runner: Runner, github_standin: GitHubFactory, trigger: str, body: str) -> tuple[Runner, RacingStandIn]:
    github = github_standin(kind=RacingStandIn)
    assert isinstance(github, RacingStandIn)
    github.trigger, github.body = trigger, body
    SEARCH_PR(github)
    return Runner(runner.action_in_process, runner.recoupable, github), github


def test_race_lost_deletes_our_claim_and_reuses_the_older_comments_session(
    runner: Runner, github_standin: GitHubFactory
) -> None:
    session = runner.recoupable.add_session(API_KEY)
    recorded = marker(TAG, CommentRecord(session_id=session["id"], chat_id="chat-of-the-other-run"))
    racing, github = _racing(runner, github_standin, "GET", f"{recorded}\nthe other run")

    run = _search(racing)

    comment = assert_sticky(run, github, BASE, 12, action="updated")
    assert comment["id"] == github.racer
    assert (run.outputs["session-id"], run.outputs["chat-id"]) == (session["id"], "chat-of-the-other-run")
    assert run.outputs["outcome"] == "reused"
    assert len(comments_on(github, BASE, 12)) == 1
    assert racing.signatures() == [LIST, CREATE, LIST, DELETE, UPDATE]
    assert [r.method for r in runner.recoupable.requests] == ["GET"]


def test_race_won_keeps_ours_and_leaves_a_newer_live_claim_to_its_run(
    runner: Runner, github_standin: GitHubFactory
) -> None:
    racing, github = _racing(runner, github_standin, "POST", f"{marker(TAG, CLAIM)}\nclaim")

    run = _search(racing)

    assert run.outputs["outcome"] == "created"
    assert racing.signatures() == list(FIRST_RUN)
    mine, theirs = ours(github, BASE, 12)
    assert theirs["id"] == github.racer  # a fresh claim: its own run deletes it when it loses the election
    assert run.outputs["comment-id"] == str(mine["id"])
    expected = CommentRecord(session_id=run.outputs["session-id"], chat_id=run.outputs["chat-id"])
    assert read_record(mine["body"], TAG) == expected


# -- failures never lose the session --------------------------------------------------------------------------


@pytest.mark.parametrize(("fail", "code"), [("false", 0), ("true", 1)])
def test_read_only_token_warns_with_the_fix(
    action_in_process: RunAction, recoupable: RecoupableStandIn, github_standin: GitHubFactory, fail: str, code: int
) -> None:
    github = github_standin({GITHUB_TOKEN: TokenIdentity(BOT, "Bot", read_only=True)})
    TYPO_PR(github)
    runner = Runner(action_in_process, recoupable, github)

    run = runner.fixture("pull_request.fork", **{"fail-on-comment-error": fail})

    assert run.returncode == code, run.log
    kind = "::error" if code else "::warning"
    [line] = [line for line in run.stdout.splitlines() if line.startswith(("::warning", "::error"))]
    assert line.startswith(kind)
    assert "The session was created, but the pull-request comment failed: GitHub answered 403" in line
    assert "Resource not accessible by integration" in line
    assert "permissions: pull-requests: write" in line
    assert "workflow_run" in line
    assert_session(run, recoupable, FORK, "fix/typo")
    assert (run.outputs["comment-id"], run.outputs["comment-url"]) == ("", "")
    assert run.outputs["pr-number"] == "13"
    assert "Pull-request comment: GitHub answered 403" in run.summary
    assert comments_on(github, BASE, 13) == []
    assert runner.signatures() == [LIST, CREATE]  # a 403 that is not a rate limit is not retried


def test_github_unreachable_keeps_the_session(runner: Runner) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"

    fixture = EVENTS["pull_request"]
    run = runner("pull_request", fixture.payload(), {**fixture.runner_env(), "GITHUB_API_URL": closed})

    assert run.returncode == 0, run.log
    assert_session(run, runner.recoupable, BASE, "feature/search")
    [warning] = [line for line in run.stdout.splitlines() if line.startswith("::warning")]
    assert f"the pull-request comment failed: could not reach GitHub at {closed} (ConnectionError)" in warning
    assert (run.outputs["comment-id"], run.outputs["comment-url"]) == ("", "")
    assert "Pull-request comment: could not reach GitHub" in run.summary


def test_issue_comment_on_an_unreadable_pull_request_fails_in_one_line(runner: Runner) -> None:
    run = runner.fixture("issue_comment.pull_request")

    assert run.returncode == 1, run.log
    [error] = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert "could not read pull request #13: GitHub answered 404: Not Found" in error
    assert "Unexpected error" not in run.log
    assert run.outputs["outcome"] == "failed"
    assert runner.recoupable.requests == []
    assert runner.signatures() == [GET_PULL]


# -- what the comment says ------------------------------------------------------------------------------------

CRAFTED_BRANCH = "x/@octocat-<img_src=x_onerror=alert(1)>|_b_|`c`|#1-->"
CRAFTED_TITLE = (
    "@here <script>alert(1)</script> | [x](javascript:alert(1)) <!-- recoup-session-action:recoup-session -->"
)


def test_crafted_branch_and_title_cannot_break_the_comment(runner: Runner) -> None:
    payload = event("pull_request")
    payload["pull_request"]["head"]["ref"] = CRAFTED_BRANCH
    payload["pull_request"]["title"] = CRAFTED_TITLE
    _pull(12, CRAFTED_TITLE, CRAFTED_BRANCH, "0" * 40)(runner.github)
    env = EVENTS["pull_request"].runner_env()

    run = runner("pull_request", payload, env)

    assert_session(run, runner.recoupable, BASE, CRAFTED_BRANCH)
    comment = assert_sticky(run, runner.github, BASE, 12)
    second = runner("pull_request", payload, env)  # the crafted text does not hide our marker either
    assert assert_sticky(second, runner.github, BASE, 12, action="updated")["id"] == comment["id"]
    body = ours(runner.github, BASE, 12)[0]["body"]
    for text in (body, run.summary):
        assert "<img" not in text
        assert "<script" not in text
        assert "](javascript" not in text
        assert re.search(r"@(?!&#8203;)", text) is None  # no @-mention survives
        assert "#1" not in text.replace("\\#1", "")
    assert body.count("<!--") == 1
    [branch_row] = [line for line in body.splitlines() if line.startswith("| Branch |")]
    assert branch_row.count("|") - branch_row.count("\\|") == 3  # still one two-column row
    assert "x/@&#8203;octocat-&lt;img_src=x_onerror=alert\\(1\\)&gt;\\|\\_b\\_\\|\\`c\\`\\|\\#1--&gt;" in branch_row
    assert [line for line in body.splitlines() if line.startswith("#")] == ["### Recoupable session"]


def test_comment_template_substitutes_every_placeholder(runner: Runner) -> None:
    SEARCH_PR(runner.github)
    template = (
        "Agent on {branch} of {repository}: {status}\n"
        "[open]({session_url}) session {session_id} chat {chat_id} ([run]({run_url})) {session_id}"
    )

    run = _search(runner, **{"comment-template": template})

    assert run.returncode == 0, run.log
    [comment] = ours(runner.github, BASE, 12)
    record = marker(TAG, CommentRecord(session_id=run.outputs["session-id"], chat_id=run.outputs["chat-id"]))
    # Ids as plain text, escaped only where Markdown would read them (a UUID whose first group is all digits
    # looks like the start of a list item: "12345678-..." is written "12345678\-...").
    session_id, chat_id = markdown.text(run.outputs["session-id"]), markdown.text(run.outputs["chat-id"])
    assert comment["body"] == (
        f"{record}\nAgent on feature/search of octo-org/octo-app: running\n"
        f"[open]({run.outputs['session-url']}) session {session_id} chat {chat_id} "
        f"([run](https://github.com/{BASE}/actions/runs/{RUN_ID})) {session_id}"
    )
    assert run.outputs["comment-id"] == str(comment["id"])


def test_unknown_template_placeholder_is_an_input_error(runner: Runner) -> None:
    SEARCH_PR(runner.github)

    run = _search(runner, **{"comment-template": "Session {session_link}"})

    assert run.returncode == 1
    assert "{session_link}" in run.outputs["error"]
    assert run.outputs["outcome"] == "failed"
    assert runner.recoupable.requests == []
    assert runner.github.requests == []


def test_a_huge_template_stays_within_githubs_limit(runner: Runner) -> None:
    SEARCH_PR(runner.github)

    run = _search(runner, **{"comment-template": "{session_url}\n" + "x" * 70_000})

    assert run.returncode == 0, run.log
    [comment] = ours(runner.github, BASE, 12)
    assert len(comment["body"]) == 65_536
    record = CommentRecord(session_id=run.outputs["session-id"], chat_id=run.outputs["chat-id"])
    assert comment["body"].startswith(f"{marker(TAG, record)}\n{run.outputs['session-url']}\n")
    assert comment["body"].endswith("x\u2026")


# -- GitHub Enterprise Server ---------------------------------------------------------------------------------


def test_enterprise_server_base_url(
    action_in_process: RunAction, recoupable: RecoupableStandIn, github_standin: GitHubFactory
) -> None:
    github = github_standin(path_prefix="/api/v3")
    SEARCH_PR(github)
    runner = Runner(action_in_process, recoupable, github, env={"GITHUB_SERVER_URL": github.server_url})

    first = _search(runner)
    second = _search(runner)

    assert github.api_url == f"{github.server_url}/api/v3"
    comment = assert_sticky(second, github, BASE, 12, action="updated", server_url=github.server_url)
    assert first.outputs["comment-id"] == str(comment["id"])
    assert all(r.path.startswith(f"/api/v3/repos/{BASE}/issues/") for r in github.requests)
    assert runner.signatures() == [*FIRST_RUN, *COMMON_PATH]
    assert f"https://github.com/{BASE}" not in comment["body"]
