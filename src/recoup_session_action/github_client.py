"""GitHub's REST API through PyGithub, as a `GitHubApi`: read a pull request, find one for a branch, list and
write comments. Only this module imports PyGithub, and the flow imports it only when GitHub is called, so runs
without a comment never pay for PyGithub's import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from github import Auth, Github, GithubException, GithubRetry
from pydantic import ValidationError

from . import USER_AGENT
from .context import EventFacts, PullRequestPayload, facts_from_pull_request
from .errors import GitHubError, GitHubGone
from .github_api import GitHubAccess, IssueComment
from .hints import GITHUB_AUTH_FIX, GITHUB_PERMISSION_FIX
from .text import one_line, redact

if TYPE_CHECKING:
    from datetime import datetime

    import github.IssueComment
    from github.PullRequest import PullRequest

T = TypeVar("T")
MAX_MESSAGE_LENGTH = 300


class GitHubRepo:
    """One repository on one GitHub (github.com or Enterprise Server), with PyGithub's retries.

    Every call that can reach the network goes through `_call`, so callers see only `GitHubError`, whose
    message never holds the token (or any other string in `secrets`).
    """

    def __init__(self, access: GitHubAccess) -> None:
        retry = GithubRetry(
            total=3,
            backoff_factor=0.5,
            secondary_rate_wait=min(60.0, access.timeout_seconds),
            max_rate_limit_wait=access.timeout_seconds,
            # Retries used up on a status: hand PyGithub the last answer, so the error names GitHub's status and
            # message instead of urllib3's "too many 500 error responses".
            raise_on_status=False,
        )
        self._api_url = access.api_url
        self._secrets = tuple(secret for secret in (access.token, *access.secrets) if secret)
        self._github = Github(
            auth=Auth.Token(access.token),
            base_url=access.api_url,
            per_page=100,
            timeout=max(1, int(access.timeout_seconds)),
            retry=retry,
            seconds_between_requests=None,
            seconds_between_writes=None,
            user_agent=USER_AGENT,
            lazy=True,
        )
        self._repo = self._github.get_repo(access.full_name)
        # PyGithub's objects of the comments seen, so editing or deleting one needs no request to find it again.
        self._seen: dict[int, github.IssueComment.IssueComment] = {}

    def complete_facts(self, facts: EventFacts, number: int) -> EventFacts:
        """An issue_comment on a pull request: learn the head repository and branch from the pull request."""

        def read() -> EventFacts:
            # PyGithub is lazy: the GET happens on the first attribute read, so it stays inside `_call`.
            raw = self._repo.get_pull(number).raw_data
            try:
                pull = PullRequestPayload.model_validate(raw)
            except ValidationError:
                raise GitHubError(f"GitHub's answer for pull request #{number} lacks its head or base") from None
            return facts_from_pull_request(facts, pull)

        return self._call(read)

    def open_pull_for_commit(self, sha: str, head_full_name: str, branch: str) -> int | None:
        """The open pull request whose head is `branch` in `head_full_name`, among those holding commit `sha`."""
        return self._call(lambda: _first_open(self._repo.get_commit(sha).get_pulls(), head_full_name, branch))

    def open_pull_for_branch(self, head_full_name: str, branch: str) -> int | None:
        owner = head_full_name.partition("/")[0]
        return self._call(
            lambda: _first_open(self._repo.get_pulls(state="open", head=f"{owner}:{branch}"), head_full_name, branch)
        )

    def comments(self, number: int, since: datetime | None = None) -> list[IssueComment]:
        """Every comment (all pages), oldest first; with `since`, those updated at or after it."""
        issue = self._repo.get_issue(number)
        found = self._call(lambda: list(issue.get_comments() if since is None else issue.get_comments(since=since)))
        return [self._record(comment) for comment in found]

    def create_comment(self, number: int, body: str) -> IssueComment:
        return self._record(self._call(lambda: self._repo.get_issue(number).create_comment(body)))

    def edit_comment(self, comment: IssueComment, body: str) -> None:
        self._call(lambda: self._seen[comment.id].edit(body))

    def delete_comment(self, comment: IssueComment) -> None:
        """Delete; a comment already gone (another run deleted it) is not an error."""
        try:
            self._call(self._seen[comment.id].delete)
        except GitHubGone:
            return

    def token_login(self) -> str | None:
        """The token's own user; None where GitHub will not say (GITHUB_TOKEN answers 403)."""
        try:
            return self._call(lambda: self._github.get_user().login)
        except GitHubError:
            return None

    def _record(self, comment: github.IssueComment.IssueComment) -> IssueComment:
        self._seen[comment.id] = comment
        user = comment.user
        return IssueComment(
            id=comment.id,
            body=comment.body or "",
            html_url=comment.html_url,
            author=user.login if user else None,
            author_is_bot=user is not None and user.type == "Bot",
            created_at=comment.created_at,
        )

    def _call(self, operation: Callable[[], T]) -> T:
        try:
            return operation()
        except GithubException as error:
            kind = GitHubGone if error.status == 404 else GitHubError
            raise kind(self._redact(_describe(error))) from None
        except OSError as error:  # requests' errors (connection refused, timeout, TLS) are OSErrors
            reason = type(error).__name__
            raise GitHubError(self._redact(f"could not reach GitHub at {self._api_url} ({reason})")) from None

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)


def _first_open(pulls: Iterable[PullRequest], head_full_name: str, branch: str) -> int | None:
    for pull in pulls:
        head_repo = pull.head.repo
        if pull.state == "open" and pull.head.ref == branch and head_repo and head_repo.full_name == head_full_name:
            return pull.number
    return None


def _describe(error: GithubException) -> str:
    """One line: GitHub's status and message (bounded), and the fix for the statuses that have one."""
    data = error.data if isinstance(error.data, dict) else {}
    parts = [str(data.get("message") or "")]
    errors = data.get("errors")
    if isinstance(errors, list):
        parts += [str(item.get("message") or "") for item in errors if isinstance(item, dict)]
    message = one_line(" ".join(" ".join(parts).split()), MAX_MESSAGE_LENGTH)
    text = f"GitHub answered {error.status}" + (f": {message}" if message else "")
    if error.status == 401:
        return f"{text}; {GITHUB_AUTH_FIX}"
    if error.status in {403, 404}:
        return f"{text}; {GITHUB_PERMISSION_FIX}"
    return text
