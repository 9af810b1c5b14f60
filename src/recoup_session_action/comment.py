"""The sticky pull-request comment: find the run's pull request, then keep exactly one comment of ours on it.

It speaks to GitHub only through a `GitHubApi`, so the logic runs the same against PyGithub or a test double.
Which comment is the pull request's, when runs race, is `sticky.py`'s business; this module writes it.
"""

from __future__ import annotations

from .context import RunnerEnv, Target
from .errors import GitHubError, GitHubGone
from .github_api import GitHubApi, IssueComment
from .outcome import CommentResult
from .sticky import our_comments

LOOKUP_EVENTS = frozenset({"push", "workflow_dispatch", "schedule"})
BRANCH_LOOKUP_EVENTS = frozenset({"workflow_run"})
NO_COMMENT_EVENTS = frozenset({"release", "merge_group"})
MAX_LOOKS = 3


def never_comments(env: RunnerEnv) -> str | None:
    """Why this run comments nowhere (tags, releases, merge queues are about no pull request), or None."""
    if env.event_name in NO_COMMENT_EVENTS:
        return f"none: a {env.event_name} event is about no pull request"
    if env.ref.startswith("refs/tags/"):
        return "none: a tag is about no pull request"
    return None


def pull_request_number(github: GitHubApi, env: RunnerEnv, target: Target) -> int | None:
    """The pull request (or issue) the run's comment goes on: the event's, or the open one for its branch."""
    if target.pull_request is not None:
        return target.pull_request.number
    if target.branch is None:
        return None
    if env.event_name in LOOKUP_EVENTS and env.sha:
        return github.open_pull_for_commit(env.sha, target.repository.full_name, target.branch)
    if env.event_name in BRANCH_LOOKUP_EVENTS:
        return github.open_pull_for_branch(target.repository.full_name, target.branch)
    return None


def not_found(env: RunnerEnv, target: Target) -> str:
    if target.branch is None:
        return f"none: the {env.event_name or 'run'} names no branch to find a pull request for"
    return (
        f"none: no open pull request has branch {target.branch} of {target.repository.full_name} as its head; "
        "set pr-number to comment anyway"
    )


def add_comment(github: GitHubApi, number: int, body: str) -> CommentResult:
    """A new comment every run (comment: create)."""
    created = github.create_comment(number, body)
    return CommentResult(comment_id=created.id, url=created.html_url, pr_number=number, action="created")


def write_comment(
    github: GitHubApi, number: int, tag: str, body: str, known: IssueComment | None = None
) -> CommentResult:
    """Write `body` into the pull request's comment: `known` if given, else the oldest of ours, else a new one.

    A comment deleted between reading and editing (another run settled a race) is looked up again, so the
    result always points at the comment that remains."""
    if known is not None:
        try:
            edited = github.edit_comment(known.id, body)
            return CommentResult(
                comment_id=edited.id, url=edited.html_url or known.html_url, pr_number=number, action="updated"
            )
        except GitHubGone:
            pass
    for _ in range(MAX_LOOKS):
        ours = our_comments(github, github.comments(number), tag)
        if not ours:
            return _create_and_settle(github, number, tag, body)
        oldest = ours[0]
        try:
            edited = github.edit_comment(oldest.id, body)
        except GitHubGone:
            continue
        return CommentResult(
            comment_id=oldest.id, url=edited.html_url or oldest.html_url, pr_number=number, action="updated"
        )
    raise GitHubError(f"the comments of #{number} kept disappearing while being written")


def _create_and_settle(github: GitHubApi, number: int, tag: str, body: str) -> CommentResult:
    """Create ours; if another run created one at the same time, the oldest stays and ours goes."""
    created = github.create_comment(number, body)
    ours = our_comments(github, github.comments(number), tag)
    oldest = ours[0] if ours else created
    if oldest.id == created.id:
        return CommentResult(comment_id=created.id, url=created.html_url, pr_number=number, action="created")
    github.delete_comment(created.id)
    return write_comment(github, number, tag, body, oldest)
