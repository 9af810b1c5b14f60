"""The pull request side, through PyGithub: find the pull request, keep one sticky comment on it.

Only this module imports PyGithub, and the flow imports this module only when it needs GitHub, so runs
without a comment never pay for PyGithub's import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from github import Auth, Github, GithubException, GithubRetry
from pydantic import ValidationError

from . import __version__, markdown
from .context import EventFacts, PullRequestPayload, RunnerEnv, facts_from_pull_request
from .inputs import PLACEHOLDER, CommentMode, Settings
from .report import CommentResult, Outcome
from .text import redact, shorten

if TYPE_CHECKING:
    from github.IssueComment import IssueComment
    from github.PullRequest import PullRequest

T = TypeVar("T")
MAX_COMMENT_LENGTH = 65_536
LOOKUP_EVENTS = frozenset({"push", "workflow_dispatch", "schedule"})
BRANCH_LOOKUP_EVENTS = frozenset({"workflow_run"})
NO_COMMENT_EVENTS = frozenset({"release", "merge_group"})
MAX_MESSAGE_LENGTH = 300
# How far before our new comment to look for one a concurrent run made: more than a run's list-then-create.
RACE_WINDOW = timedelta(minutes=10)
_PERMISSION_FIX = (
    "give the job 'permissions: pull-requests: write'; on pull requests from forks or Dependabot the token is "
    "read-only: use the README's workflow_run recipe"
)


class GitHubError(Exception):
    """A GitHub call failed; the message is one line and names the fix where there is one."""


def marker(tag: str) -> str:
    return f"<!-- recoup-session-action:{tag} -->"


class GitHubRepo:
    """One repository on one GitHub (github.com or Enterprise Server), with PyGithub's retries.

    Every call that can reach the network goes through `_call`, so callers see only `GitHubError`, whose
    message never holds the token (or any other string in `secrets`).
    """

    def __init__(
        self,
        api_url: str,
        token: str,
        full_name: str,
        *,
        timeout_seconds: float = 30,
        secrets: Iterable[str] = (),
    ) -> None:
        retry = GithubRetry(
            total=3,
            backoff_factor=0.5,
            secondary_rate_wait=min(60.0, timeout_seconds),
            max_rate_limit_wait=timeout_seconds,
            # Retries used up on a status: hand PyGithub the last answer, so the error names GitHub's status and
            # message instead of urllib3's "too many 500 error responses".
            raise_on_status=False,
        )
        self._api_url = api_url
        self._secrets = tuple(secret for secret in (token, *secrets) if secret)
        self._github = Github(
            auth=Auth.Token(token),
            base_url=api_url,
            per_page=100,
            timeout=max(1, int(timeout_seconds)),
            retry=retry,
            seconds_between_requests=None,
            seconds_between_writes=None,
            user_agent=f"recoup-session-action/{__version__}",
            lazy=True,
        )
        self._repo = self._github.get_repo(full_name, lazy=True)

    def complete_facts(self, facts: EventFacts, number: int) -> EventFacts:
        """An issue_comment on a pull request: learn the head repository, branch and SHA from the pull."""

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
        return self._call(lambda: list(issue.get_comments() if since is None else issue.get_comments(since=since)))

    def create_comment(self, number: int, body: str) -> IssueComment:
        return self._call(lambda: self._repo.get_issue(number).create_comment(body))

    def edit_comment(self, comment: IssueComment, body: str) -> None:
        self._call(lambda: comment.edit(body))

    def delete_comment(self, comment: IssueComment) -> None:
        """Delete; a comment already gone (another run deleted it) is not an error."""
        try:
            self._call(comment.delete)
        except _Gone:
            return

    def token_login(self) -> str | None:
        """The token's own user; None where GitHub will not say (GITHUB_TOKEN answers 403)."""
        try:
            return self._call(lambda: self._github.get_user().login)
        except GitHubError:
            return None

    def _call(self, operation: Callable[[], T]) -> T:
        try:
            return operation()
        except GithubException as error:
            kind = _Gone if error.status == 404 else GitHubError
            raise kind(self._redact(_describe(error))) from None
        except OSError as error:  # requests' errors (connection refused, timeout, TLS) are OSErrors
            reason = type(error).__name__
            raise GitHubError(self._redact(f"could not reach GitHub at {self._api_url} ({reason})")) from None

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)


class _Gone(GitHubError):
    """GitHub answered 404."""


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
    message = shorten(" ".join(" ".join(parts).split()), MAX_MESSAGE_LENGTH)
    text = f"GitHub answered {error.status}" + (f": {message}" if message else "")
    if error.status == 401:
        return f"{text}; the github-token is invalid or expired"
    if error.status in {403, 404}:
        return f"{text}; {_PERMISSION_FIX}"
    return text


def post_comment(settings: Settings, env: RunnerEnv, outcome: Outcome) -> CommentResult:
    """Create or update this action's comment on the run's pull request (or issue)."""
    assert settings.github_token is not None
    assert outcome.target is not None
    if settings.pr_number is None and (reason := _never_comments(env)) is not None:
        return CommentResult(problem=reason)
    full_name = env.repository or outcome.target.repository.full_name
    token = settings.github_token.get_secret_value()
    api_key = settings.api_key.get_secret_value() if settings.api_key else ""
    repo = GitHubRepo(env.api_url, token, full_name, timeout_seconds=settings.timeout_seconds, secrets=[api_key])
    number = settings.pr_number or _pull_request_number(repo, env, outcome)
    if number is None:
        return CommentResult(problem=_not_found(env, outcome))
    body = render_body(settings, env, outcome)
    if settings.comment is CommentMode.CREATE:
        created = repo.create_comment(number, body)
        return CommentResult(comment_id=created.id, url=created.html_url, pr_number=number, action="created")
    return _upsert(repo, number, body, settings.comment_tag)


def _never_comments(env: RunnerEnv) -> str | None:
    """Events that are about no pull request at all: tags, releases, merge queues."""
    if env.event_name in NO_COMMENT_EVENTS:
        return f"none: a {env.event_name} event is about no pull request"
    if env.ref.startswith("refs/tags/"):
        return "none: a tag is about no pull request"
    return None


def _not_found(env: RunnerEnv, outcome: Outcome) -> str:
    target = outcome.target
    assert target is not None
    if target.branch is None:
        return f"none: the {env.event_name or 'run'} names no branch to find a pull request for"
    return (
        f"none: no open pull request has branch {target.branch} of {target.repository.full_name} as its head; "
        "set pr-number to comment anyway"
    )


def _pull_request_number(repo: GitHubRepo, env: RunnerEnv, outcome: Outcome) -> int | None:
    target = outcome.target
    if target is None:
        return None
    if target.pull_request is not None:
        return target.pull_request.number
    if target.branch is None:
        return None
    if env.event_name in LOOKUP_EVENTS and env.sha:
        return repo.open_pull_for_commit(env.sha, target.repository.full_name, target.branch)
    if env.event_name in BRANCH_LOOKUP_EVENTS:
        return repo.open_pull_for_branch(target.repository.full_name, target.branch)
    return None


def _upsert(repo: GitHubRepo, number: int, body: str, tag: str) -> CommentResult:
    ours = _our_comments(repo, repo.comments(number), tag)
    if ours:
        newest = ours[-1]
        repo.edit_comment(newest, body)
        return CommentResult(comment_id=newest.id, url=newest.html_url, pr_number=number, action="updated")
    created = repo.create_comment(number, body)
    return _settle_race(repo, number, body, tag, created)


def _settle_race(repo: GitHubRepo, number: int, body: str, tag: str, created: IssueComment) -> CommentResult:
    """Two runs may have created a comment each: keep the oldest, update it, delete the newer ones we made.

    Only comments by the author of the one just created count (that author is us, for certain), and only
    those updated since shortly before it: an older one would have been found by the first listing.
    """
    since = created.created_at - RACE_WINDOW if created.created_at else None
    author = _login(created)
    recent = [c for c in repo.comments(number, since=since) if marker(tag) in (c.body or "") and _login(c) == author]
    ours = sorted({c.id: c for c in [*recent, created]}.values(), key=lambda c: c.id)
    oldest, newer = ours[0], ours[1:]
    if oldest.id == created.id:
        action = "created"
    else:
        repo.edit_comment(oldest, body)
        action = "updated"
    for comment in newer:
        repo.delete_comment(comment)
    return CommentResult(comment_id=oldest.id, url=oldest.html_url, pr_number=number, action=action)


def _login(comment: IssueComment) -> str | None:
    return comment.user.login if comment.user else None


def _our_comments(repo: GitHubRepo, comments: list[IssueComment], tag: str) -> list[IssueComment]:
    """Comments with our marker, written by a bot or by the token's own user, oldest first.

    `GET /user` is asked only when a person's comment carries the marker (GITHUB_TOKEN gets 403 there)."""
    tagged = [comment for comment in comments if comment.user and marker(tag) in (comment.body or "")]
    by_people = [comment for comment in tagged if comment.user.type != "Bot"]
    own_login = repo.token_login() if by_people else None
    ours = [comment for comment in tagged if comment.user.type == "Bot" or comment.user.login == own_login]
    return sorted(ours, key=lambda comment: comment.id)


def render_body(settings: Settings, env: RunnerEnv, outcome: Outcome) -> str:
    """The comment: our marker, then the default body or the user's template, within GitHub's limit."""
    values = _placeholder_values(env, outcome)
    if settings.comment_template:
        # One pass: a value that happens to contain "{branch}" is not substituted again.
        content = PLACEHOLDER.sub(lambda found: values.get(found[1], found[0]), settings.comment_template)
    else:
        content = _default_body(outcome, values)
    body = f"{marker(settings.comment_tag)}\n{content}"
    return shorten(body, MAX_COMMENT_LENGTH)


def _placeholder_values(env: RunnerEnv, outcome: Outcome) -> dict[str, str]:
    assert outcome.response is not None
    assert outcome.target is not None
    session = outcome.response.session
    return {
        "session_url": outcome.session_url or "",
        "session_id": markdown.code(session.id),
        "chat_id": markdown.code(outcome.response.chat.id),
        "repository": markdown.text(outcome.target.repository.full_name),
        "branch": markdown.text(outcome.target.branch or "a new branch"),
        "status": markdown.text(session.status or "unknown"),
        "run_url": env.run_url or "",
    }


def _default_body(outcome: Outcome, values: dict[str, str]) -> str:
    assert outcome.response is not None
    session = outcome.response.session
    rows = [
        ("Session", values["session_id"]),
        ("Chat", values["chat_id"]),
        ("Repository", values["repository"]),
        ("Branch", values["branch"]),
        ("Status", values["status"]),
    ]
    target = outcome.target
    if target and session.repository and session.repository != target.repository.full_name:
        rows.append(("Repository reported", markdown.text(session.repository)))
    if target and session.branch and session.branch != target.branch:
        rows.append(("Branch reported", markdown.text(session.branch)))
    if values["run_url"]:
        rows.append(("Workflow run", markdown.link("view run", values["run_url"])))
    rows.append(("Updated", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")))
    heading = f"### Recoupable session\n\n**{markdown.link('Open the session', values['session_url'])}**\n\n"
    return heading + markdown.table(rows)
