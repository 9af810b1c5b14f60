"""The pull request side, through PyGithub: find the pull request, keep one sticky comment on it.

Only this module imports PyGithub, and the flow imports this module only when it needs GitHub, so runs
without a comment never pay for PyGithub's import.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from github import Auth, Github, GithubException, GithubRetry

from . import __version__, markdown
from .context import EventFacts, PullRequestRef, RunnerEnv
from .inputs import CommentMode, Settings
from .report import CommentResult, Outcome

if TYPE_CHECKING:
    from github.IssueComment import IssueComment
    from github.PullRequest import PullRequest

T = TypeVar("T")
MAX_COMMENT_LENGTH = 65_536
LOOKUP_EVENTS = frozenset({"push", "workflow_dispatch", "schedule"})
BRANCH_LOOKUP_EVENTS = frozenset({"workflow_run"})
_PERMISSION_FIX = (
    "give the job 'permissions: pull-requests: write'; on pull requests from forks or Dependabot the token is "
    "read-only: use the README's workflow_run recipe"
)


class GitHubError(Exception):
    """A GitHub call failed; the message is one line and names the fix where there is one."""


def marker(tag: str) -> str:
    return f"<!-- recoup-session-action:{tag} -->"


class GitHubRepo:
    """One repository on one GitHub (github.com or Enterprise Server), with PyGithub's retries."""

    def __init__(self, api_url: str, token: str, full_name: str, *, timeout_seconds: float = 30) -> None:
        retry = GithubRetry(
            total=3,
            backoff_factor=0.5,
            secondary_rate_wait=min(60.0, timeout_seconds),
            max_rate_limit_wait=timeout_seconds,
        )
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
        pull = _call(lambda: self._repo.get_pull(number))
        head_repo = pull.head.repo
        ref = PullRequestRef(
            number=number,
            title=pull.title,
            head_sha=pull.head.sha,
            is_fork=head_repo is None or head_repo.full_name != pull.base.repo.full_name,
            author=pull.user.login if pull.user else "",
        )
        return facts.model_copy(
            update={
                "repository": head_repo.full_name if head_repo else None,
                "clone_url": head_repo.clone_url if head_repo else None,
                "branch": pull.head.ref,
                "pull_request": ref,
                "pull_request_to_fetch": None,
                "head_deleted": head_repo is None,
            }
        )

    def open_pull_for_commit(self, sha: str, head_full_name: str, branch: str) -> int | None:
        pulls = _call(lambda: list(self._repo.get_commit(sha).get_pulls()))
        return _first_open(pulls, head_full_name, branch)

    def open_pull_for_branch(self, head_full_name: str, branch: str) -> int | None:
        owner = head_full_name.partition("/")[0]
        pulls = _call(lambda: list(self._repo.get_pulls(state="open", head=f"{owner}:{branch}")))
        return _first_open(pulls, head_full_name, branch)

    def comments(self, number: int) -> list[IssueComment]:
        return _call(lambda: list(self._repo.get_issue(number).get_comments()))

    def create_comment(self, number: int, body: str) -> IssueComment:
        return _call(lambda: self._repo.get_issue(number).create_comment(body))

    def edit_comment(self, comment: IssueComment, body: str) -> None:
        _call(lambda: comment.edit(body))

    def delete_comment(self, comment: IssueComment) -> None:
        _call(comment.delete)

    def token_login(self) -> str | None:
        """The token's own user; None where GitHub will not say (GITHUB_TOKEN answers 403)."""
        try:
            return self._github.get_user().login
        except GithubException:
            return None


def _first_open(pulls: list[PullRequest], head_full_name: str, branch: str) -> int | None:
    for pull in pulls:
        head_repo = pull.head.repo
        if pull.state == "open" and pull.head.ref == branch and head_repo and head_repo.full_name == head_full_name:
            return pull.number
    return None


def _call(operation: Callable[[], T]) -> T:
    try:
        return operation()
    except GithubException as error:
        raise GitHubError(_describe(error)) from None


def _describe(error: GithubException) -> str:
    message = error.data.get("message") if isinstance(error.data, dict) else None
    text = f"GitHub answered {error.status}" + (f": {message}" if message else "")
    if error.status in {403, 404}:
        return f"{text}; {_PERMISSION_FIX}"
    return text


def post_comment(settings: Settings, env: RunnerEnv, outcome: Outcome) -> CommentResult:
    """Create or update this action's comment on the run's pull request."""
    assert settings.github_token is not None
    assert outcome.target is not None
    full_name = env.repository or outcome.target.repository.full_name
    token = settings.github_token.get_secret_value()
    repo = GitHubRepo(env.api_url, token, full_name, timeout_seconds=settings.timeout_seconds)
    number = settings.pr_number or _pull_request_number(repo, env, outcome)
    if number is None:
        return CommentResult(problem=f"no open pull request found for this {env.event_name or 'run'}")
    body = render_body(settings, env, outcome)
    if settings.comment is CommentMode.CREATE:
        created = repo.create_comment(number, body)
        return CommentResult(comment_id=created.id, url=created.html_url, action="created")
    return _upsert(repo, number, body, settings.comment_tag)


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
        return CommentResult(comment_id=newest.id, url=newest.html_url, action="updated")
    created = repo.create_comment(number, body)
    return _settle_race(repo, number, body, tag, created)


def _settle_race(repo: GitHubRepo, number: int, body: str, tag: str, created: IssueComment) -> CommentResult:
    """Two runs may have created a comment each: keep the oldest, update it, delete the newer ones."""
    ours = _our_comments(repo, repo.comments(number), tag)
    if len(ours) <= 1:
        return CommentResult(comment_id=created.id, url=created.html_url, action="created")
    oldest, newer = ours[0], ours[1:]
    repo.edit_comment(oldest, body)
    for comment in newer:
        repo.delete_comment(comment)
    return CommentResult(comment_id=oldest.id, url=oldest.html_url, action="updated")


def _our_comments(repo: GitHubRepo, comments: list[IssueComment], tag: str) -> list[IssueComment]:
    """Comments with our marker, written by a bot or by the token's own user, oldest first."""
    tagged = [comment for comment in comments if marker(tag) in (comment.body or "")]
    by_people = {comment.user.login for comment in tagged if comment.user.type != "Bot"}
    own_login = repo.token_login() if by_people else None
    ours = [comment for comment in tagged if comment.user.type == "Bot" or comment.user.login == own_login]
    return sorted(ours, key=lambda comment: comment.id)


def render_body(settings: Settings, env: RunnerEnv, outcome: Outcome) -> str:
    """The comment: our marker, then the default body or the user's template, within GitHub's limit."""
    values = _placeholder_values(env, outcome)
    if settings.comment_template:
        content = settings.comment_template
        for name, value in values.items():
            content = content.replace(f"{{{name}}}", value)
    else:
        content = _default_body(outcome, values)
    body = f"{marker(settings.comment_tag)}\n{content}"
    return body if len(body) <= MAX_COMMENT_LENGTH else body[: MAX_COMMENT_LENGTH - 1] + "\u2026"


def _placeholder_values(env: RunnerEnv, outcome: Outcome) -> dict[str, str]:
    assert outcome.response is not None
    assert outcome.target is not None
    session = outcome.response.session
    return {
        "session_url": outcome.session_url or "",
        "session_id": markdown.text(session.id),
        "chat_id": markdown.text(outcome.response.chat.id),
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
