"""What a run tells the user: the `Outcome`, the step outputs and the job summary. Pure functions."""

from __future__ import annotations

import json
from enum import StrEnum
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict

from . import markdown
from .context import Target
from .models import CreateSessionRequest, CreateSessionResponse

OUTPUT_NAMES = (
    "session-id",
    "chat-id",
    "session-url",
    "status",
    "lifecycle-state",
    "repository",
    "branch",
    "clone-url",
    "pr-number",
    "comment-id",
    "comment-url",
    "skipped",
    "outcome",
    "error",
    "response",
)


class State(StrEnum):
    CREATED = "created"
    SKIPPED = "skipped"
    DRY_RUN = "dry-run"
    FAILED = "failed"


class CommentResult(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    comment_id: int | None = None
    url: str | None = None
    pr_number: int | None = None
    action: str = ""
    problem: str | None = None


class Outcome(BaseModel):
    """Everything a run learned, in the order it learned it; each later step fills more."""

    model_config = ConfigDict(frozen=True, defer_build=True)

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


def summary(outcome: Outcome) -> str:
    """The job summary: a heading that says what happened, then the facts."""
    heading = {
        State.CREATED: "Recoupable session created",
        State.SKIPPED: "Recoupable session skipped",
        State.DRY_RUN: "Recoupable session: dry run (nothing sent)",
        State.FAILED: "Recoupable session not created",
    }[outcome.state]
    parts = [f"### {heading}\n\n"]
    if outcome.message:
        parts.append(f"{markdown.text(outcome.message, limit=1000)}\n\n")
    if outcome.response is not None and outcome.session_url:
        parts.append(f"**{markdown.link('Open the session', outcome.session_url)}**\n\n")
    parts.append(markdown.table(_summary_rows(outcome)))
    for mismatch in outcome.mismatches:
        parts.append(f"\n> [!WARNING]\n> {markdown.text(mismatch)}\n")
    if outcome.outcome_unknown:
        parts.append(
            "\n> [!CAUTION]\n> A session may have been created anyway (the API has no idempotency key): "
            "look in Recoupable before running this again.\n"
        )
    if outcome.state is State.DRY_RUN and outcome.request is not None:
        body = json.dumps(outcome.request.body(), indent=2, ensure_ascii=False)
        parts.append(f"\nRequest that would be sent:\n\n```json\n{body.replace('```', '` ` `')}\n```\n")
    return "".join(parts) + "\n"


def comment_summary(outcome: Outcome) -> str:
    """The line added to the summary once the pull-request comment step is over."""
    if outcome.comment is not None and outcome.comment.url:
        return f"Pull-request comment {outcome.comment.action}: {markdown.link('view it', outcome.comment.url)}\n\n"
    return f"Pull-request comment: {markdown.text(outcome.comment_note or 'none')}\n\n"


def _summary_rows(outcome: Outcome) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    target, request, response = outcome.target, outcome.request, outcome.response
    if response is not None:
        session = response.session
        rows += [
            ("Session", markdown.code(session.id)),
            ("Chat", markdown.code(response.chat.id)),
            ("Status", markdown.text(session.status or "not reported")),
            ("Lifecycle state", markdown.text(session.lifecycle_state or "not reported")),
        ]
    if target is not None:
        rows.append(("Repository asked for", markdown.text(target.repository.full_name)))
        rows.append(("Branch asked for", markdown.text(_branch_asked(target, request))))
        if target.pull_request is not None:
            kind = "Issue" if target.pull_request.is_issue else "Pull request"
            rows.append((kind, f"\\#{target.pull_request.number}"))
    if response is not None:
        session = response.session
        rows.append(("Repository reported", markdown.text(session.repository or "not reported")))
        rows.append(("Branch reported", markdown.text(session.branch or "not reported")))
    return rows


def _branch_asked(target: Target, request: CreateSessionRequest | None) -> str:
    if request is not None and request.is_new_branch:
        return f"a new branch{f' from {target.branch}' if target.branch else ''}"
    return target.branch or ""
