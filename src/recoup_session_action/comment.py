"""The sticky pull-request comment: find the run's pull request, then keep exactly one comment of ours on it.

It speaks to GitHub only through a `GitHubApi`, so the logic runs the same against PyGithub or a test double.
"""

from __future__ import annotations

from datetime import timedelta

from .comment_body import marker, render_body
from .context import RunnerEnv
from .github_api import GitHubApi, IssueComment
from .inputs import CommentMode, Settings
from .outcome import CommentResult, Outcome

LOOKUP_EVENTS = frozenset({"push", "workflow_dispatch", "schedule"})
BRANCH_LOOKUP_EVENTS = frozenset({"workflow_run"})
NO_COMMENT_EVENTS = frozenset({"release", "merge_group"})
# How far before our new comment to look for one a concurrent run made: more than a run's list-then-create.
RACE_WINDOW = timedelta(minutes=10)


def never_comments(env: RunnerEnv) -> str | None:
    """Why this run comments nowhere (tags, releases, merge queues are about no pull request), or None."""
    if env.event_name in NO_COMMENT_EVENTS:
        return f"none: a {env.event_name} event is about no pull request"
    if env.ref.startswith("refs/tags/"):
        return "none: a tag is about no pull request"
    return None


def post_comment(github: GitHubApi, settings: Settings, env: RunnerEnv, outcome: Outcome) -> CommentResult:
    """Create or update this action's comment on the run's pull request (or issue)."""
    number = settings.pr_number or _pull_request_number(github, env, outcome)
    if number is None:
        return CommentResult(problem=_not_found(env, outcome))
    body = render_body(settings, env, outcome)
    if settings.comment is CommentMode.CREATE:
        created = github.create_comment(number, body)
        return CommentResult(comment_id=created.id, url=created.html_url, pr_number=number, action="created")
    return _upsert(github, number, body, settings.comment_tag)


def _not_found(env: RunnerEnv, outcome: Outcome) -> str:
    target = outcome.target
    assert target is not None
    if target.branch is None:
        return f"none: the {env.event_name or 'run'} names no branch to find a pull request for"
    return (
        f"none: no open pull request has branch {target.branch} of {target.repository.full_name} as its head; "
        "set pr-number to comment anyway"
    )


def _pull_request_number(github: GitHubApi, env: RunnerEnv, outcome: Outcome) -> int | None:
    target = outcome.target
    if target is None:
        return None
    if target.pull_request is not None:
        return target.pull_request.number
    if target.branch is None:
        return None
    if env.event_name in LOOKUP_EVENTS and env.sha:
        return github.open_pull_for_commit(env.sha, target.repository.full_name, target.branch)
    if env.event_name in BRANCH_LOOKUP_EVENTS:
        return github.open_pull_for_branch(target.repository.full_name, target.branch)
    return None


def _upsert(github: GitHubApi, number: int, body: str, tag: str) -> CommentResult:
    ours = _our_comments(github, github.comments(number), tag)
    if ours:
        newest = ours[-1]
        github.edit_comment(newest, body)
        return CommentResult(comment_id=newest.id, url=newest.html_url, pr_number=number, action="updated")
    created = github.create_comment(number, body)
    return _settle_race(github, number, body, tag, created)


def _settle_race(github: GitHubApi, number: int, body: str, tag: str, created: IssueComment) -> CommentResult:
    """Two runs may have created a comment each: keep the oldest, update it, delete the newer ones we made.

    Only comments by the author of the one just created count (that author is us, for certain), and only
    those updated since shortly before it: an older one would have been found by the first listing.
    """
    since = created.created_at - RACE_WINDOW if created.created_at else None
    recent = [
        comment
        for comment in github.comments(number, since=since)
        if marker(tag) in comment.body and comment.author == created.author
    ]
    ours = sorted({comment.id: comment for comment in [*recent, created]}.values(), key=lambda comment: comment.id)
    oldest, newer = ours[0], ours[1:]
    if oldest.id == created.id:
        action = "created"
    else:
        github.edit_comment(oldest, body)
        action = "updated"
    for comment in newer:
        github.delete_comment(comment)
    return CommentResult(comment_id=oldest.id, url=oldest.html_url, pr_number=number, action=action)


def _our_comments(github: GitHubApi, comments: list[IssueComment], tag: str) -> list[IssueComment]:
    """Comments with our marker, written by a bot or by the token's own user, oldest first.

    `GET /user` is asked only when a person's comment carries the marker (GITHUB_TOKEN gets 403 there)."""
    tagged = [comment for comment in comments if comment.author and marker(tag) in comment.body]
    by_people = [comment for comment in tagged if not comment.author_is_bot]
    own_login = github.token_login() if by_people else None
    ours = [comment for comment in tagged if comment.author_is_bot or comment.author == own_login]
    return sorted(ours, key=lambda comment: comment.id)
