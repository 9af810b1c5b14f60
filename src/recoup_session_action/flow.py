"""The whole flow, once: inputs + event -> target -> request -> response -> outputs, summary, comment.

The action entry point, the command line and the demo all call `run`; each hands it the raw inputs, a way
to learn the event facts, and a `Reporter` that speaks to a runner or to a terminal. `Seams` are where tests
(and the demo) put something else in place of the network: an httpx transport for Recoupable, a `GitHubApi`
for GitHub, and shorter pauses between attempts (`Pacing`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, NamedTuple, Protocol

from .context import EventFacts, RunnerEnv, Target, apply_inputs
from .deadline import Cancelled
from .errors import ApiFailure, ContextError, GitHubError, InputError, SetupError, SinkError
from .github_rules import DEPENDABOT_LOGIN
from .hints import FORK_RECIPE
from .inputs import SECRET_INPUTS, CommentMode, OnClose, Settings, parse_settings
from .interface import WORKFLOW, Interface
from .network import Network, read_network
from .outcome import COMMENT_OUTPUTS, CommentResult, Outcome, State, outputs, session_url
from .pacing import REAL_PACING, Pacing
from .recoupable_models import SESSIONS_PATH, CreateSessionRequest, request_headers
from .summary import comment_summary, summary
from .text import redact

if TYPE_CHECKING:
    import httpx

    from .commands import Command
    from .github_api import GitHubAccess, GitHubApi, OpenGitHub
    from .recoupable_client import RecoupableClient


class Reporter(Protocol):
    def info(self, text: str) -> None: ...
    def notice(self, text: str, title: str | None = None) -> None: ...
    def warning(self, text: str, title: str | None = None) -> None: ...
    def error(self, text: str, title: str | None = None) -> None: ...
    def group(self, title: str) -> AbstractContextManager[None]: ...
    def set_outputs(self, outputs: Mapping[str, str]) -> None: ...
    def add_summary(self, markdown: str) -> None: ...


FactsReader = Callable[[], EventFacts]


class Seams(NamedTuple):
    """What reaches the two APIs, and how long a run pauses between attempts. None means the real thing: httpx's
    own transport, PyGithub's `GitHubRepo`; the default `Pacing` holds the real pauses."""

    recoupable_transport: httpx.BaseTransport | None = None
    open_github: OpenGitHub | None = None
    network: Network = Network()
    pacing: Pacing = REAL_PACING

    def github(self, access: GitHubAccess) -> GitHubApi:
        """The `GitHubApi` for `access`; whichever it is, no secret reaches a comment it writes."""
        from .github_api import RedactingGitHub  # noqa: PLC0415 (a dry run never reaches GitHub)

        if self.open_github is not None:
            return RedactingGitHub(self.open_github(access), (access.token, *access.secrets))
        from .github_client import GitHubRepo  # noqa: PLC0415 (PyGithub only when GitHub is called)

        return RedactingGitHub(
            GitHubRepo(access, verify=self.network.requests_verify(), backoff_factor=self.pacing.github_backoff_factor),
            (access.token, *access.secrets),
        )


REAL_SEAMS = Seams()
"""The real thing on both sides."""


def run(
    raw_inputs: Mapping[str, str],
    env: RunnerEnv,
    read_facts: FactsReader,
    reporter: Reporter,
    seams: Seams = REAL_SEAMS,
    *,
    interface: Interface = WORKFLOW,
) -> int:
    """Create one session as the inputs and the event say; report it. Returns the exit code.

    `interface` says how messages name the inputs (a workflow's keys, or flags) and what a bad input costs."""
    progress = Progress()
    try:
        return _run(raw_inputs, env, read_facts, reporter, seams, progress=progress, interface=interface)
    except Cancelled as cancelled:  # the client reports a cancellation during a request itself
        if progress.session is not None:
            _cancelled_with_a_session(reporter, progress.session, cancelled)
        else:
            finish(reporter, _cancelled_without_a_session(cancelled, requested=progress.requested))
        return cancelled.exit_code
    except Exception as error:  # a bug must still end in one line, outputs and a summary
        first_line = str(error).splitlines()[0] if str(error) else ""
        text = redact(first_line, (raw_inputs.get(name, "").strip() for name in SECRET_INPUTS))
        message = f"Unexpected error ({type(error).__name__}: {text}); please report it with the log."
        if progress.session is not None:  # never a "failed" report over a session that exists
            reporter.error(f"{message} {_session_named(progress.session)}", title="Unexpected error")
            return 1
        return finish(reporter, Outcome(state=State.FAILED, message=message))


class Progress:
    """What the run has done so far, for the handlers of the unexpected: the session it has, once it has one."""

    def __init__(self) -> None:
        self.session: Outcome | None = None
        self.requested = False
        """Whether a POST has been started: from then on, a cancellation may have left a session behind."""


def _cancelled_without_a_session(cancelled: Cancelled, *, requested: bool) -> Outcome:
    """A cancellation outside the POST (which reports its own): before it, nothing exists; after it (while the
    outcome was being reported), what was reported stands, and this says what may exist."""
    if requested:
        message = f"Cancelled ({cancelled.signal_name}) after a session was requested; a session may exist."
        return Outcome(state=State.FAILED, message=message, outcome_unknown=True)
    message = f"Cancelled ({cancelled.signal_name}) before a session was requested; no session was created."
    return Outcome(state=State.FAILED, message=message)


def _session_named(outcome: Outcome) -> str:
    assert outcome.response is not None
    return f"Session {outcome.response.session.id} was {outcome.state.value}: {outcome.session_url}"


def _cancelled_with_a_session(reporter: Reporter, outcome: Outcome, cancelled: Cancelled) -> None:
    reporter.warning(
        f"Cancelled ({cancelled.signal_name}) with the session in hand; the pull-request comment may be missing or "
        f"out of date. {_session_named(outcome)}.",
        title="Cancelled",
    )


def _run(
    raw_inputs: Mapping[str, str],
    env: RunnerEnv,
    read_facts: FactsReader,
    reporter: Reporter,
    seams: Seams,
    *,
    progress: Progress,
    interface: Interface,
) -> int:
    try:
        settings = parse_settings(raw_inputs, interface)
    except InputError as error:
        finish(reporter, Outcome(state=State.FAILED, message=str(error)))
        return interface.bad_input_exit
    try:
        seams = seams._replace(network=read_network(os.environ))  # one CA policy and checked proxies for both APIs
    except SetupError as error:
        return finish(reporter, Outcome(state=State.FAILED, message=str(error)))
    try:
        facts = read_facts()
        skip = _skip_reason(facts, settings)
        if skip is not None:
            return finish(reporter, Outcome(state=State.SKIPPED, message=skip))
        command = _command(facts, settings)
        if isinstance(command, str):
            return finish(reporter, Outcome(state=State.SKIPPED, message=command))
        gate = _permission_gate(facts, settings, env, seams)
        if gate is not None:
            return finish(reporter, Outcome(state=State.SKIPPED, message=gate))
        target = _resolve_target(facts, settings, env, seams, interface)
    except (ContextError, InputError) as error:
        return finish(reporter, Outcome(state=State.FAILED, message=str(error)))
    return _session(
        reporter,
        settings,
        target,
        env=env,
        seams=seams,
        facts=facts,
        command=command,
        interface=interface,
        progress=progress,
    )


def _session(
    reporter: Reporter,
    settings: Settings,
    target: Target,
    *,
    env: RunnerEnv,
    seams: Seams,
    facts: EventFacts,
    command: Command | None,
    interface: Interface,
    progress: Progress,
) -> int:
    """The request, then the session and the comment. A run that keeps or reads a comment, reacts on one, or
    closes a pull request hands over to `lifecycle` (imported only then); a dry run and a run with no comment to
    make finish here."""
    if command is not None and command.title and settings.title is None:
        settings = settings._replace(title=command.title)
    request = build_request(settings, target)
    if facts.closes_pull_request and settings.dry_run:
        what = "archive" if settings.on_close is OnClose.ARCHIVE else "note the close on"
        message = f"The pull request closed: a real run would {what} the session its comment records."
        return finish(reporter, Outcome(state=State.DRY_RUN, message=message, target=target))
    if not facts.closes_pull_request:
        if settings.api_key is None:  # a dry run checks everything a real run would
            log_request(reporter, settings, request)
            return finish(reporter, key_missing(target, request, interface))
        if settings.dry_run:
            log_request(reporter, settings, request)
            return finish(reporter, Outcome(state=State.DRY_RUN, target=target, request=request))
        if not reacts(facts, settings) and (place := no_comment(reporter, settings, interface)) is not None:
            outcome = create_session(reporter, settings, target, request, seams, interface=interface, progress=progress)
            return _report_uncommented(reporter, progress, outcome, place)
    from .lifecycle import Lifecycle  # noqa: PLC0415 (only a run that comments, reacts or archives)

    lifecycle = Lifecycle(
        reporter, settings, env, seams, target, facts=facts, command=command, interface=interface, progress=progress
    )
    return lifecycle.close() if facts.closes_pull_request else lifecycle.go(request)


def reacts(facts: EventFacts, settings: Settings) -> bool:
    """Whether the run reacts on the comment that triggered it."""
    return facts.comment_id is not None and settings.github_token is not None


def no_comment(reporter: Reporter, settings: Settings, interface: Interface) -> CommentResult | None:
    """Why this run keeps no comment, known from the inputs alone (said in the log), or None."""
    if settings.comment is CommentMode.OFF:
        reporter.info("No comment: comment is off.")
        return CommentResult(problem="comment is off")
    if settings.github_token is None:
        problem = f"{interface.ref('github-token')} is empty"
        reporter.notice(f"No pull-request comment: {problem}.", title="No comment")
        return CommentResult(problem=problem)
    return None


def _report_uncommented(reporter: Reporter, progress: Progress, outcome: Outcome, place: CommentResult) -> int:
    """Outputs and summary of a run that makes no comment (`place` says why)."""
    if not outcome.has_session:
        return finish(reporter, outcome._replace(comment=place))
    progress.session = outcome
    exit_code = finish(reporter, outcome, comment_outputs_follow=True)
    log_comment(reporter, place)
    return max(exit_code, comment_outputs(reporter, outcome, place))


def _command(facts: EventFacts, settings: Settings) -> Command | str | None:
    """What an issue_comment asks for (`commands`, loaded only for one), or why it asks for nothing."""
    if facts.event_name != "issue_comment":
        return None
    from .commands import parse_command_comment  # noqa: PLC0415 (only a comment can hold a command)

    return parse_command_comment(facts, settings)


def _skip_reason(facts: EventFacts, settings: Settings) -> str | None:
    if facts.branch_deleted and settings.branch is None:
        return f"The push deleted branch {facts.branch}: there is nothing to start a session on."
    if settings.api_key is None and _secrets_withheld(facts):
        return (
            "The api-key is empty because GitHub does not give secrets to workflows run for forks or Dependabot; "
            f"no session created. {FORK_RECIPE}."
        )
    return None


def _permission_gate(facts: EventFacts, settings: Settings, env: RunnerEnv, seams: Seams) -> str | None:
    """Why the commenter may not start a session, or None. The association is the fast path; otherwise GitHub
    is asked for the commenter's permission on the repository (a private organization's members show as
    CONTRIBUTOR there): write, maintain or admin is enough."""
    association = facts.commenter_association
    if association is None or association in settings.allowed_associations:
        return None
    allowed = ", ".join(sorted(settings.allowed_associations))
    refused = (
        f"The comment's author ({facts.commenter or 'unknown'}) has association {association}, "
        f"not one of allowed-associations ({allowed})"
    )
    access = github_access(settings, env, env.repository or facts.repository or "")
    if access is None or not facts.commenter or settings.dry_run:
        return f"{refused}: no session created."
    try:
        permission = seams.github(access).permission(facts.commenter)
    except GitHubError as error:
        return f"{refused}, and their permission could not be read ({error}): no session created."
    if permission in WRITE_PERMISSIONS:
        return None
    return f"{refused}, and their permission on the repository is {permission}: no session created."


def _secrets_withheld(facts: EventFacts) -> bool:
    pull = facts.pull_request
    by_dependabot = DEPENDABOT_LOGIN in {facts.sender, pull.author if pull else ""}
    from_fork = facts.event_name == "pull_request" and pull is not None and pull.is_fork
    return by_dependabot or from_fork


def _resolve_target(
    facts: EventFacts, settings: Settings, env: RunnerEnv, seams: Seams, interface: Interface
) -> Target:
    if facts.pull_request_to_fetch is not None:
        facts = _complete_from_pull_request(facts, settings, env, seams, interface)
    return apply_inputs(facts, settings, env, interface)


def _complete_from_pull_request(
    facts: EventFacts, settings: Settings, env: RunnerEnv, seams: Seams, interface: Interface
) -> EventFacts:
    assert facts.pull_request_to_fetch is not None
    access = github_access(settings, env, facts.repository or env.repository)
    if access is None:
        token = interface.ref("github-token")
        raise ContextError(f"an issue_comment on a pull request needs {token} to read the pull request's branch")
    try:
        return seams.github(access).complete_facts(facts, facts.pull_request_to_fetch)
    except GitHubError as error:
        raise ContextError(f"could not read pull request #{facts.pull_request_to_fetch}: {error}") from None


def log_request(reporter: Reporter, settings: Settings, request: CreateSessionRequest) -> None:
    """The request as it will be sent, the key masked: in a group, or in plain view for a dry run."""
    lines = [
        f"POST {settings.api_url}{SESSIONS_PATH}",
        *(f"{name}: {value}" for name, value in request_headers("***").items()),
        json.dumps(request.body(), indent=2, ensure_ascii=False),
    ]
    if settings.dry_run:
        reporter.info("Request that would be sent:")
        for line in lines:
            reporter.info(line)
        return
    with reporter.group("Request to the Recoupable API"):
        for line in lines:
            reporter.info(line)


def github_access(settings: Settings, env: RunnerEnv, full_name: str) -> GitHubAccess | None:
    """How to reach GitHub for `full_name`, or None without a token."""
    if settings.github_token is None:
        return None
    from .github_api import GitHubAccess  # noqa: PLC0415 (a dry run never reaches GitHub)

    api_key = settings.api_key.get_secret_value() if settings.api_key else ""
    return GitHubAccess(
        api_url=env.api_url,
        token=settings.github_token.get_secret_value(),
        full_name=full_name,
        timeout_seconds=settings.timeout_seconds,
        secrets=(api_key,),
    )


def build_request(settings: Settings, target: Target) -> CreateSessionRequest:
    """The body to send for this target: only what is set. Every value is checked already (the settings, the
    target), so the model is put together without building its validator, which a run that reuses its session
    would build for nothing."""
    pull = target.pull_request
    pull_title = f"{pull.title} (#{pull.number})" if pull and not pull.is_issue and pull.title else None
    return CreateSessionRequest.model_construct(
        title=settings.title or pull_title,
        repoOwner=target.repository.owner,
        repoName=target.repository.name,
        branch=target.branch,
        cloneUrl=target.clone_url,
        isNewBranch=True if settings.new_branch else None,
        sandboxType=settings.sandbox_type,
        organizationId=settings.organization_id,
    )


def open_client(reporter: Reporter, settings: Settings, seams: Seams, interface: Interface) -> RecoupableClient:
    from .recoupable_client import RecoupableClient  # noqa: PLC0415 (no HTTP client for a dry run)

    assert settings.api_key is not None

    def log_retry(attempt: int, reason: str, wait: float) -> None:
        reporter.info(f"Attempt {attempt} failed: {reason}; retrying in {wait:.1f}s")

    return RecoupableClient(
        settings.api_url,
        settings.api_key.get_secret_value(),
        timeout_seconds=settings.timeout_seconds,
        max_retries=settings.max_retries,
        on_retry=log_retry,
        backoff_seconds=seams.pacing.recoupable_backoff_seconds,
        transport=seams.recoupable_transport,
        verify=seams.network.ssl_context(),
        interface=interface,
    )


def create_session(
    reporter: Reporter,
    settings: Settings,
    target: Target,
    request: CreateSessionRequest,
    seams: Seams,
    *,
    interface: Interface,
    progress: Progress,
    replaced: str | None = None,
) -> Outcome:
    """Log the request, then send it; from here on a cancellation may leave a session behind (`progress`)."""
    log_request(reporter, settings, request)
    progress.requested = True
    calling = False
    try:
        with open_client(reporter, settings, seams, interface) as client:
            calling = True
            created = client.create_session(request)
    except ApiFailure as failure:
        return _not_created(target, request, str(failure), unknown=failure.outcome_unknown)
    except Cancelled as cancelled:  # the client reports a cancellation during the call; this is just before or after
        when = "as the request finished" if calling else "before the request was sent"
        what = "the outcome is unknown and a session may exist" if calling else "no session was created"
        return _not_created(target, request, f"cancelled ({cancelled.signal_name}) {when}; {what}", unknown=calling)
    if created.attempts > 1:
        reporter.info(f"The API accepted attempt {created.attempts}.")
    return Outcome(
        state=State.CREATED,
        target=target,
        request=request,
        response=created.response,
        response_body=created.body,
        session_url=session_url(settings.app_url, created.response),
        replaced=replaced,
    )


def _not_created(target: Target, request: CreateSessionRequest, problem: str, *, unknown: bool) -> Outcome:
    return Outcome(
        state=State.FAILED,
        message=f"Could not create the session: {problem}.",
        target=target,
        request=request,
        outcome_unknown=unknown,
    )


def finish(reporter: Reporter, outcome: Outcome, *, comment_outputs_follow: bool = False) -> int:
    """Report the outcome: annotations, log, outputs (comment outputs later, if a comment step follows)."""
    if outcome.state is State.FAILED:
        reporter.error(outcome.message, title="Recoupable session not created")
    elif outcome.state is State.SKIPPED:
        reporter.notice(outcome.message, title="Recoupable session skipped")
    for mismatch in outcome.mismatches:
        reporter.warning(f"The session does not match the request: {mismatch}.", title="Session differs")
    if outcome.response is not None and outcome.state is not State.FAILED:
        reporter.info(f"Session {outcome.response.session.id} {outcome.state.value}: {outcome.session_url}")
    values = outputs(outcome)
    if comment_outputs_follow:
        values = {name: value for name, value in values.items() if name not in COMMENT_OUTPUTS}
    with reporter.group("Outputs"):
        for name, value in values.items():
            reporter.info(f"{name}: {value}")
    written = _write_reports(reporter, outcome, values, summary(outcome))
    return 1 if outcome.state is State.FAILED or not written else 0


def _write_reports(reporter: Reporter, outcome: Outcome, values: Mapping[str, str], markdown: str) -> bool:
    """Set the outputs and add to the summary; where either cannot be written, an annotation says which file
    failed and names the session, if the run has one. Returns whether the outputs were written."""
    session = f" {_session_named(outcome)}." if outcome.has_session and outcome.response is not None else ""
    written = True
    try:
        reporter.set_outputs(values)
    except SinkError as error:
        reporter.error(f"{error}.{session}", title="Step outputs not written")
        written = False
    try:
        reporter.add_summary(markdown)
    except SinkError as error:
        reporter.warning(f"{error}.{session}", title="Job summary not written")
    return written


WRITE_PERMISSIONS = frozenset({"write", "maintain", "admin"})


def log_comment(reporter: Reporter, result: CommentResult) -> None:
    if result.url is None:
        reporter.info(result.problem or "No comment made.")
    else:
        reporter.info(f"Comment {result.action}: {result.url}")


def comment_outputs(reporter: Reporter, outcome: Outcome, result: CommentResult) -> int:
    """The comment's outputs and summary, once the comment step is done."""
    done = outcome._replace(comment=result, comment_note=result.problem)
    values = {name: value for name, value in outputs(done).items() if name in COMMENT_OUTPUTS}
    written = _write_reports(reporter, done, values, comment_summary(done))
    return result.failed_exit if written else 1


def key_missing(target: Target, request: CreateSessionRequest | None, interface: Interface) -> Outcome:
    return Outcome(state=State.FAILED, message=interface.key_required(), target=target, request=request)
