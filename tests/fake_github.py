"""An in-memory `GitHubApi` for one repository, for in-process tests of the comment logic through the flow's
`Seams.open_github`: pull requests and comments in dictionaries, GitHub's clock as a counter (a second per write),
every call recorded by name, and a hook to make another run race this one or to make GitHub fail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from recoup_session_action.context import EventFacts, facts_from_pull_request
from recoup_session_action.errors import GitHubGone
from recoup_session_action.event_payload import PullRequestPayload
from recoup_session_action.github_api import GitHubAccess, IssueComment

BOT = "github-actions[bot]"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class FakePull:
    number: int
    head_ref: str
    head_sha: str
    head_full_name: str
    base_full_name: str
    state: str = "open"
    title: str = "A pull request"

    def payload(self) -> PullRequestPayload:
        return PullRequestPayload.model_validate(
            {
                "number": self.number,
                "title": self.title,
                "head": {"ref": self.head_ref, "repo": {"full_name": self.head_full_name}},
                "base": {"ref": "main", "repo": {"full_name": self.base_full_name}},
            }
        )


@dataclass
class FakeGitHub:
    """GitHub as one token sees it: `login` writes the comments; `can_get_user` is False for GITHUB_TOKEN."""

    full_name: str = "octo-org/octo-app"
    login: str = BOT
    is_bot: bool = True
    can_get_user: bool = False
    pulls: dict[int, FakePull] = field(default_factory=dict)
    threads: dict[int, list[IssueComment]] = field(default_factory=dict)
    permissions: dict[str, str] = field(default_factory=dict)
    reactions: list[tuple[int, str]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    accesses: list[GitHubAccess] = field(default_factory=list)
    before_call: Callable[[str], None] | None = None  # runs before each call (to race or to fail)
    _last_id: int = 0
    _seconds: int = 0  # GitHub's clock: a second passes at each write

    def open(self, access: GitHubAccess) -> FakeGitHub:
        """`Seams.open_github`: remember how the flow asked to reach GitHub, and serve it from here."""
        self.accesses.append(access)
        return self

    def add_pull(
        self, number: int, head_ref: str, head_sha: str = "0" * 40, *, head: str = "", state: str = "open"
    ) -> None:
        self.pulls[number] = FakePull(number, head_ref, head_sha, head or self.full_name, self.full_name, state)

    def add_comment(self, number: int, body: str, *, login: str, is_bot: bool = False) -> IssueComment:
        self._last_id += 1
        written = self._tick()
        comment = IssueComment(
            id=self._last_id,
            body=body,
            html_url=f"https://github.com/{self.full_name}/pull/{number}#issuecomment-{self._last_id}",
            author=login,
            author_is_bot=is_bot,
            created_at=written,
            updated_at=written,
        )
        self.threads.setdefault(number, []).append(comment)
        return comment

    def bodies(self, number: int) -> list[str]:
        return [comment.body for comment in self.threads.get(number, [])]

    # -- GitHubApi --------------------------------------------------------------------------------------------

    def complete_facts(self, facts: EventFacts, number: int) -> EventFacts:
        self._call("complete_facts")
        if number not in self.pulls:
            raise GitHubGone("GitHub answered 404: Not Found")
        return facts_from_pull_request(facts, self.pulls[number].payload())

    def open_pull_for_commit(self, sha: str, head_full_name: str, branch: str) -> int | None:
        self._call("open_pull_for_commit")
        return self._first_open(head_full_name, branch, sha)

    def open_pull_for_branch(self, head_full_name: str, branch: str) -> int | None:
        self._call("open_pull_for_branch")
        return self._first_open(head_full_name, branch, None)

    def comments(self, number: int) -> list[IssueComment]:
        self._call("comments")
        return [self._seen(comment) for comment in self.threads.get(number, [])]

    def get_comment(self, comment_id: int) -> IssueComment:
        self._call("get_comment")
        return self._seen(self._find(comment_id)[1])

    def create_comment(self, number: int, body: str) -> IssueComment:
        self._call("create_comment")
        return self._seen(self.add_comment(number, body, login=self.login, is_bot=self.is_bot))

    def edit_comment(self, comment_id: int, body: str) -> IssueComment:
        self._call("edit_comment")
        thread, comment = self._find(comment_id)
        edited = comment._replace(body=body, updated_at=self._tick())
        thread[thread.index(comment)] = edited
        return self._seen(edited)

    def delete_comment(self, comment_id: int) -> None:
        self._call("delete_comment")
        for thread in self.threads.values():
            thread[:] = [kept for kept in thread if kept.id != comment_id]

    def react(self, comment_id: int, content: str) -> None:
        self._call("react")
        self.reactions.append((comment_id, content))

    def permission(self, login: str) -> str:
        self._call("permission")
        return self.permissions.get(login, "read")

    def token_login(self) -> str | None:
        self._call("token_login")
        return self.login if self.can_get_user else None

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.before_call is not None:
            self.before_call(name)

    def _tick(self) -> datetime:
        self._seconds += 1
        return EPOCH + timedelta(seconds=self._seconds)

    def _seen(self, comment: IssueComment) -> IssueComment:
        """As GitHub hands it out: with GitHub's time of the answer, so its age can be judged."""
        return comment._replace(seen_at=EPOCH + timedelta(seconds=self._seconds))

    def _find(self, comment_id: int) -> tuple[list[IssueComment], IssueComment]:
        for thread in self.threads.values():
            for comment in thread:
                if comment.id == comment_id:
                    return thread, comment
        raise GitHubGone("GitHub answered 404: Not Found")

    def _first_open(self, head_full_name: str, branch: str, sha: str | None) -> int | None:
        for pull in sorted(self.pulls.values(), key=lambda pull: pull.number):
            same_head = (pull.head_full_name, pull.head_ref) == (head_full_name, branch)
            if pull.state == "open" and same_head and (sha is None or pull.head_sha == sha):
                return pull.number
        return None
