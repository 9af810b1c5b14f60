"""The seam to GitHub: what the action asks of it (`GitHubApi`), and the plain records it gets back.

The flow and the sticky-comment logic speak only to a `GitHubApi`. `github_client.GitHubRepo` is the real one
(PyGithub); tests may hand the flow any other. Nothing here imports PyGithub.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import NamedTuple, Protocol

from .context import EventFacts
from .text import redact


class IssueComment(NamedTuple):
    """A comment on an issue or pull request, as far as this action reads one."""

    id: int
    body: str
    html_url: str
    author: str | None
    author_is_bot: bool
    created_at: datetime | None
    updated_at: datetime | None = None
    seen_at: datetime | None = None
    """GitHub's own time (its `Date` header) when it gave this record: ages are measured on GitHub's clock."""

    @property
    def age_seconds(self) -> float | None:
        """Seconds since the comment was last written, by GitHub's clock; None where GitHub did not say."""
        written = self.updated_at or self.created_at
        if written is None or self.seen_at is None:
            return None
        return (self.seen_at - written).total_seconds()


class GitHubApi(Protocol):
    """What the action asks of GitHub, for one repository. Every method raises only `GitHubError`."""

    def complete_facts(self, facts: EventFacts, number: int) -> EventFacts: ...
    def open_pull_for_commit(self, sha: str, head_full_name: str, branch: str) -> int | None: ...
    def open_pull_for_branch(self, head_full_name: str, branch: str) -> int | None: ...
    def comments(self, number: int) -> list[IssueComment]: ...
    def get_comment(self, comment_id: int) -> IssueComment: ...
    def create_comment(self, number: int, body: str) -> IssueComment: ...
    def edit_comment(self, comment_id: int, body: str) -> IssueComment: ...
    def delete_comment(self, comment_id: int) -> None: ...
    def react(self, comment_id: int, content: str) -> None: ...
    def permission(self, login: str) -> str: ...
    def token_login(self) -> str | None: ...


class GitHubAccess(NamedTuple):
    """Where and as whom to reach GitHub: everything needed to open a `GitHubApi` for one repository."""

    api_url: str
    token: str
    full_name: str
    timeout_seconds: float
    secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:
        """Without the token and the secrets, wherever this ends up."""
        return f"GitHubAccess(api_url={self.api_url!r}, full_name={self.full_name!r})"


OpenGitHub = Callable[[GitHubAccess], GitHubApi]


class RedactingGitHub:
    """A `GitHubApi` that takes every secret, in any form (see `text.redact`), out of the comment bodies it writes:
    the last step before a public comment, whatever the body was made from."""

    def __init__(self, api: GitHubApi, secrets: Iterable[str]) -> None:
        self._api = api
        self._secrets = tuple(secret for secret in secrets if secret)

    def complete_facts(self, facts: EventFacts, number: int) -> EventFacts:
        return self._api.complete_facts(facts, number)

    def open_pull_for_commit(self, sha: str, head_full_name: str, branch: str) -> int | None:
        return self._api.open_pull_for_commit(sha, head_full_name, branch)

    def open_pull_for_branch(self, head_full_name: str, branch: str) -> int | None:
        return self._api.open_pull_for_branch(head_full_name, branch)

    def comments(self, number: int) -> list[IssueComment]:
        return self._api.comments(number)

    def get_comment(self, comment_id: int) -> IssueComment:
        return self._api.get_comment(comment_id)

    def create_comment(self, number: int, body: str) -> IssueComment:
        return self._api.create_comment(number, redact(body, self._secrets))

    def edit_comment(self, comment_id: int, body: str) -> IssueComment:
        return self._api.edit_comment(comment_id, redact(body, self._secrets))

    def delete_comment(self, comment_id: int) -> None:
        self._api.delete_comment(comment_id)

    def react(self, comment_id: int, content: str) -> None:
        self._api.react(comment_id, content)

    def permission(self, login: str) -> str:
        return self._api.permission(login)

    def token_login(self) -> str | None:
        return self._api.token_login()
