"""Where the session should point: repository, branch, clone URL and pull request, from the event.

`resolve_event` reads the runner's `GITHUB_*` variables and the event payload (both already loaded) and
returns `EventFacts`; `apply_inputs` lets the inputs override them and yields the final, validated `Target`.
Both are pure functions; the only I/O is `load_event`, which reads the event file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from .errors import ContextError
from .event_payload import CommentPayload, EventPayload, PullRequestPayload, WorkflowRunPayload, check_payload
from .github_rules import PULL_REQUEST_EVENTS, RepoSlug, branch_rule_broken, check_clone_url
from .hints import set_branch
from .inputs import Settings
from .interface import WORKFLOW, Interface
from .text import first_validation_error

CLOSING_EVENTS = frozenset({"pull_request", "pull_request_target"})


class RunnerEnv(NamedTuple):
    """The runner's default `GITHUB_*` variables that matter here.

    This record and the three below are built by this code from values it has checked, or passes on as it found
    them; none validates anything, so they are named tuples (a pydantic model would cost about 0.5 ms each to
    define and build per run)."""

    event_name: str = ""
    event_path: str = ""
    repository: str = ""
    ref: str = ""
    sha: str = ""
    actor: str = ""
    server_url: str = "https://github.com"
    api_url: str = "https://api.github.com"
    run_id: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RunnerEnv:
        names = {name: f"GITHUB_{name.upper()}" for name in cls._fields}
        return cls(**{name: environ[var] for name, var in names.items() if environ.get(var)})

    @property
    def run_url(self) -> str | None:
        if not (self.repository and self.run_id):
            return None
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"


class PullRequestRef(NamedTuple):
    """A pull request (or, for `issue_comment` on an issue, the issue) the run is about."""

    number: int
    title: str = ""
    is_fork: bool = False
    author: str = ""
    is_issue: bool = False


class EventFacts(NamedTuple):
    """What the event says, before inputs override it. Values are as untrusted as the event."""

    event_name: str
    repository: str | None = None
    clone_url: str | None = None
    branch: str | None = None
    pull_request: PullRequestRef | None = None
    pull_request_to_fetch: int | None = None
    head_deleted: bool = False
    branch_deleted: bool = False
    no_branch_reason: str | None = None
    no_repository_reason: str | None = None
    source: str = "event"  # where the facts come from, as messages name it: the event, or the local checkout
    commenter_association: str | None = None
    commenter: str | None = None
    comment_id: int | None = None
    comment_body: str | None = None
    sender: str = ""
    action: str | None = None

    @property
    def closes_pull_request(self) -> bool:
        """A pull_request or pull_request_target event for a pull request that closed (merged or not)."""
        return self.event_name in CLOSING_EVENTS and self.action == "closed" and self.pull_request is not None


class Target(NamedTuple):
    """The validated repository, branch and clone URL the session is created for."""

    repository: RepoSlug
    branch: str | None
    clone_url: str
    pull_request: PullRequestRef | None = None


def load_event(env: RunnerEnv) -> EventPayload:
    """Read the event file named by GITHUB_EVENT_PATH and shape-check what this event is read for."""
    path = env.event_path
    if not path:
        raise ContextError("GITHUB_EVENT_PATH is not set: run inside GitHub Actions or pass --repository and --branch")
    try:
        data = json.loads(Path(path).read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ContextError(f"the event file {path} does not exist (GITHUB_EVENT_PATH)") from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ContextError(f"the event file {path} cannot be read ({reason}; GITHUB_EVENT_PATH)") from None
    except UnicodeDecodeError:
        raise ContextError(f"the event file {path} is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ContextError(f"the event file {path} is not JSON ({error.msg} at line {error.lineno})") from None
    except RecursionError:
        raise ContextError(f"the event file {path} is nested deeper than any event GitHub sends") from None
    if not isinstance(data, dict):
        raise ContextError(f"the event file {path} holds JSON {type(data).__name__}, not an object")
    try:
        return check_payload(env.event_name, data)
    except ValidationError as error:
        where, message, _ = first_validation_error(error)
        raise ContextError(f"the event file {path} has an unexpected shape at {where}: {message}") from None


def resolve_event(env: RunnerEnv, event: EventPayload) -> EventFacts:
    """The repository, branch and pull request that this event is about."""
    name = env.event_name
    base = EventFacts(
        event_name=name,
        repository=event.repository.full_name if event.repository else env.repository or None,
        clone_url=event.repository.clone_url if event.repository else None,
        sender=event.sender.login if event.sender else env.actor,
        action=event.action,
    )
    if name in PULL_REQUEST_EVENTS and event.pull_request:
        return facts_from_pull_request(base, event.pull_request)
    if name == "issue_comment" and event.issue:
        return _from_issue_comment(base, event)
    if name == "push":
        return _from_ref(base, event.ref or env.ref, deleted=event.deleted)
    if name == "release":
        return base._replace(no_branch_reason="a release points at a tag, not a branch")
    if name == "workflow_run" and event.workflow_run:
        return _from_workflow_run(base, event.workflow_run)
    if name == "merge_group" and event.merge_group:
        return base._replace(branch=event.merge_group.head_ref.removeprefix("refs/heads/"))
    return _from_ref(base, env.ref)


def facts_from_pull_request(base: EventFacts, pull: PullRequestPayload) -> EventFacts:
    """The facts of a pull request, whether from the event payload or fetched from GitHub."""
    head_repo = pull.head.repo
    base_repo = pull.base.repo.full_name if pull.base.repo else base.repository
    ref = PullRequestRef(
        number=pull.number,
        title=pull.title,
        is_fork=head_repo is None or head_repo.full_name != base_repo,
        author=pull.user.login if pull.user else "",
    )
    return base._replace(
        repository=head_repo.full_name if head_repo else None,
        clone_url=head_repo.clone_url if head_repo else None,
        branch=pull.head.ref,
        pull_request=ref,
        pull_request_to_fetch=None,
        head_deleted=head_repo is None,
    )


def _from_issue_comment(base: EventFacts, event: EventPayload) -> EventFacts:
    assert event.issue is not None
    comment = event.comment or CommentPayload()
    update: dict[str, Any] = {
        "commenter_association": comment.author_association,
        "commenter": comment.user.login if comment.user else None,
        "comment_id": comment.id,
        "comment_body": comment.body,
    }
    if event.issue.pull_request is not None:
        update["pull_request_to_fetch"] = event.issue.number
    else:
        default_branch = event.repository.default_branch if event.repository else None
        update["branch"] = default_branch
        update["pull_request"] = PullRequestRef(number=event.issue.number, title=event.issue.title, is_issue=True)
    return base._replace(**update)


def _from_ref(base: EventFacts, ref: str, *, deleted: bool = False) -> EventFacts:
    if ref.startswith("refs/heads/"):
        return base._replace(branch=ref.removeprefix("refs/heads/"), branch_deleted=deleted)
    if ref.startswith("refs/tags/"):
        return base._replace(no_branch_reason=f"{ref} is a tag, not a branch")
    return base._replace(no_branch_reason=f"the {base.event_name} event names no branch (GITHUB_REF={ref!r})")


def _from_workflow_run(base: EventFacts, run: WorkflowRunPayload) -> EventFacts:
    head_repo = run.head_repository
    number = run.pull_requests[0].number if run.pull_requests else None
    return base._replace(
        repository=head_repo.full_name if head_repo else base.repository,
        clone_url=head_repo.clone_url if head_repo else base.clone_url,
        branch=run.head_branch,
        pull_request=PullRequestRef(number=number) if number else None,
    )


def apply_inputs(facts: EventFacts, settings: Settings, env: RunnerEnv, interface: Interface = WORKFLOW) -> Target:
    """Let the inputs override the event, then check every value by the same rules as an input."""
    repository = settings.repository or _event_repository(facts, interface)
    branch = settings.branch or facts.branch
    if branch is None and not settings.new_branch:
        reason = facts.no_branch_reason or f"the {facts.event_name or 'current'} event names no branch"
        raise ContextError(f"no branch to start the session on: {reason}; {set_branch(interface)}")
    if branch is not None and settings.branch is None and (rule := branch_rule_broken(branch)) is not None:
        raise ContextError(f"the {facts.source}'s branch is not a valid branch name: {rule}; {interface.set('branch')}")
    same_repository = settings.repository is None or settings.repository.full_name == facts.repository
    clone_url = settings.clone_url or (facts.clone_url if same_repository else None)
    if clone_url is not None and settings.clone_url is None:
        try:
            check_clone_url(clone_url)
        except ValueError as error:
            raise ContextError(
                f"the {facts.source}'s clone URL is not usable: {error}; {interface.set('clone-url')}"
            ) from None
    return Target(
        repository=repository,
        branch=branch,
        clone_url=clone_url or f"{env.server_url.rstrip('/')}/{repository.full_name}.git",
        pull_request=_pull_request(facts, settings),
    )


def _pull_request(facts: EventFacts, settings: Settings) -> PullRequestRef | None:
    """The event's pull request, unless the `pr-number` input names another one."""
    if settings.pr_number is None or (facts.pull_request and facts.pull_request.number == settings.pr_number):
        return facts.pull_request
    return PullRequestRef(number=settings.pr_number)


def _event_repository(facts: EventFacts, interface: Interface) -> RepoSlug:
    fix = interface.set("repository")
    if facts.head_deleted:
        raise ContextError(f"the pull request's head repository was deleted (head.repo is null); {fix}")
    if not facts.repository:
        raise ContextError(
            facts.no_repository_reason or f"the event names no repository and GITHUB_REPOSITORY is empty; {fix}"
        )
    try:
        return RepoSlug.parse(facts.repository)
    except ValueError as error:
        raise ContextError(f"the {facts.source}'s repository is invalid: {error}; {fix}") from None
