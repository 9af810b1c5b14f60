"""A session's lifecycle on a pull request: the sticky comment that records it, reused while it runs, claimed
by one run when none is recorded (the election), replaced when it ended, archived or noted when the pull request
closes; the reactions on a command comment. `flow` hands a run over to `Lifecycle` only when it keeps or reads a
comment, reacts on one, or closes a pull request: a dry run, or a run with no comment to make, never imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .context import EventFacts, RunnerEnv, Target
from .errors import ApiFailure, GitHubError
from .flow import (
    Progress,
    Reporter,
    Seams,
    comment_outputs,
    create_session,
    finish,
    github_access,
    key_missing,
    log_comment,
    no_comment,
    open_client,
)
from .inputs import CommentMode, OnClose, SessionMode, Settings
from .interface import Interface
from .outcome import CommentResult, Outcome, State, session_url
from .recoupable_models import Chat, CreateSessionRequest, CreateSessionResponse, Session, ended_reason

if TYPE_CHECKING:
    from .commands import Command
    from .comment_record import CommentRecord
    from .github_api import GitHubApi, IssueComment
    from .recoupable_client import Fetched
    from .sticky import Replaced, Settler


class Lifecycle:
    """One run past its inputs and target: the session (created, reused or archived) and the comment."""

    def __init__(
        self,
        reporter: Reporter,
        settings: Settings,
        env: RunnerEnv,
        seams: Seams,
        target: Target,
        *,
        facts: EventFacts,
        command: Command | None,
        interface: Interface,
        progress: Progress,
    ) -> None:
        self.reporter = reporter
        self.settings = settings
        self.env = env
        self.seams = seams
        self.target = target
        self.facts = facts
        self.command = command
        self.interface = interface
        self.progress = progress
        self._github: GitHubApi | None = None

    def go(self, request: CreateSessionRequest) -> int:
        """Create or reuse the session, and keep the pull request's comment."""
        self._react("eyes")
        place = self._place()
        if isinstance(place, CommentResult):
            return self._report(self._create(request), place)
        force_new = self.command is not None and self.command.force_new
        if self.settings.comment is CommentMode.CREATE or self.settings.session is SessionMode.NEW or force_new:
            return self._report(self._create(request), None, number=place)
        return self._claimed(request, place)

    # -- the session ------------------------------------------------------------------------------------------

    def _create(self, request: CreateSessionRequest, replaced: str | None = None) -> Outcome:
        return create_session(
            self.reporter,
            self.settings,
            self.target,
            request,
            self.seams,
            interface=self.interface,
            progress=self.progress,
            replaced=replaced,
        )

    def _claimed(self, request: CreateSessionRequest, number: int) -> int:
        from .comment_body import claim_body  # noqa: PLC0415
        from .sticky import Found, Settler, stale_after  # noqa: PLC0415

        tag = self.settings.comment_tag
        stale = stale_after(self.settings.timeout_seconds)
        poll = self.seams.pacing.claim_poll_seconds
        settler = Settler(
            self._api(),
            number,
            tag,
            claim_body(tag, self.env),
            stale_seconds=stale,
            wait_seconds=stale + 2 * poll,
            poll_seconds=poll,
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
        return finish(self.reporter, failed._replace(comment=result))

    def _github_failed(self, request: CreateSessionRequest, settler: Settler, error: GitHubError) -> int:
        if settler.followed is not None:  # another run is creating the session: a POST here would be a second
            message = (
                f"Could not follow comment {settler.followed.id}, which another run claimed to create the "
                f"session: {error}; run this again"
            )
            failed = Outcome(state=State.FAILED, message=message, target=self.target, request=request)
            return finish(self.reporter, failed)
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
        with open_client(self.reporter, self.settings, self.seams, self.interface) as client:
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
        return self._known_session(State.REUSED, fetched, record.chat_id)

    # -- closing ----------------------------------------------------------------------------------------------

    def close(self) -> int:
        """The pull request closed: archive the session its comment records, or note the close on it."""
        from .comment import write_comment  # noqa: PLC0415
        from .comment_body import noted_body, render_body  # noqa: PLC0415
        from .comment_record import read_record  # noqa: PLC0415
        from .sticky import our_comments  # noqa: PLC0415

        place = self._place()
        if isinstance(place, CommentResult):
            reason = f"The pull request closed; there is no comment to read its session from ({place.problem})."
            return finish(self.reporter, Outcome(state=State.SKIPPED, message=reason, target=self.target))
        number, tag, github = place, self.settings.comment_tag, self._api()
        try:
            ours = our_comments(github, github.comments(number), tag)
        except GitHubError as error:
            message = f"The pull request closed, but its comment could not be read: {error}"
            return finish(self.reporter, Outcome(state=State.FAILED, message=message, target=self.target))
        record = read_record(ours[0].body, tag) if ours else None
        if record is None or record.session_id is None or record.chat_id is None:
            message = "The pull request closed, and its comment records no session: nothing to archive."
            return finish(self.reporter, Outcome(state=State.SKIPPED, message=message, target=self.target))
        comment, old, chat = ours[0], record.session_id, record.chat_id
        if self.settings.on_close is OnClose.KEEP:
            note = "The pull request was closed; the session is kept (on-close: keep)."
            body = noted_body(tag, comment, record, note)
            result = self._write(lambda: write_comment(github, number, tag, body, comment))
            return self._skip_with_comment(f"The pull request closed; on-close is keep: session {old} is kept.", result)
        if record.archived:
            return self._skip_with_comment(f"The pull request closed; session {old} is already archived.", None)
        if self.settings.api_key is None:
            return finish(self.reporter, key_missing(self.target, None, self.interface))
        outcome = self._archive(old, chat)
        if outcome.state is not State.ARCHIVED:
            return finish(self.reporter, outcome)
        exit_code = finish(self.reporter, outcome, comment_outputs_follow=True)
        archived_body = render_body(self.settings, self.env, outcome)
        result = self._write(lambda: write_comment(github, number, tag, archived_body, comment))
        log_comment(self.reporter, result)
        return max(exit_code, comment_outputs(self.reporter, outcome, result))

    def _archive(self, session_id: str, chat_id: str) -> Outcome:
        from .recoupable_client import PatchUnsupported  # noqa: PLC0415

        self.reporter.info(f"Archiving session {session_id}: PATCH {self.settings.api_url}/api/sessions/{session_id}")
        with open_client(self.reporter, self.settings, self.seams, self.interface) as client:
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
        return self._known_session(State.ARCHIVED, patched, chat_id)

    def _known_session(self, state: State, answer: Fetched, chat_id: str) -> Outcome:
        """The outcome for a session this run read or changed: the chat id comes from the comment's record,
        since the API answers a GET or PATCH with the session alone. Both parts are checked already (the answer
        by its model, the id by the record's), so the pair is put together without building a validator."""
        chat = Chat.model_construct(id=chat_id)
        response = CreateSessionResponse.model_construct(session=answer.response.session, chat=chat)
        return Outcome(
            state=state,
            target=self.target,
            response=response,
            response_body=answer.body,
            session_url=session_url(self.settings.app_url, response),
        )

    def _skip_with_comment(self, message: str, result: CommentResult | None) -> int:
        outcome = Outcome(state=State.SKIPPED, message=message, target=self.target, comment=result)
        exit_code = finish(self.reporter, outcome)
        return max(exit_code, result.failed_exit if result else 0)

    # -- GitHub -----------------------------------------------------------------------------------------------

    def _api(self) -> GitHubApi:
        if self._github is None:
            access = github_access(self.settings, self.env, self.env.repository or self.target.repository.full_name)
            assert access is not None
            self._github = self.seams.github(access)
        return self._github

    def _place(self) -> int | CommentResult:
        """The pull request (or issue) whose comment this run keeps, or why there is none."""
        settings = self.settings
        if (place := no_comment(self.reporter, settings, self.interface)) is not None:
            return place
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
            return finish(self.reporter, outcome._replace(comment=result))
        self.progress.session = outcome
        exit_code = finish(self.reporter, outcome, comment_outputs_follow=True)
        result = place if place is not None else self._write_session(outcome, number, known, won=won)
        log_comment(self.reporter, result)
        self._react("rocket")
        return max(exit_code, comment_outputs(self.reporter, outcome, result))

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
            return result._replace(action="created")
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


def _elsewhere(session: Session, target: Target) -> str | None:
    """Why a recorded session is for another repository or branch than this run's (the inputs changed), or None.
    Only what the server reports is compared: the live server may answer null for both."""
    if session.repository is not None and session.repository != target.repository.full_name:
        return f"it is for repository {session.repository}, not {target.repository.full_name}"
    branch_known = session.branch is not None and target.branch is not None and not session.is_new_branch
    if branch_known and session.branch != target.branch:
        return f"it is for branch {session.branch}, not {target.branch}"
    return None
