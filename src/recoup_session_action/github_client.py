"""GitHub's REST API through PyGithub, as a `GitHubApi`: read a pull request, find one for a branch, list and
write comments. Only this module imports PyGithub, and the flow imports it only when GitHub is called, so runs
without a comment never pay for PyGithub's import.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import requests
from github import Auth, Github, GithubException, GithubRetry
from github.Requester import HTTPRequestsConnectionClass, HTTPSRequestsConnectionClass, Requester
from pydantic import ValidationError

from . import USER_AGENT
from .context import EventFacts, facts_from_pull_request
from .deadline import Budget, DeadlineExceeded
from .errors import GitHubError, GitHubGone
from .event_payload import PullRequestPayload
from .github_api import GitHubAccess, IssueComment
from .hints import GITHUB_AUTH_FIX, GITHUB_PERMISSION_FIX
from .pacing import REAL_PACING
from .text import one_line, redact

if TYPE_CHECKING:
    from github.PullRequest import PullRequest

T = TypeVar("T")
MAX_ANSWER_BYTES = 32 * 1024 * 1024
"""The most an answer from GitHub may take once decoded (a page of 100 comments of 65,536 characters is 26 MiB)."""
MAX_MESSAGE_LENGTH = 300


class GitHubRepo:
    """One repository on one GitHub (github.com or Enterprise Server), with PyGithub's retries.

    Every call that can reach the network goes through `_call`, so callers see only `GitHubError`, whose
    message never holds the token (or any other string in `secrets`).
    """

    def __init__(
        self,
        access: GitHubAccess,
        *,
        verify: str | bool = True,
        backoff_factor: float = REAL_PACING.github_backoff_factor,
    ) -> None:
        """`verify`: the CA file requests checks certificates with (see `network`), or True for its default;
        `backoff_factor`: urllib3's, for the pauses between retries (see `pacing`)."""
        retry = GithubRetry(
            total=3,
            backoff_factor=backoff_factor,
            secondary_rate_wait=min(60.0, access.timeout_seconds),
            max_rate_limit_wait=access.timeout_seconds,
            # Retries used up on a status: hand PyGithub the last answer, so the error names GitHub's status and
            # message instead of urllib3's "too many 500 error responses".
            raise_on_status=False,
        )
        self._api_url = access.api_url
        self._secrets = tuple(secret for secret in (access.token, *access.secrets) if secret)
        self._budget = Budget(access.timeout_seconds)
        self._github = Github(
            auth=Auth.Token(access.token),
            base_url=access.api_url,
            per_page=100,
            timeout=max(1, int(access.timeout_seconds)),
            retry=retry,
            seconds_between_requests=None,
            seconds_between_writes=None,
            user_agent=USER_AGENT,
            verify=verify,
            lazy=True,
        )
        self._repo = self._github.get_repo(access.full_name)
        self._repo_path = f"/repos/{access.full_name}"
        self._login: tuple[str | None] | None = None

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

    def comments(self, number: int) -> list[IssueComment]:
        """Every comment (all pages of 100), oldest first."""
        url: str | None = f"{self._repo_path}/issues/{number}/comments?per_page=100"
        found: list[IssueComment] = []
        while url is not None:
            headers, data = self._request("GET", url)
            seen_at = _date(headers)
            found += [_comment(item, seen_at) for item in data if isinstance(item, dict)]
            url = _next_page(headers)
        return found

    def get_comment(self, comment_id: int) -> IssueComment:
        headers, data = self._request("GET", f"{self._repo_path}/issues/comments/{comment_id}")
        return _comment(data, _date(headers))

    def create_comment(self, number: int, body: str) -> IssueComment:
        headers, data = self._request("POST", f"{self._repo_path}/issues/{number}/comments", {"body": body})
        return _comment(data, _date(headers))

    def edit_comment(self, comment_id: int, body: str) -> IssueComment:
        """Edit; GitHubGone if the comment was deleted meanwhile."""
        headers, data = self._request("PATCH", f"{self._repo_path}/issues/comments/{comment_id}", {"body": body})
        return _comment(data, _date(headers))

    def delete_comment(self, comment_id: int) -> None:
        """Delete; a comment already gone (another run deleted it) is not an error."""
        try:
            self._request("DELETE", f"{self._repo_path}/issues/comments/{comment_id}")
        except GitHubGone:
            return

    def react(self, comment_id: int, content: str) -> None:
        self._request("POST", f"{self._repo_path}/issues/comments/{comment_id}/reactions", {"content": content})

    def permission(self, login: str) -> str:
        """The user's permission on the repository: admin, write, read or none (maintain reads as write)."""
        path = f"{self._repo_path}/collaborators/{quote(login, safe='')}/permission"
        _, data = self._request("GET", path)
        permission = data.get("permission") if isinstance(data, dict) else None
        return permission if isinstance(permission, str) else "none"

    def token_login(self) -> str | None:
        """The token's own user; None where GitHub will not say (GITHUB_TOKEN answers 403). Asked once."""
        if self._login is None:
            try:
                self._login = (self._call(lambda: self._github.get_user().login),)
            except GitHubError:
                self._login = (None,)
        return self._login[0]

    def _request(self, method: str, url: str, body: dict[str, str] | None = None) -> tuple[dict[str, Any], Any]:
        """One REST call through PyGithub's requester (its retries, its GHES prefix): headers and JSON."""
        requester = self._github.requester
        return self._call(lambda: requester.requestJsonAndCheck(method, url, input=body))

    def _call(self, operation: Callable[[], T]) -> T:
        """One call (with PyGithub's retries), within what is left of this step's budget for GitHub."""
        try:
            with self._budget.spend():
                return operation()
        except DeadlineExceeded:
            raise GitHubError(self._timed_out()) from None
        except AnswerTooLarge:
            raise GitHubError(
                f"GitHub at {self._api_url} answered with more than {MAX_ANSWER_BYTES // 2**20} MiB once decoded; "
                "stopped reading it"
            ) from None
        except GithubException as error:
            kind = GitHubGone if error.status == 404 else GitHubError
            raise kind(self._redact(_describe(error))) from None
        except requests.Timeout:
            raise GitHubError(self._timed_out()) from None
        except OSError as error:  # requests' other errors (connection refused, TLS) are OSErrors
            reason = type(error).__name__
            raise GitHubError(self._redact(f"could not reach GitHub at {self._api_url} ({reason})")) from None

    def _timed_out(self) -> str:
        return (
            f"timed out: GitHub at {self._api_url} did not finish within timeout-seconds: {self._budget.seconds:g} "
            "(one budget for all of this step's GitHub calls)"
        )

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)


def _comment(data: Any, seen_at: datetime | None) -> IssueComment:
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        raise GitHubError("GitHub answered with a comment that has no id")
    raw_user = data.get("user")
    user: dict[str, Any] = raw_user if isinstance(raw_user, dict) else {}
    login = user.get("login")
    return IssueComment(
        id=data["id"],
        body=str(data.get("body") or ""),
        html_url=str(data.get("html_url") or ""),
        author=login if isinstance(login, str) else None,
        author_is_bot=user.get("type") == "Bot",
        created_at=_timestamp(data.get("created_at")),
        updated_at=_timestamp(data.get("updated_at")),
        seen_at=seen_at,
    )


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _date(headers: dict[str, Any]) -> datetime | None:
    """GitHub's clock: the answer's `Date` header."""
    value = next((str(v) for k, v in headers.items() if k.lower() == "date"), "")
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


def _next_page(headers: dict[str, Any]) -> str | None:
    link = next((str(v) for k, v in headers.items() if k.lower() == "link"), "")
    found = re.search(r'<([^>]+)>;\s*rel="next"', link)
    return found[1] if found else None


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


class AnswerTooLarge(Exception):
    """An answer from GitHub that would take more than MAX_ANSWER_BYTES once decoded."""


class _BoundedBody:
    """A urllib3 response whose decoded body stops at MAX_ANSWER_BYTES: requests reads it through `stream`, and
    urllib3 decodes each chunk under a length limit, so no compressed answer can expand past the cap in memory."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def stream(self, amt: int | None = 2**16, decode_content: bool | None = None) -> Iterator[bytes]:
        size = 0
        for chunk in self._raw.stream(amt, decode_content=decode_content):
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                self._raw.close()
                raise AnswerTooLarge
            yield chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


class _BoundedAdapter(requests.adapters.HTTPAdapter):
    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        response = super().build_response(req, resp)
        response.raw = _BoundedBody(response.raw)
        return response


def _bounded(session: requests.Session, adapter: requests.adapters.HTTPAdapter, prefix: str) -> None:
    """Mount, in place of PyGithub's adapter, one that bounds every answer (same retries and pool)."""
    bounded = _BoundedAdapter(
        max_retries=adapter.max_retries,
        pool_connections=adapter._pool_connections,
        pool_maxsize=adapter._pool_maxsize,
    )
    session.mount(prefix, bounded)


class _BoundedHTTPS(HTTPSRequestsConnectionClass):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bounded(self.session, self.adapter, "https://")


class _BoundedHTTP(HTTPRequestsConnectionClass):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bounded(self.session, self.adapter, "http://")


# PyGithub's own hook for the classes that make its connections (this process talks to one GitHub only). The hook,
# made for tests, also stops PyGithub from keeping its connection between requests: turn that back on, or every
# request would open a new connection (tests/test_action.py counts them).
Requester.injectConnectionClasses(_BoundedHTTP, _BoundedHTTPS)
Requester._Requester__persist = True  # type: ignore[attr-defined]
