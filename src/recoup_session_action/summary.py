"""The job summary: a heading that says what happened, then the facts. Pure functions."""

from __future__ import annotations

import json

from . import markdown
from .context import Target
from .outcome import Outcome, State
from .recoupable_models import CreateSessionRequest


def summary(outcome: Outcome) -> str:
    """The job summary: a heading that says what happened, then the facts."""
    heading = {
        State.CREATED: "Recoupable session created",
        State.REUSED: "Recoupable session reused",
        State.ARCHIVED: "Recoupable session archived",
        State.SKIPPED: "Recoupable session skipped",
        State.DRY_RUN: "Recoupable session: dry run (nothing sent)",
        State.FAILED: "Recoupable session not created",
    }[outcome.state]
    parts = [f"### {heading}\n\n"]
    if outcome.message:
        parts.append(f"{markdown.text(outcome.message, limit=1000)}\n\n")
    if outcome.response is not None and outcome.session_url:
        parts.append(f"**{markdown.link('Open the session', outcome.session_url)}**\n\n")
    if outcome.replaced:
        parts.append(f"It replaces {markdown.text(outcome.replaced)}.\n\n")
    parts.append(markdown.table(_summary_rows(outcome)))
    for mismatch in outcome.mismatches:
        parts.append(f"\n> [!WARNING]\n> {markdown.text(mismatch)}\n")
    if outcome.outcome_unknown:
        parts.append(
            "\n> [!CAUTION]\n> A session may have been created anyway (the API has no idempotency key): "
            "look in Recoupable before running this again.\n"
        )
    if outcome.state is State.DRY_RUN and outcome.request is not None:
        body = markdown.visible(json.dumps(outcome.request.body(), indent=2, ensure_ascii=False), "\\u{:04x}")
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
