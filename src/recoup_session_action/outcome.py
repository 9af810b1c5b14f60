"""What a run learned (`Outcome`) and the step outputs it sets. Pure functions."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple
from urllib.parse import quote

from .context import Target
from .recoupable_models import CreateSessionRequest, CreateSessionResponse

OUTPUTS: dict[str, str] = {
    "session-id": "Id of the session (created, reused or archived).",
    "chat-id": "Id of the session's first chat (on a reuse, the one the comment records).",
    "session-url": "Link that opens the session, {app-url}/sessions/{session-id}/chats/{chat-id}.",
    "status": "Session status as the API reports it (running for a new session).",
    "lifecycle-state": "Session lifecycle state as the API reports it (provisioning for a new session).",
    "repository": "Repository (owner/name) as the session reports it; empty when the API does not report one.",
    "branch": "Branch as the session reports it; empty when the API does not report one.",
    "clone-url": "Clone URL as the session reports it; empty when the API does not report one.",
    "pr-number": "Pull request (or issue) the run is about; empty when there is none.",
    "comment-id": "Id of the pull-request comment written or updated; empty when none.",
    "comment-url": "Link to the pull-request comment; empty when none.",
    "skipped": "true when the action skipped on purpose (deleted branch, commenter not allowed, no secrets on a "
    "fork), else false.",
    "reused": "true when the run reused the session the pull request's comment records (no new session), else false.",
    "outcome": "What happened, one of created, reused, archived, skipped, dry-run, failed.",
    "error": "One-line reason when outcome is failed; empty otherwise.",
    "response": "The API's whole response body as compact JSON: the POST's when created, the GET's when reused, "
    "the PATCH's when archived.",
}
"""Every output and its description: action.yml and the README's table follow this (a test fails on drift)."""
OUTPUT_NAMES = tuple(OUTPUTS)
COMMENT_OUTPUTS = ("comment-id", "comment-url", "pr-number")
"""The outputs the comment step sets, after the others."""


class State(StrEnum):
    CREATED = "created"
    REUSED = "reused"
    ARCHIVED = "archived"
    SKIPPED = "skipped"
    DRY_RUN = "dry-run"
    FAILED = "failed"


class CommentResult(NamedTuple):
    """What the comment step did (a named tuple, as `Outcome`: a record this code fills, never a validation)."""

    comment_id: int | None = None
    url: str | None = None
    pr_number: int | None = None
    action: str = ""
    problem: str | None = None
    failed_exit: int = 0
    """1 when the comment failed and fail-on-comment-error asks the step to fail."""


class Outcome(NamedTuple):
    """Everything a run learned, in the order it learned it; each later step fills more."""

    state: State
    message: str = ""
    target: Target | None = None
    request: CreateSessionRequest | None = None
    response: CreateSessionResponse | None = None
    response_body: str | None = None
    session_url: str | None = None
    outcome_unknown: bool = False
    comment: CommentResult | None = None
    comment_note: str | None = None
    replaced: str | None = None
    """Why the session the comment recorded was not reused ("session X ended: ..."), when a new one replaces it."""

    @property
    def has_session(self) -> bool:
        """The run ends with a session it can link: created, reused or archived."""
        return self.state in {State.CREATED, State.REUSED, State.ARCHIVED} and self.response is not None

    @property
    def mismatches(self) -> list[str]:
        """Requested fields the session reports differently (the live server ignores them and answers null)."""
        if self.request is None or self.response is None:
            return []
        session = self.response.session
        asked = self.request
        pairs = [
            ("repository", f"{asked.repo_owner}/{asked.repo_name}", session.repository),
            ("clone URL", asked.clone_url, session.clone_url),
        ]
        if not asked.is_new_branch:
            pairs.append(("branch", asked.branch, session.branch))
        return [
            f"{name}: asked for {sent!r}, the session reports {reported!r}"
            for name, sent, reported in pairs
            if sent is not None and sent != reported
        ]


def session_url(app_url: str, response: CreateSessionResponse) -> str:
    session_id = quote(response.session.id, safe="")
    chat_id = quote(response.chat.id, safe="")
    return f"{app_url}/sessions/{session_id}/chats/{chat_id}"


def outputs(outcome: Outcome) -> dict[str, str]:
    """Every output, always: empty where the run did not learn the value."""
    values = dict.fromkeys(OUTPUT_NAMES, "")
    values["skipped"] = "true" if outcome.state is State.SKIPPED else "false"
    values["reused"] = "true" if outcome.state is State.REUSED else "false"
    values["outcome"] = outcome.state.value
    values["error"] = outcome.message if outcome.state is State.FAILED else ""
    if outcome.target and outcome.target.pull_request:
        values["pr-number"] = str(outcome.target.pull_request.number)
    if outcome.state is State.DRY_RUN and outcome.target:
        values["repository"] = outcome.target.repository.full_name
        values["branch"] = outcome.target.branch or ""
        values["clone-url"] = outcome.target.clone_url
    if outcome.response is not None:
        session = outcome.response.session
        values.update(
            {
                "session-id": session.id,
                "chat-id": outcome.response.chat.id,
                "session-url": outcome.session_url or "",
                "status": session.status or "",
                "lifecycle-state": session.lifecycle_state or "",
                "repository": session.repository or "",
                "branch": session.branch or "",
                "clone-url": session.clone_url or "",
                "response": outcome.response_body or "",
            }
        )
    if outcome.comment is not None:
        values["comment-id"] = str(outcome.comment.comment_id or "")
        values["comment-url"] = outcome.comment.url or ""
        if outcome.comment.pr_number is not None:
            values["pr-number"] = str(outcome.comment.pr_number)
    return values
