"""The sticky pull-request comment, end to end: the console script under a runner's environment against the
loopback Recoupable and GitHub stand-ins, driven by the real event payloads in ../shared (read in place).

Every test checks the exit code, the outputs, the comments that exist afterwards (count, author, marker, body),
the summary, that every GitHub request is a valid call of the REST subset, and that no secret leaks. Where the
issue asks for it, the exact GitHub requests are asserted: the common path (a run that finds its comment) is
one page of comments and one update; a first run adds a create and one re-read to settle a race.
"""

from __future__ import annotations

import copy
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from recoup_session_action.comment_body import marker
from recoup_session_action.standins.github import GitHubStandIn, RecordedRequest, TokenIdentity
from recoup_session_action.standins.recoupable import RecoupableStandIn

from .conftest import (
    API_KEY,
    FIXTURES,
    GITHUB_TOKEN,
    ActionRun,
    RunAction,
    assert_no_secret,
    fixture_event,
    shared_file,
)
from .rest_subset import check_requests, load_rest_subset

BOT = "github-actions[bot]"
TAG = "recoup-session"
MARKER = marker(TAG)
RUN_ID = "5741279673"  # GITHUB_RUN_ID as the harness sets it
PAT = "ghp_personal_access_token"
SANDBOX = "re-organization-sandbox/sandbox-repo"
HELLO = "Codertocat/Hello-World"
LIST = "GET /repos/{owner}/{repo}/issues/{issue_number}/comments"
CREATE = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"
UPDATE = "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}"
DELETE = "DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}"
GET_PULL = "GET /repos/{owner}/{repo}/pulls/{pull_number}"
LIST_PULLS = "GET /repos/{owner}/{repo}/pulls"
COMMIT_PULLS = "GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls"
GET_USER = "GET /user"
FIRST_RUN = (LIST, CREATE, LIST)  # list, create, re-read to settle a race
COMMON_PATH = (LIST, UPDATE)  # one page of comments + one update
ENV_NAMES = ("GITHUB_REF", "GITHUB_REF_NAME", "GITHUB_SHA", "GITHUB_REPOSITORY", "GITHUB_HEAD_REF", "GITHUB_BASE_REF")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*{}\[\]()#!|~])")
_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


@pytest.fixture(scope="module")
def rest_subset() -> dict[str, Any]:
    return load_rest_subset()


def fixture_env(relative: str) -> dict[str, str]:
    """The GITHUB_* values a real runner set for a captured run (`*.env.txt`), read in place."""
    text = shared_file(FIXTURES / "events" / relative).read_text(encoding="utf-8")
    pairs = (line.partition("=") for line in text.splitlines())
    return {name: value for name, _, value in pairs if name in ENV_NAMES}


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
    return [c for c in comments_on(github, full_name, number) if marker(tag) in c["body"] and c["user"]["login"] == BOT]


@dataclass
class Runner:
    """Runs the action against both stand-ins with the inputs and runner variables every test shares."""

    action_runner: RunAction
    recoupable: RecoupableStandIn
    github: GitHubStandIn
    rest_subset: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)

    def __call__(
        self, event_name: str, event: dict[str, Any], env: dict[str, str], token: str = GITHUB_TOKEN, **inputs: str
    ) -> ActionRun:
        run = self.action_runner(
            event_name=event_name,
            event=event,
            inputs={"api-key": API_KEY, "api-url": self.recoupable.url, "github-token": token, **inputs},
            env={"GITHUB_API_URL": self.github.api_url, **self.env, **env},
        )
        assert "Traceback" not in run.log
        assert_no_secret(run, API_KEY, GITHUB_TOKEN, PAT)
        for request in self.github.requests:
            assert request.headers["authorization"].partition(" ")[2] == token
            assert API_KEY not in repr(request)
        check_requests(self.github.requests, self.rest_subset, self.github.path_prefix)
        return run

    def signatures(self, since: int = 0) -> list[str]:
        """The GitHub requests made (after the first `since`), as "METHOD path-template"."""
        return check_requests(self.github.requests[since:], self.rest_subset, self.github.path_prefix)


@pytest.fixture
def runner(
    action_runner: RunAction, recoupable: RecoupableStandIn, github: GitHubStandIn, rest_subset: dict[str, Any]
) -> Runner:
    return Runner(action_runner, recoupable, github, rest_subset)


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
    assert body.startswith(marker(tag) + "\n")
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


@dataclass(frozen=True)
class EventCase:
    event_name: str
    event: Callable[[], dict[str, Any]]
    env: Callable[[], dict[str, str]]
    comment_on: tuple[str, int]  # the base repository and number that gets the comment
    session: tuple[str, str]  # repository and branch of the session
    seed: Seed
    lookup: tuple[str, ...] = ()  # GitHub requests made to find the pull request, before the comment's
    inputs: dict[str, str] = field(default_factory=dict)


def _pull(full_name: str, number: int, title: str, head_ref: str, head_sha: str, *, head: str = "") -> Seed:
    def seed(github: GitHubStandIn) -> None:
        github.add_pull(
            *split(full_name),
            number,
            title=title,
            head_ref=head_ref,
            head_sha=head_sha,
            head_full_name=head or full_name,
        )

    return seed


def _seed_push_pulls(github: GitHubStandIn) -> None:
    """Pull requests holding the pushed commit: only #7 is open with head main in this repository."""
    sha = "f02c2442f9cbc6fc5a14576dfeba6585adb43dd3"
    repo = split(SANDBOX)
    for number, ref, head, state in [
        (6, "main", SANDBOX, "closed"),
        (7, "main", SANDBOX, "open"),
        (8, "main", "forker/sandbox-repo", "open"),
        (9, "other", SANDBOX, "open"),
    ]:
        github.add_pull(
            *repo, number, title=f"PR {number}", head_ref=ref, head_sha=sha, head_full_name=head, state=state
        )


def _with_pull_requests(number: int | None) -> Callable[[], dict[str, Any]]:
    def event() -> dict[str, Any]:
        fork = {"full_name": "forker/octo-repo", "clone_url": "https://github.com/forker/octo-repo.git"}
        return {
            "action": "completed",
            "workflow_run": {
                "head_branch": "fix/typo",
                "head_sha": "c0ffee" * 6 + "c0ff",
                "head_repository": fork if number is None else {"full_name": "octo-org/octo-repo"},
                "pull_requests": [] if number is None else [{"number": number}],
            },
            "repository": {"full_name": "octo-org/octo-repo", "default_branch": "main"},
            "sender": {"login": "octocat"},
        }

    return event


def _event_as(relative: str) -> Callable[[], dict[str, Any]]:
    return lambda: fixture_event(relative)


def _env(relative: str) -> Callable[[], dict[str, str]]:
    return lambda: fixture_env(relative)


def _fixed(**values: str) -> Callable[[], dict[str, str]]:
    return lambda: {f"GITHUB_{name.upper()}": value for name, value in values.items()}


SANDBOX_PR = _pull(SANDBOX, 1, "Update README.md", "demo-pr-branch", "cdbf56318871fe9555b41b0b6cb084c759aa768f")
HELLO_PR = _pull(
    "Codertocat/Hello-World", 2, "Update the README", "changes", "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
)
MENDER_FORK_PR = _pull(
    "mendersoftware/workflows", 140, "Improve logging", "men-4705", "7b099b8", head="tranchitella/workflows"
)
WORKFLOW_RUN_PR = _pull("octo-org/octo-repo", 31, "Fix typo", "fix/typo", "c0ffee", head="forker/octo-repo")

EVENT_CASES = {
    "pull_request": EventCase(
        "pull_request",
        _event_as("pull_request/opened.event.json"),
        _env("pull_request/opened.env.txt"),
        (SANDBOX, 1),
        (SANDBOX, "demo-pr-branch"),
        SANDBOX_PR,
    ),
    "pull_request_target": EventCase(
        "pull_request_target",
        _event_as("pull_request_target/opened.event.json"),
        _env("pull_request_target/opened.env.txt"),
        (SANDBOX, 1),
        (SANDBOX, "demo-pr-branch"),
        SANDBOX_PR,
    ),
    "pull_request_target-from-fork": EventCase(
        "pull_request_target",
        _event_as("pull_request/opened.from-fork.json"),
        _fixed(repository="mendersoftware/workflows", ref="refs/heads/master", sha="a" * 40),
        ("mendersoftware/workflows", 140),
        ("tranchitella/workflows", "men-4705"),
        MENDER_FORK_PR,
    ),
    # No captured review payloads: GitHub sends them with the same `pull_request` object as below.
    "pull_request_review": EventCase(
        "pull_request_review",
        _event_as("pull_request/synchronize.payload.json"),
        _fixed(repository="Codertocat/Hello-World", ref="refs/pull/2/merge", sha="b" * 40),
        ("Codertocat/Hello-World", 2),
        ("Codertocat/Hello-World", "changes"),
        HELLO_PR,
    ),
    "pull_request_review_comment": EventCase(
        "pull_request_review_comment",
        _event_as("pull_request/synchronize.payload.json"),
        _fixed(repository="Codertocat/Hello-World", ref="refs/pull/2/merge", sha="b" * 40),
        ("Codertocat/Hello-World", 2),
        ("Codertocat/Hello-World", "changes"),
        HELLO_PR,
    ),
    # The commenter is a CONTRIBUTOR: allowed here on purpose (the default gate is tested below).
    "issue_comment-on-pull-request": EventCase(
        "issue_comment",
        _event_as("issue_comment/created.on-pull-request.json"),
        _fixed(repository="mendersoftware/mender-configure-module", ref="refs/heads/master", sha="d" * 40),
        ("mendersoftware/mender-configure-module", 145),
        ("lluiscampos/mender-configure-module", "ci/dummy-pr"),
        _pull(
            "mendersoftware/mender-configure-module",
            145,
            "ci: Dummy PR to capture webhook",
            "ci/dummy-pr",
            "e" * 40,
            head="lluiscampos/mender-configure-module",
        ),
        lookup=(GET_PULL,),
        inputs={"allowed-associations": "OWNER,MEMBER,COLLABORATOR,CONTRIBUTOR"},
    ),
    "issue_comment-on-issue": EventCase(
        "issue_comment",
        _event_as("issue_comment/created.on-issue.payload.json"),
        _fixed(repository="Codertocat/Hello-World", ref="refs/heads/master", sha="f" * 40),
        ("Codertocat/Hello-World", 1),
        ("Codertocat/Hello-World", "master"),
        lambda github: github.add_issue("Codertocat", "Hello-World", 1, title="Spelling error in the README file"),
    ),
    "push": EventCase(
        "push",
        _event_as("push/branch-main.event.json"),
        _env("push/branch-main.env.txt"),
        (SANDBOX, 7),
        (SANDBOX, "main"),
        _seed_push_pulls,
        lookup=(COMMIT_PULLS,),
    ),
    "workflow_dispatch": EventCase(
        "workflow_dispatch",
        _event_as("workflow_dispatch/payload.json"),
        _fixed(repository="octo-org/octo-repo", ref="refs/heads/master", ref_name="master", sha="1" * 40),
        ("octo-org/octo-repo", 12),
        ("octo-org/octo-repo", "master"),
        _pull("octo-org/octo-repo", 12, "Dispatch me", "master", "1" * 40),
        lookup=(COMMIT_PULLS,),
    ),
    "workflow_run-with-pull-request": EventCase(
        "workflow_run",
        _with_pull_requests(30),
        _fixed(repository="octo-org/octo-repo", ref="refs/heads/main", sha="2" * 40),
        ("octo-org/octo-repo", 30),
        ("octo-org/octo-repo", "fix/typo"),
        _pull("octo-org/octo-repo", 30, "Fix typo", "fix/typo", "c0ffee"),
    ),
    "workflow_run-from-fork": EventCase(
        "workflow_run",
        _with_pull_requests(None),
        _fixed(repository="octo-org/octo-repo", ref="refs/heads/main", sha="2" * 40),
        ("octo-org/octo-repo", 31),
        ("forker/octo-repo", "fix/typo"),
        WORKFLOW_RUN_PR,
        lookup=(LIST_PULLS,),
    ),
}


@pytest.mark.parametrize("case", EVENT_CASES.values(), ids=EVENT_CASES.keys())
def test_each_event_comments_on_its_pull_request(runner: Runner, case: EventCase) -> None:
    case.seed(runner.github)

    run = runner(case.event_name, case.event(), case.env(), **case.inputs)

    assert_session(run, runner.recoupable, *case.session)
    comment = assert_sticky(run, runner.github, *case.comment_on)
    assert f"| Repository | {escaped(case.session[0])} |" in comment["body"]
    assert f"| Branch | {escaped(case.session[1])} |" in comment["body"]
    assert runner.signatures() == [*case.lookup, *FIRST_RUN]
    assert len(comments_on(runner.github, *case.comment_on)) == 1


def test_push_lookup_ignores_closed_forked_and_other_branch_pulls(runner: Runner) -> None:
    _seed_push_pulls(runner.github)

    run = runner("push", fixture_event("push/branch-main.event.json"), fixture_env("push/branch-main.env.txt"))

    assert_sticky(run, runner.github, SANDBOX, 7)
    for other in (6, 8, 9):
        assert comments_on(runner.github, SANDBOX, other) == []
    sha = fixture_env("push/branch-main.env.txt")["GITHUB_SHA"]
    assert runner.github.requests[0].path == f"/repos/{SANDBOX}/commits/{sha}/pulls"


def test_schedule_without_an_open_pull_request_makes_no_comment(runner: Runner) -> None:
    env = fixture_env("schedule/schedule.env.txt")
    runner.github.add_pull(
        *split(SANDBOX),
        3,
        title="Merged",
        head_ref="main",
        head_sha=env["GITHUB_SHA"],
        head_full_name=SANDBOX,
        state="closed",
    )

    run = runner("schedule", fixture_event("schedule/schedule.event.json"), env)

    assert_session(run, runner.recoupable, SANDBOX, "main")
    assert_no_comment(run, runner.github, "none: no open pull request has branch main of")
    assert run.outputs["pr-number"] == ""
    assert comments_on(runner.github, SANDBOX, 3) == []
    assert runner.signatures() == [COMMIT_PULLS]


@pytest.mark.parametrize(
    ("event_name", "relative", "env", "note"),
    [
        ("push", "push/tag.payload.json", {"GITHUB_REF": "refs/tags/v0.0.1"}, "none: a tag is about no pull request"),
        ("release", "release/published.payload.json", {"GITHUB_REF": "refs/tags/0.0.1"}, "none: a release event"),
        (
            "merge_group",
            "merge_group/checks_requested.payload.json",
            {"GITHUB_REF": "refs/heads/gh-readonly-queue/main/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64"},
            "none: a merge_group event",
        ),
    ],
    ids=["tag", "release", "merge_group"],
)
def test_tags_releases_and_merge_groups_never_comment(
    runner: Runner, event_name: str, relative: str, env: dict[str, str], note: str
) -> None:
    event = fixture_event(relative)
    repository = event["repository"]["full_name"]
    # Even an open pull request whose head is the session's branch does not draw a comment.
    runner.github.add_pull(
        *split(repository), 5, title="Open", head_ref="main", head_sha="0" * 40, head_full_name=repository
    )
    inputs = {} if event_name == "merge_group" else {"branch": "main"}

    run = runner(event_name, event, {"GITHUB_REPOSITORY": repository, "GITHUB_SHA": "0" * 40, **env}, **inputs)

    assert run.outputs["outcome"] == "created"
    assert_no_comment(run, runner.github, note)
    assert runner.github.requests == []


def test_issue_comment_from_a_none_association_makes_no_session(runner: Runner) -> None:
    event = copy.deepcopy(fixture_event("issue_comment/created.on-pull-request.json"))
    event["comment"]["author_association"] = "NONE"
    event["comment"]["user"]["login"] = "drive-by"

    run = runner("issue_comment", event, {"GITHUB_REPOSITORY": "mendersoftware/mender-configure-module"})

    assert run.returncode == 0, run.log
    assert run.outputs["skipped"] == "true"
    assert run.outputs["outcome"] == "skipped"
    [notice] = [line for line in run.stdout.splitlines() if line.startswith("::notice")]
    assert "drive-by" in notice
    assert "NONE" in notice
    assert runner.recoupable.requests == []
    assert runner.github.requests == []
    assert "### Recoupable session skipped" in run.summary


def test_issue_comment_by_a_contributor_is_refused_by_default(runner: Runner) -> None:
    run = runner(
        "issue_comment",
        fixture_event("issue_comment/created.on-pull-request.json"),
        {"GITHUB_REPOSITORY": "mendersoftware/mender-configure-module"},
    )

    assert run.returncode == 0, run.log
    assert run.outputs["skipped"] == "true"
    assert "CONTRIBUTOR" in run.stdout
    assert runner.recoupable.requests == []
    assert runner.github.requests == []


# -- one sticky comment ---------------------------------------------------------------------------------------

HELLO_ENV = {"GITHUB_REPOSITORY": HELLO, "GITHUB_REF": "refs/pull/2/merge", "GITHUB_SHA": "b" * 40}


def _hello(runner: Runner, **inputs: str) -> ActionRun:
    return runner("pull_request", fixture_event("pull_request/opened.payload.json"), HELLO_ENV, **inputs)


def test_second_run_updates_the_comment_in_two_requests(runner: Runner) -> None:
    HELLO_PR(runner.github)
    first = _hello(runner)
    created = assert_sticky(first, runner.github, HELLO, 2)
    assert runner.signatures() == list(FIRST_RUN)
    seen = len(runner.github.requests)

    second = _hello(runner)

    updated = assert_sticky(second, runner.github, HELLO, 2, action="updated")
    assert updated["id"] == created["id"]
    assert second.outputs["session-id"] != first.outputs["session-id"]
    assert first.outputs["session-id"] not in updated["body"]
    assert runner.signatures(seen) == list(COMMON_PATH)  # the common path: one page + one update
    patch = runner.github.requests[-1]
    assert patch.path == f"/repos/{HELLO}/issues/comments/{created['id']}"
    assert patch.body == {"body": updated["body"]}
    assert len(comments_on(runner.github, HELLO, 2)) == 1


def test_more_than_100_comments_are_paged_and_the_newest_of_ours_updated(runner: Runner) -> None:
    HELLO_PR(runner.github)
    owner, name = split(HELLO)
    for i in range(160):
        if i == 3:
            old = runner.github.add_comment(owner, name, 2, f"{MARKER}\nold", login=BOT, user_type="Bot")
        elif i == 130:
            newest = runner.github.add_comment(owner, name, 2, f"{MARKER}\nnewer", login=BOT, user_type="Bot")
        elif i == 140:
            runner.github.add_comment(owner, name, 2, f"{marker('other')}\nother tag", login=BOT, user_type="Bot")
        else:
            runner.github.add_comment(owner, name, 2, f"review comment {i}", login="reviewer")

    run = _hello(runner)

    assert run.returncode == 0, run.log
    assert run.outputs["comment-id"] == str(newest)
    by_id = {c["id"]: c for c in comments_on(runner.github, HELLO, 2)}
    assert len(by_id) == 160
    assert by_id[old]["body"] == f"{MARKER}\nold"
    assert by_id[newest]["body"].startswith(MARKER)
    assert f"[Open the session]({run.outputs['session-url']})" in by_id[newest]["body"]
    assert runner.signatures() == [LIST, LIST, UPDATE]
    assert [r.query for r in runner.github.requests[:2]] == [{"per_page": "100"}, {"per_page": "100", "page": "2"}]
    assert f"Pull-request comment updated: [view it]({by_id[newest]['html_url']})" in run.summary


def test_two_tags_keep_two_comments(runner: Runner) -> None:
    HELLO_PR(runner.github)

    alpha = _hello(runner, **{"comment-tag": "alpha"})
    first = assert_sticky(alpha, runner.github, HELLO, 2, tag="alpha")
    beta = _hello(runner, **{"comment-tag": "beta"})
    assert_sticky(beta, runner.github, HELLO, 2, tag="beta")
    seen = len(runner.github.requests)
    alpha_again = _hello(runner, **{"comment-tag": "alpha"})

    again = assert_sticky(alpha_again, runner.github, HELLO, 2, tag="alpha", action="updated")
    assert again["id"] == first["id"]
    assert alpha_again.outputs["comment-id"] != beta.outputs["comment-id"]
    assert len(comments_on(runner.github, HELLO, 2)) == 2
    assert runner.signatures(seen) == list(COMMON_PATH)


def test_create_mode_adds_a_comment_every_run(runner: Runner) -> None:
    HELLO_PR(runner.github)

    first = _hello(runner, comment="create")
    second = _hello(runner, comment="create")

    comments = ours(runner.github, HELLO, 2)
    assert [c["id"] for c in comments] == [int(first.outputs["comment-id"]), int(second.outputs["comment-id"])]
    assert all(c["user"]["login"] == BOT for c in comments)
    for run, comment in zip((first, second), comments, strict=True):
        assert run.returncode == 0
        assert f"[Open the session]({run.outputs['session-url']})" in comment["body"]
        assert run.outputs["comment-url"] == comment["html_url"]
        assert f"Pull-request comment created: [view it]({comment['html_url']})" in run.summary
    assert runner.signatures() == [CREATE, CREATE]


def test_off_mode_makes_no_github_call(runner: Runner) -> None:
    HELLO_PR(runner.github)

    run = _hello(runner, comment="off")

    assert_session(run, runner.recoupable, HELLO, "changes")
    assert_no_comment(run, runner.github, "comment is off")
    assert run.outputs["pr-number"] == "2"
    assert runner.github.requests == []
    assert comments_on(runner.github, HELLO, 2) == []


def test_no_github_token_skips_the_comment_with_a_notice(runner: Runner) -> None:
    HELLO_PR(runner.github)

    run = _hello(runner, token="")

    assert_session(run, runner.recoupable, HELLO, "changes")
    assert_no_comment(run, runner.github, "github-token is empty")
    assert any(line.startswith("::notice") and "github-token" in line for line in run.stdout.splitlines())
    assert runner.github.requests == []


def test_pr_number_input_overrides_the_lookup(runner: Runner) -> None:
    _seed_push_pulls(runner.github)

    run = runner(
        "push",
        fixture_event("push/branch-main.event.json"),
        fixture_env("push/branch-main.env.txt"),
        **{"pr-number": "9"},
    )

    assert_sticky(run, runner.github, SANDBOX, 9)
    assert comments_on(runner.github, SANDBOX, 7) == []
    assert runner.signatures() == list(FIRST_RUN)


# -- whose comment is ours ----------------------------------------------------------------------------------


def test_a_pasted_marker_is_never_taken_over(runner: Runner) -> None:
    HELLO_PR(runner.github)
    pasted = runner.github.add_comment(*split(HELLO), 2, f"{MARKER}\nlook, I can paste it", login="mallory")

    run = _hello(runner)

    comment = assert_sticky(run, runner.github, HELLO, 2)
    assert comment["id"] != pasted
    [theirs] = [c for c in comments_on(runner.github, HELLO, 2) if c["id"] == pasted]
    assert theirs["body"] == f"{MARKER}\nlook, I can paste it"
    assert theirs["user"]["login"] == "mallory"
    # GET /user answers 403 to GITHUB_TOKEN: asked (a person's comment has the marker), not depended on.
    assert runner.signatures() == [LIST, GET_USER, *FIRST_RUN[1:]]


def test_a_personal_token_updates_its_own_users_comment(
    action_runner: RunAction, recoupable: RecoupableStandIn, rest_subset: dict[str, Any]
) -> None:
    tokens = {PAT: TokenIdentity("octocat", "User", can_get_user=True)}
    with GitHubStandIn(tokens) as github:
        HELLO_PR(github)
        mine = github.add_comment(*split(HELLO), 2, f"{MARKER}\nmine", login="octocat")
        theirs = github.add_comment(*split(HELLO), 2, f"{MARKER}\ntheirs", login="mallory")
        runner = Runner(action_runner, recoupable, github, rest_subset)

        run = _hello(runner, token=PAT)

        assert run.returncode == 0, run.log
        assert run.outputs["comment-id"] == str(mine)
        by_id = {c["id"]: c for c in comments_on(github, HELLO, 2)}
        assert f"[Open the session]({run.outputs['session-url']})" in by_id[mine]["body"]
        assert by_id[theirs]["body"] == f"{MARKER}\ntheirs"
        assert runner.signatures() == [LIST, GET_USER, UPDATE]


class RacingStandIn(GitHubStandIn):
    """Another run of the same workflow posts its comment just after this run's `trigger` request."""

    def __init__(self, trigger: str) -> None:
        super().__init__()
        self.trigger = trigger
        self.racer: int | None = None

    def _respond(self, request: RecordedRequest) -> Any:
        response = super()._respond(request)
        if self.racer is None and request.method == self.trigger and request.path.endswith("/comments"):
            self.racer = self.add_comment(*split(HELLO), 2, f"{MARKER}\nthe other run", login=BOT, user_type="Bot")
        return response


@pytest.fixture
def racing_runner(
    request: pytest.FixtureRequest,
    action_runner: RunAction,
    recoupable: RecoupableStandIn,
    rest_subset: dict[str, Any],
) -> Iterator[tuple[Runner, RacingStandIn]]:
    github = RacingStandIn(request.param)
    with github:
        HELLO_PR(github)
        yield Runner(action_runner, recoupable, github, rest_subset), github


@pytest.mark.parametrize("racing_runner", ["GET"], indirect=True)
def test_race_lost_keeps_the_older_comment_and_deletes_ours(racing_runner: tuple[Runner, RacingStandIn]) -> None:
    runner, github = racing_runner

    run = _hello(runner)

    comment = assert_sticky(run, github, HELLO, 2, action="updated")
    assert comment["id"] == github.racer
    assert "the other run" not in comment["body"]
    assert len(comments_on(github, HELLO, 2)) == 1
    created = github.requests[1]
    deleted = github.requests[-1]
    assert created.method == "POST"
    assert deleted.method == "DELETE"
    assert runner.signatures() == [*FIRST_RUN, UPDATE, DELETE]
    assert github.requests[2].query.get("since", "").endswith("Z")


@pytest.mark.parametrize("racing_runner", ["POST"], indirect=True)
def test_race_won_keeps_ours_and_deletes_the_newer(racing_runner: tuple[Runner, RacingStandIn]) -> None:
    runner, github = racing_runner

    run = _hello(runner)

    comment = assert_sticky(run, github, HELLO, 2)
    assert comment["id"] != github.racer
    assert len(comments_on(github, HELLO, 2)) == 1
    assert runner.signatures() == [*FIRST_RUN, DELETE]
    assert github.requests[-1].path == f"/repos/{HELLO}/issues/comments/{github.racer}"


# -- failures never lose the session --------------------------------------------------------------------------


@pytest.mark.parametrize(("fail", "code"), [("false", 0), ("true", 1)])
def test_read_only_token_warns_with_the_fix(
    action_runner: RunAction, recoupable: RecoupableStandIn, rest_subset: dict[str, Any], fail: str, code: int
) -> None:
    tokens = {GITHUB_TOKEN: TokenIdentity(BOT, "Bot", read_only=True)}
    with GitHubStandIn(tokens) as github:
        github.add_pull(
            "super-linter",
            "super-linter",
            6637,
            title="fix",
            head_ref="feature/filter-regex-exclude-composer",
            head_sha="pull-request-head-sha",
            head_full_name="WorkOfStan/super-linter",
        )
        runner = Runner(action_runner, recoupable, github, rest_subset)

        run = runner(
            "pull_request",
            fixture_event("pull_request/synchronize.from-fork.actions-event.json"),
            {"GITHUB_REPOSITORY": "super-linter/super-linter", "GITHUB_REF": "refs/pull/6637/merge"},
            **{"fail-on-comment-error": fail},
        )

        assert run.returncode == code, run.log
        kind = "::error" if code else "::warning"
        [line] = [line for line in run.stdout.splitlines() if line.startswith(("::warning", "::error"))]
        assert line.startswith(kind)
        assert "The session was created, but the pull-request comment failed: GitHub answered 403" in line
        assert "Resource not accessible by integration" in line
        assert "permissions: pull-requests: write" in line
        assert "workflow_run" in line
        assert_session(run, recoupable, "WorkOfStan/super-linter", "feature/filter-regex-exclude-composer")
        assert (run.outputs["comment-id"], run.outputs["comment-url"]) == ("", "")
        assert run.outputs["pr-number"] == "6637"
        assert "Pull-request comment: GitHub answered 403" in run.summary
        assert comments_on(github, "super-linter/super-linter", 6637) == []
        assert runner.signatures() == [LIST, CREATE]  # a 403 that is not a rate limit is not retried


def test_github_unreachable_keeps_the_session(runner: Runner) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"

    run = runner(
        "pull_request", fixture_event("pull_request/opened.payload.json"), {**HELLO_ENV, "GITHUB_API_URL": closed}
    )

    assert run.returncode == 0, run.log
    assert_session(run, runner.recoupable, HELLO, "changes")
    [warning] = [line for line in run.stdout.splitlines() if line.startswith("::warning")]
    assert f"the pull-request comment failed: could not reach GitHub at {closed} (ConnectionError)" in warning
    assert (run.outputs["comment-id"], run.outputs["comment-url"]) == ("", "")
    assert "Pull-request comment: could not reach GitHub" in run.summary


def test_issue_comment_on_an_unreadable_pull_request_fails_in_one_line(runner: Runner) -> None:
    event = fixture_event("issue_comment/created.on-pull-request.json")

    run = runner(
        "issue_comment",
        event,
        {"GITHUB_REPOSITORY": "mendersoftware/mender-configure-module"},
        **{"allowed-associations": "CONTRIBUTOR"},
    )

    assert run.returncode == 1, run.log
    [error] = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert "could not read pull request #145: GitHub answered 404: Not Found" in error
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
    event = copy.deepcopy(fixture_event("pull_request/opened.payload.json"))
    event["pull_request"]["head"]["ref"] = CRAFTED_BRANCH
    event["pull_request"]["title"] = CRAFTED_TITLE
    runner.github.add_pull(
        *split(HELLO), 2, title=CRAFTED_TITLE, head_ref=CRAFTED_BRANCH, head_sha="0" * 40, head_full_name=HELLO
    )

    run = runner("pull_request", event, HELLO_ENV)

    assert_session(run, runner.recoupable, HELLO, CRAFTED_BRANCH)
    comment = assert_sticky(run, runner.github, HELLO, 2)
    second = runner("pull_request", event, HELLO_ENV)  # the crafted text does not hide our marker either
    assert assert_sticky(second, runner.github, HELLO, 2, action="updated")["id"] == comment["id"]
    body = ours(runner.github, HELLO, 2)[0]["body"]
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
    HELLO_PR(runner.github)
    template = (
        "Agent on {branch} of {repository}: {status}\n"
        "[open]({session_url}) session {session_id} chat {chat_id} ([run]({run_url})) {session_id}"
    )

    run = _hello(runner, **{"comment-template": template})

    assert run.returncode == 0, run.log
    [comment] = ours(runner.github, HELLO, 2)
    session_id, chat_id = run.outputs["session-id"], run.outputs["chat-id"]
    assert comment["body"] == (
        f"{MARKER}\nAgent on changes of Codertocat/Hello-World: running\n"
        f"[open]({run.outputs['session-url']}) session {session_id} chat {chat_id} "
        f"([run](https://github.com/{HELLO}/actions/runs/{RUN_ID})) {session_id}"
    )
    assert run.outputs["comment-id"] == str(comment["id"])


def test_unknown_template_placeholder_is_an_input_error(runner: Runner) -> None:
    HELLO_PR(runner.github)

    run = _hello(runner, **{"comment-template": "Session {session_link}"})

    assert run.returncode == 1
    assert "{session_link}" in run.outputs["error"]
    assert run.outputs["outcome"] == "failed"
    assert runner.recoupable.requests == []
    assert runner.github.requests == []


def test_a_huge_template_stays_within_githubs_limit(runner: Runner) -> None:
    HELLO_PR(runner.github)

    run = _hello(runner, **{"comment-template": "{session_url}\n" + "x" * 70_000})

    assert run.returncode == 0, run.log
    [comment] = ours(runner.github, HELLO, 2)
    assert len(comment["body"]) == 65_536
    assert comment["body"].startswith(f"{MARKER}\n{run.outputs['session-url']}\n")
    assert comment["body"].endswith("x\u2026")


# -- GitHub Enterprise Server ---------------------------------------------------------------------------------


def test_enterprise_server_base_url(
    action_runner: RunAction, recoupable: RecoupableStandIn, rest_subset: dict[str, Any]
) -> None:
    with GitHubStandIn(path_prefix="/api/v3") as github:
        HELLO_PR(github)
        runner = Runner(action_runner, recoupable, github, rest_subset, env={"GITHUB_SERVER_URL": github.server_url})

        first = _hello(runner)
        second = _hello(runner)

        assert github.api_url == f"{github.server_url}/api/v3"
        comment = assert_sticky(second, github, HELLO, 2, action="updated", server_url=github.server_url)
        assert first.outputs["comment-id"] == str(comment["id"])
        assert all(r.path.startswith(f"/api/v3/repos/{HELLO}/issues/") for r in github.requests)
        assert runner.signatures() == [*FIRST_RUN, *COMMON_PATH]
        assert f"https://github.com/{HELLO}" not in comment["body"]
