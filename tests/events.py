"""The project's own event payloads (`tests/fixtures/events/`), one per event kind of the runner contract, written
for this project with the fields GitHub sends that the action reads, and the `GITHUB_*` variables a runner sets
beside each. All happen in one repository, octo-org/octo-app, with one fork, forker/octo-app.

Each `EventFixture` also says what the action should make of it (`Expected`), so the context tests and the
end-to-end tests check the same facts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "events"
BASE = "octo-org/octo-app"
FORK = "forker/octo-app"
BASE_CLONE_URL = f"https://github.com/{BASE}.git"
FORK_CLONE_URL = f"https://github.com/{FORK}.git"
MERGE_SHA = "8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d"
PUSH_SHA = "3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"
SEARCH_SHA = "5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c"
TYPO_SHA = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
MAIN_SHA = "9f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b"


@dataclass(frozen=True)
class Expected:
    """What the action makes of an event before any GitHub call: where the session points, which pull request
    (or issue) it is about, or why there is no branch."""

    repository: str = BASE
    branch: str | None = None
    clone_url: str = BASE_CLONE_URL
    pr_number: int | None = None
    is_fork: bool = False
    is_issue: bool = False
    pull_request_to_fetch: int | None = None
    branch_deleted: bool = False


@dataclass(frozen=True)
class EventFixture:
    file: str
    event_name: str
    env: dict[str, str]
    expected: Expected

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((FIXTURES / self.file).read_text(encoding="utf-8"))
        return data

    def runner_env(self) -> dict[str, str]:
        """The `GITHUB_*` variables a runner sets for this event, the event name and repository included."""
        return {"GITHUB_EVENT_NAME": self.event_name, "GITHUB_REPOSITORY": BASE, **self.env}


def _ref(ref: str, sha: str, **extra: str) -> dict[str, str]:
    name = ref.removeprefix("refs/heads/").removeprefix("refs/tags/").removeprefix("refs/pull/")
    return {"GITHUB_REF": ref, "GITHUB_REF_NAME": name, "GITHUB_SHA": sha, **extra}


def _pull_ref(number: int, head: str) -> dict[str, str]:
    return _ref(f"refs/pull/{number}/merge", MERGE_SHA, GITHUB_HEAD_REF=head, GITHUB_BASE_REF="main")


SEARCH = Expected(branch="feature/search", pr_number=12)
TYPO = Expected(repository=FORK, branch="fix/typo", clone_url=FORK_CLONE_URL, pr_number=13, is_fork=True)

EVENTS: dict[str, EventFixture] = {
    fixture.file.removesuffix(".json"): fixture
    for fixture in (
        EventFixture("pull_request.json", "pull_request", _pull_ref(12, "feature/search"), SEARCH),
        EventFixture("pull_request.fork.json", "pull_request", _pull_ref(13, "fix/typo"), TYPO),
        EventFixture(
            "pull_request_target.json",
            "pull_request_target",
            _ref("refs/heads/main", MAIN_SHA, GITHUB_HEAD_REF="patch-1", GITHUB_BASE_REF="main"),
            Expected(repository=FORK, branch="patch-1", clone_url=FORK_CLONE_URL, pr_number=14, is_fork=True),
        ),
        EventFixture("pull_request_review.json", "pull_request_review", _pull_ref(12, "feature/search"), SEARCH),
        EventFixture(
            "pull_request_review_comment.json", "pull_request_review_comment", _pull_ref(12, "feature/search"), SEARCH
        ),
        EventFixture(
            "issue_comment.pull_request.json",
            "issue_comment",
            _ref("refs/heads/main", MAIN_SHA),
            Expected(branch=None, pull_request_to_fetch=13),
        ),
        EventFixture(
            "issue_comment.issue.json",
            "issue_comment",
            _ref("refs/heads/main", MAIN_SHA),
            Expected(branch="main", pr_number=5, is_issue=True),
        ),
        EventFixture("push.json", "push", _ref("refs/heads/main", PUSH_SHA), Expected(branch="main")),
        EventFixture(
            "push.tag.json", "push", _ref("refs/tags/v1.2.0", "4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a"), Expected()
        ),
        EventFixture(
            "push.deleted.json",
            "push",
            _ref("refs/heads/old-feature", "0" * 40),
            Expected(branch="old-feature", branch_deleted=True),
        ),
        EventFixture("release.json", "release", _ref("refs/tags/v1.2.0", MAIN_SHA), Expected()),
        EventFixture(
            "workflow_dispatch.json", "workflow_dispatch", _ref("refs/heads/main", MAIN_SHA), Expected(branch="main")
        ),
        EventFixture("schedule.json", "schedule", _ref("refs/heads/main", MAIN_SHA), Expected(branch="main")),
        EventFixture(
            "workflow_run.json",
            "workflow_run",
            _ref("refs/heads/main", MAIN_SHA),
            Expected(repository=FORK, branch="fix/typo", clone_url=FORK_CLONE_URL),
        ),
        EventFixture(
            "workflow_run.pull_request.json",
            "workflow_run",
            _ref("refs/heads/main", MAIN_SHA),
            Expected(branch="feature/search", pr_number=12),
        ),
        EventFixture(
            "merge_group.json",
            "merge_group",
            _ref("refs/heads/gh-readonly-queue/main/pr-12-" + MAIN_SHA, "7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b"),
            Expected(branch="gh-readonly-queue/main/pr-12-" + MAIN_SHA),
        ),
    )
}


def event(name: str) -> dict[str, Any]:
    """A fresh copy of one of our event payloads, by its name (the file name without `.json`)."""
    return EVENTS[name].payload()
