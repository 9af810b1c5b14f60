"""The whole flow, once: inputs + event -> target -> request -> response -> outputs, summary, comment.

The action entry point, the command line and the demo all call `run`; each hands it the raw inputs, a way
to learn the event facts, and a `Reporter` that speaks to a runner or to a terminal. `Seams` are where tests
(and the demo) put something else in place of the network: an httpx transport for Recoupable, a `GitHubApi`
for GitHub.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from .commands import Command, parse_command_comment
from .context import EventFacts, RunnerEnv, Target, apply_inputs
from .deadline import Cancelled
from .errors import ApiFailure, ContextError, GitHubError, InputError, SetupError, SinkError
from .github_rules import DEPENDABOT_LOGIN
from .hints import FORK_RECIPE
from .inputs import SECRET_INPUTS, CommentMode, OnClose, SessionMode, Settings, parse_settings
from .interface import WORKFLOW, Interface
from .network import Network, read_network
from .outcome import COMMENT_OUTPUTS, CommentResult, Outcome, State, outputs, session_url
from .recoupable_models import (
    SESSIONS_PATH,
    Chat,
    CreateSessionRequest,
    CreateSessionResponse,
    Session,
    ended_reason,
    request_headers,
)
from .summary import comment_summary, summary
from .text import redact

if TYPE_CHECKING:
    import httpx

    from .comment_record import CommentRecord
    from .github_api import GitHubAccess, GitHubApi, IssueComment, OpenGitHub
    from .recoupable_client import RecoupableClient
    from .sticky import Replaced, Settler


class Reporter(Protocol):
    def info(self, text: str) -> None: ...
    def notice(self, text: str, title: str | None = None) -> None: ...
    def warning(self, text: str, title: str | None = None) -> None: ...
    def error(self, text: str, title: str | None = None) -> None: ...
    def group(self, title: str) -> AbstractContextManager[None]: ...
    def set_outputs(self, outputs: Mapping[str, str]) -> None: ...
    def add_summary(self, markdown: str) -> None: ...


FactsReader = Callable[[], EventFacts]


@dataclass(frozen=True)
class Seams:
    """What reaches the two APIs. None means the real thing: httpx's own transport, PyGithub's `GitHubRepo`."""

    recoupable_transport: httpx.BaseTransport | None = None
    open_github: OpenGitHub | None = None
    network: Network = field(default_factory=Network)

    def github(self, access: GitHubAccess) -> GitHubApi:
        """The `GitHubApi` for `access`; whichever it is, no secret reaches a comment it writes."""
        from .github_api import RedactingGitHub  # noqa: PLC0415 (a dry run never reaches GitHub)

        if self.open_github is not None:
            return RedactingGitHub(self.open_github(access), (access.token, *access.secrets))
        from .github_client import GitHubRepo  # noqa: PLC0415 (PyGithub only when GitHub is called)

        return RedactingGitHub(
            GitHubRepo(access, verify=self.network.requests_verify()), (access.token, *access.secrets)
        )


def run(
    raw_inputs: Mapping[str, str],
    env: RunnerEnv,
    read_facts: FactsReader,
    reporter: Reporter,
    seams: Seams = Seams(),
    *,
    interface: Interface = WORKFLOW,
) -> int:
    """Create one session as the inputs and the event say; report it. Returns the exit code.

    `interface` says how messages name the inputs (a workflow's keys, or flags) and what a bad input costs."""
    progress = _Progress()
    try:
        return _run(raw_inputs, env, read_facts, reporter, seams, progress=progress, interface=interface)
    except Cancelled as cancelled:  # the client reports a cancellation during a request itself
        if progress.session is not None:
            _cancelled_with_a_session(reporter, progress.session, cancelled)
        else:
            _finish(reporter, _cancelled_without_a_session(cancelled, requested=progress.requested))
        return cancelled.exit_code
    except Exception as error:  # a bug must still end in one line, outputs and a summary
        first_line = str(error).splitlines()[0] if str(error) else ""
        text = redact(first_line, (raw_inputs.get(name, "").strip() for name in SECRET_INPUTS))
        message = f"Unexpected error ({type(error).__name__}: {text}); please report it with the log."
        if progress.session is not None:  # never a "failed" report over a session that exists
            reporter.error(f"{message} {_session_named(progress.session)}", title="Unexpected error")
            return 1
        return _finish(reporter, Outcome(state=State.FAILED, message=message))


@dataclass
class _Progress:
    """What the run has done so far, for the handlers of the unexpected: the session it has, once it has one."""

    session: Outcome | None = None
    requested: bool = False
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
    progress: _Progress,
    interface: Interface,
) -> int:
    try:
        settings = parse_settings(raw_inputs, interface)
    except InputError as error:
        _finish(reporter, Outcome(state=State.FAILED, message=str(error)))
        return interface.bad_input_exit
    try:
        seams = replace(seams, network=read_network(os.environ))  # one CA policy and checked proxies for both APIs
    except SetupError as error:
        return _finish(reporter, Outcome(state=State.FAILED, message=str(error)))
    try:
        facts = read_facts()
        skip = _skip_reason(facts, settings)
        if skip is not None:
            return _finish(reporter, Outcome(state=State.SKIPPED, message=skip))
        command = parse_command_comment(facts, settings)
        if isinstance(command, str):
            return _finish(reporter, Outcome(state=State.SKIPPED, message=command))
        gate = _permission_gate(facts, settings, env, seams)
        if gate is not None:
            return _finish(reporter, Outcome(state=State.SKIPPED, message=gate))
        target = _resolve_target(facts, settings, env, seams, interface)
    except (ContextError, InputError) as error:
        return _finish(reporter, Outcome(state=State.FAILED, message=str(error)))
    run = _Run(reporter, settings, env, seams, target, facts, command, interface, progress=progress)
    return run.go()


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
    access = _github_access(settings, env, env.repository or facts.repository or "")
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
    access = _github_access(settings, env, facts.repository or env.repository)
    if access is None:
        token = interface.ref("github-token")
        raise ContextError(f"an issue_comment on a pull request needs {token} to read the pull request's branch")
    try:
        return seams.github(access).complete_facts(facts, facts.pull_request_to_fetch)
    except GitHubError as error:
        raise ContextError(f"could not read pull request #{facts.pull_request_to_fetch}: {error}") from None


def _log_request(reporter: Reporter, settings: Settings, request: CreateSessionRequest) -> None:
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


def _github_access(settings: Settings, env: RunnerEnv, full_name: str) -> GitHubAccess | None:
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
    """The body to send for this target: only what is set."""
    pull = target.pull_request
    pull_title = f"{pull.title} (#{pull.number})" if pull and not pull.is_issue and pull.title else None
    return CreateSessionRequest(
        title=settings.title or pull_title,
        repoOwner=target.repository.owner,
        repoName=target.repository.name,
        branch=target.branch,
        cloneUrl=target.clone_url,
        isNewBranch=True if settings.new_branch else None,
        sandboxType=settings.sandbox_type,
        organizationId=settings.organization_id,
    )


def _client(reporter: Reporter, settings: Settings, seams: Seams, interface: Interface) -> RecoupableClient:
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
        transport=seams.recoupable_transport,
        verify=seams.network.ssl_context(),
        interface=interface,
    )


def _create(
    reporter: Reporter,
    settings: Settings,
    target: Target,
    request: CreateSessionRequest,
    seams: Seams,
    *,
    interface: Interface,
    replaced: str | None = None,
) -> Outcome:
    calling = False
    try:
        with _client(reporter, settings, seams, interface) as client:
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


def _finish(reporter: Reporter, outcome: Outcome, *, comment_outputs_follow: bool = False) -> int:
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


@dataclass
class _Run:
    """One run past its inputs and target: the session (created, reused or archived) and the comment."""

    reporter: Reporter
    settings: Settings
    env: RunnerEnv
    seams: Seams
    target: Target
    facts: EventFacts
    command: Command | None
    interface: Interface
    _github: GitHubApi | None = None
    progress: _Progress = field(default_factory=_Progress)

    def go(self) -> int:
        if self.command is not None and self.command.title and self.settings.title is None:
            self.settings = self.settings.model_copy(update={"title": self.command.title})
        settings, reporter = self.settings, self.reporter
        request = build_request(settings, self.target)
        if self.facts.closes_pull_request and settings.dry_run:
            what = "archive" if settings.on_close is OnClose.ARCHIVE else "note the close on"
            message = f"The pull request closed: a real run would {what} the session its comment records."
            return _finish(reporter, Outcome(state=State.DRY_RUN, message=message, target=self.target))
        if self.facts.closes_pull_request:
            return self._close()
        if settings.api_key is None:  # a dry run checks everything a real run would
            _log_request(reporter, settings, request)
            return _finish(reporter, _key_missing(self.target, request, self.interface))
        if settings.dry_run:
            _log_request(reporter, settings, request)
            return _finish(reporter, Outcome(state=State.DRY_RUN, target=self.target, request=request))
        self._react("eyes")
        place = self._place()
        if isinstance(place, CommentResult):
            return self._report(self._create(request), place)
        force_new = self.command is not None and self.command.force_new
        if settings.comment is CommentMode.CREATE or settings.session is SessionMode.NEW or force_new:
            return self._report(self._create(request), None, number=place)
        return self._claimed(request, place)

    # -- the session ------------------------------------------------------------------------------------------

    def _create(self, request: CreateSessionRequest, replaced: str | None = None) -> Outcome:
        _log_request(self.reporter, self.settings, request)
        self.progress.requested = True
        return _create(
            self.reporter, self.settings, self.target, request, self.seams, interface=self.interface, replaced=replaced
        )

    def _claimed(self, request: CreateSessionRequest, number: int) -> int:
        from .comment_body import claim_body  # noqa: PLC0415
        from .sticky import POLL_SECONDS, Found, Settler, stale_after  # noqa: PLC0415

        tag = self.settings.comment_tag
        stale = stale_after(self.settings.timeout_seconds)
        settler = Settler(
            self._api(),
            number,
            tag,
            claim_body(tag, self.env),
            stale_seconds=stale,
            wait_seconds=stale + 2 * POLL_SECONDS,
            log=self.reporter.info,
        )
        try:
            settled: Replaced = settler.settle()
            if isinstance(settled, Found):
                verdict = self._check_recorded(settled.record)
                if isinstance(verdict, Outcome):
                    return self._report(verdict, None, number=number, known=settled.comment, record=settled.record)
                assert settled.record.session_id is not None
                replaced = settler.replace(settled.comment, settled.record.session_id)
                return self._after_replace(request, number, settler, replaced, (verdict, settled.record))
        except GitHubError as error:
            return self._github_failed(request, settler, error)
        return self._after_settle(request, number, settler, settled)

    def _after_replace(
        self,
        request: CreateSessionRequest,
        number: int,
        settler: Settler,
        replaced: Replaced,
        ended: tuple[str, CommentRecord],
    ) -> int:
        """This run replaces the ended session (and then deletes its claim), or follows the run that does. `ended`:
        why the recorded session is not reused, and the record that names it."""
        from .sticky import Found, Replacing  # noqa: PLC0415

        why, old_record = ended
        if isinstance(replaced, Replacing):
            outcome = self._create(request, why)
            code = self._report(outcome, None, number=number, known=replaced.comment, record=old_record)
            try:
                self._api().delete_comment(replaced.claim.id)
            except GitHubError as error:
                self.reporter.warning(f"Could not delete this run's claim {replaced.claim.id}: {error}", title="Claim")
            return code
        if isinstance(replaced, Found):  # another run replaced it: reuse that one
            verdict = self._check_recorded(replaced.record)
            outcome = verdict if isinstance(verdict, Outcome) else self._create(request, verdict)
            return self._report(outcome, None, number=number, known=replaced.comment, record=replaced.record)
        return self._after_settle(request, number, settler, replaced)

    def _after_settle(self, request: CreateSessionRequest, number: int, settler: Settler, settled: Replaced) -> int:
        from .sticky import Adopted, Found, GaveUp, Won  # noqa: PLC0415

        if isinstance(settled, Won | Adopted):
            outcome = self._create(request)
            return self._report(outcome, None, number=number, known=settled.comment, won=isinstance(settled, Won))
        if isinstance(settled, Found):  # a run that restarted its election found a session recorded meanwhile
            verdict = self._check_recorded(settled.record)
            outcome = verdict if isinstance(verdict, Outcome) else self._create(request, verdict)
            return self._report(outcome, None, number=number, known=settled.comment, record=settled.record)
        if isinstance(settled, GaveUp):
            message = (
                f"Another run claimed comment {settled.comment.id} for a session first, and it recorded none "
                f"within {settler.wait_seconds:g} seconds; run this again"
            )
        else:
            message = f"Another run claimed comment {settled.comment.id} first and could not create the session"
        result = CommentResult(comment_id=settled.comment.id, url=settled.comment.html_url, pr_number=number)
        failed = Outcome(state=State.FAILED, message=f"{message}.", target=self.target, request=request)
        self._react("confused")
        return _finish(self.reporter, failed.model_copy(update={"comment": result}))

    def _github_failed(self, request: CreateSessionRequest, settler: Settler, error: GitHubError) -> int:
        if settler.followed is not None:  # another run is creating the session: a POST here would be a second
            message = (
                f"Could not follow comment {settler.followed.id}, which another run claimed to create the "
                f"session: {error}; run this again"
            )
            failed = Outcome(state=State.FAILED, message=message, target=self.target, request=request)
            return _finish(self.reporter, failed)
        return self._report(self._create(request), self._comment_failed(str(error)))

    def _check_recorded(self, record: CommentRecord) -> Outcome | str:
        """The recorded session reused (an outcome), or why a new session must replace it."""
        from .recoupable_client import SessionGone  # noqa: PLC0415

        assert record.session_id is not None
        assert record.chat_id is not None
        old = record.session_id
        if record.archived:
            return f"session {old}, archived when the pull request closed"
        self.reporter.info(f"Session {old} is recorded in the comment: GET {self.settings.api_url}/api/sessions/{old}")
        with _client(self.reporter, self.settings, self.seams, self.interface) as client:
            try:
                fetched = client.get_session(old)
            except SessionGone as gone:
                why = "no longer exists" if gone.status == 404 else "belongs to another account"
                return f"session {old}, which {why} ({gone})"
            except ApiFailure as failure:
                self.reporter.warning(
                    f"Could not check session {old} ({failure}); creating a new session.", title="Session not checked"
                )
                return f"session {old}, which could not be checked"
        ended = ended_reason(fetched.response.session) or _elsewhere(fetched.response.session, self.target)
        if ended is not None:
            return f"session {old}: {ended}"
        self.reporter.info(f"Session {old} is running: reusing it (no new session).")
        response = CreateSessionResponse(session=fetched.response.session, chat=Chat(id=record.chat_id))
        return Outcome(
            state=State.REUSED,
            target=self.target,
            response=response,
            response_body=fetched.body,
            session_url=session_url(self.settings.app_url, response),
        )

    # -- closing ----------------------------------------------------------------------------------------------

    def _close(self) -> int:
        from .comment import write_comment  # noqa: PLC0415
        from .comment_body import noted_body, render_body  # noqa: PLC0415
        from .comment_record import read_record  # noqa: PLC0415
        from .sticky import our_comments  # noqa: PLC0415

        place = self._place()
        if isinstance(place, CommentResult):
            reason = f"The pull request closed; there is no comment to read its session from ({place.problem})."
            return _finish(self.reporter, Outcome(state=State.SKIPPED, message=reason, target=self.target))
        number, tag, github = place, self.settings.comment_tag, self._api()
        try:
            ours = our_comments(github, github.comments(number), tag)
        except GitHubError as error:
            message = f"The pull request closed, but its comment could not be read: {error}"
            return _finish(self.reporter, Outcome(state=State.FAILED, message=message, target=self.target))
        record = read_record(ours[0].body, tag) if ours else None
        if record is None or record.session_id is None or record.chat_id is None:
            message = "The pull request closed, and its comment records no session: nothing to archive."
            return _finish(self.reporter, Outcome(state=State.SKIPPED, message=message, target=self.target))
        comment, old, chat = ours[0], record.session_id, record.chat_id
        if self.settings.on_close is OnClose.KEEP:
            note = "The pull request was closed; the session is kept (on-close: keep)."
            body = noted_body(tag, comment, record, note)
            result = self._write(lambda: write_comment(github, number, tag, body, comment))
            return self._skip_with_comment(f"The pull request closed; on-close is keep: session {old} is kept.", result)
        if record.archived:
            return self._skip_with_comment(f"The pull request closed; session {old} is already archived.", None)
        if self.settings.api_key is None:
            return _finish(self.reporter, _key_missing(self.target, None, self.interface))
        outcome = self._archive(old, chat)
        if outcome.state is not State.ARCHIVED:
            return _finish(self.reporter, outcome)
        exit_code = _finish(self.reporter, outcome, comment_outputs_follow=True)
        archived_body = render_body(self.settings, self.env, outcome)
        result = self._write(lambda: write_comment(github, number, tag, archived_body, comment))
        self._log_comment(result)
        return max(exit_code, self._comment_outputs(outcome, result))

    def _archive(self, session_id: str, chat_id: str) -> Outcome:
        from .recoupable_client import PatchUnsupported  # noqa: PLC0415

        self.reporter.info(f"Archiving session {session_id}: PATCH {self.settings.api_url}/api/sessions/{session_id}")
        with _client(self.reporter, self.settings, self.seams, self.interface) as client:
            try:
                patched = client.archive_session(session_id)
            except PatchUnsupported as unsupported:
                message = (
                    f"The pull request closed, but the server did not archive session {session_id}: {unsupported}."
                )
                return Outcome(state=State.SKIPPED, message=message, target=self.target)
            except ApiFailure as failure:
                message = f"Could not archive session {session_id}: {failure}."
                return Outcome(state=State.FAILED, message=message, target=self.target)
        response = CreateSessionResponse(session=patched.response.session, chat=Chat(id=chat_id))
        return Outcome(
            state=State.ARCHIVED,
            target=self.target,
            response=response,
            response_body=patched.body,
            session_url=session_url(self.settings.app_url, response),
        )

    def _skip_with_comment(self, message: str, result: CommentResult | None) -> int:
        outcome = Outcome(state=State.SKIPPED, message=message, target=self.target, comment=result)
        exit_code = _finish(self.reporter, outcome)
        return max(exit_code, result.failed_exit if result else 0)

    # -- GitHub -----------------------------------------------------------------------------------------------

    def _api(self) -> GitHubApi:
        if self._github is None:
            access = _github_access(self.settings, self.env, self.env.repository or self.target.repository.full_name)
            assert access is not None
            self._github = self.seams.github(access)
        return self._github

    def _place(self) -> int | CommentResult:
        """The pull request (or issue) whose comment this run keeps, or why there is none."""
        settings = self.settings
        if settings.comment is CommentMode.OFF:
            self.reporter.info("No comment: comment is off.")
            return CommentResult(problem="comment is off")
        if settings.github_token is None:
            problem = f"{self.interface.ref('github-token')} is empty"
            self.reporter.notice(f"No pull-request comment: {problem}.", title="No comment")
            return CommentResult(problem=problem)
        # Imported only now: a run that makes no comment loads none of the comment's modules.
        from .comment import never_comments, not_found, pull_request_number  # noqa: PLC0415

        if settings.pr_number is None and (reason := never_comments(self.env)) is not None:
            self.reporter.info(reason)
            return CommentResult(problem=reason)
        try:
            number = settings.pr_number or pull_request_number(self._api(), self.env, self.target)
        except GitHubError as error:
            return self._comment_failed(str(error))
        if number is None:
            reason = not_found(self.env, self.target)
            self.reporter.info(reason)
            return CommentResult(problem=reason)
        return number

    def _react(self, content: str) -> None:
        """React on the triggering comment; a token that may not react is a warning, never a failure."""
        if self.facts.comment_id is None or self.settings.github_token is None:
            return
        try:
            self._api().react(self.facts.comment_id, content)
        except GitHubError as error:
            self.reporter.warning(f"Could not react with {content} on the comment: {error}", title="No reaction")

    def _write(self, write: Callable[[], CommentResult]) -> CommentResult:
        try:
            return write()
        except GitHubError as error:
            return self._comment_failed(str(error))
        except Exception as error:  # a bug in the comment step must not report a session as lost
            return self._comment_failed(f"unexpected {type(error).__name__} (please report it)")

    def _comment_failed(self, problem: str) -> CommentResult:
        message = f"The session was created, but the pull-request comment failed: {problem}"
        if self.settings.fail_on_comment_error:
            self.reporter.error(message, title="Comment failed")
            return CommentResult(problem=problem, failed_exit=1)
        self.reporter.warning(message, title="Comment failed")
        return CommentResult(problem=problem)

    # -- reporting --------------------------------------------------------------------------------------------

    def _report(
        self,
        outcome: Outcome,
        place: CommentResult | None,
        *,
        number: int | None = None,
        known: IssueComment | None = None,
        record: CommentRecord | None = None,
        won: bool = False,
    ) -> int:
        """Outputs and summary, then the comment (the outputs are out before GitHub is asked anything more)."""
        if not outcome.has_session:
            result = place or self._note_failure(outcome, number, known, record)
            self._react("confused")
            return _finish(self.reporter, outcome.model_copy(update={"comment": result}))
        self.progress.session = outcome
        exit_code = _finish(self.reporter, outcome, comment_outputs_follow=True)
        result = place if place is not None else self._write_session(outcome, number, known, won=won)
        self._log_comment(result)
        self._react("rocket")
        return max(exit_code, self._comment_outputs(outcome, result))

    def _log_comment(self, result: CommentResult) -> None:
        if result.url is None:
            self.reporter.info(result.problem or "No comment made.")
        else:
            self.reporter.info(f"Comment {result.action}: {result.url}")

    def _write_session(
        self, outcome: Outcome, number: int | None, known: IssueComment | None, *, won: bool
    ) -> CommentResult:
        from .comment import add_comment, write_comment  # noqa: PLC0415
        from .comment_body import render_body  # noqa: PLC0415

        assert number is not None
        body = render_body(self.settings, self.env, outcome)
        github, tag = self._api(), self.settings.comment_tag
        if self.settings.comment is CommentMode.CREATE:
            return self._write(lambda: add_comment(github, number, body))
        result = self._write(lambda: write_comment(github, number, tag, body, known))
        if won and known is not None and result.comment_id == known.id:
            return result.model_copy(update={"action": "created"})
        return result

    def _note_failure(
        self, outcome: Outcome, number: int | None, known: IssueComment | None, record: CommentRecord | None
    ) -> CommentResult | None:
        """Say on the comment, above its link, that the latest run failed (a claim says no session was made)."""
        from .comment import write_comment  # noqa: PLC0415
        from .comment_body import failed_body  # noqa: PLC0415
        from .comment_record import read_record  # noqa: PLC0415
        from .sticky import our_comments  # noqa: PLC0415

        if number is None or self.settings.comment is not CommentMode.UPDATE:
            return None
        tag, github = self.settings.comment_tag, self._api()
        try:
            if known is None:  # session: new looked at no comment before its POST
                ours = our_comments(github, github.comments(number), tag)
                if not ours:
                    return None
                known, record = ours[0], read_record(ours[0].body, tag)
            body = failed_body(tag, known, record, self.env, outcome.message)
            return write_comment(github, number, tag, body, known)
        except GitHubError as error:
            self.reporter.warning(f"Could not say on the comment that the run failed: {error}", title="Comment")
            return None

    def _comment_outputs(self, outcome: Outcome, result: CommentResult) -> int:
        done = outcome.model_copy(update={"comment": result, "comment_note": result.problem})
        values = {name: value for name, value in outputs(done).items() if name in COMMENT_OUTPUTS}
        written = _write_reports(self.reporter, done, values, comment_summary(done))
        return result.failed_exit if written else 1


def _elsewhere(session: Session, target: Target) -> str | None:
    """Why a recorded session is for another repository or branch than this run's (the inputs changed), or None.
    Only what the server reports is compared: the live server may answer null for both."""
    if session.repository is not None and session.repository != target.repository.full_name:
        return f"it is for repository {session.repository}, not {target.repository.full_name}"
    branch_known = session.branch is not None and target.branch is not None and not session.is_new_branch
    if branch_known and session.branch != target.branch:
        return f"it is for branch {session.branch}, not {target.branch}"
    return None


def _key_missing(target: Target, request: CreateSessionRequest | None, interface: Interface) -> Outcome:
    return Outcome(state=State.FAILED, message=interface.key_required(), target=target, request=request)
