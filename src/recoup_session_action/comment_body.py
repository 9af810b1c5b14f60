"""What the sticky comment says: a hidden marker that finds it again, then the default body or the user's
template, escaped and within GitHub's length limit. Pure functions."""

from __future__ import annotations

from datetime import UTC, datetime

from . import markdown
from .comment_record import CLAIM, CommentRecord, marker
from .context import RunnerEnv
from .github_api import IssueComment
from .github_rules import COMMENT_LIMIT
from .inputs import PLACEHOLDER, Settings
from .outcome import Outcome, State
from .text import shorten

__all__ = ["claim_body", "failed_body", "marker", "noted_body", "record_of", "render_body"]


_NOTE_START = "> [!"


def record_of(outcome: Outcome) -> CommentRecord:
    """What the comment records for a run that has a session."""
    assert outcome.response is not None
    return CommentRecord(
        session_id=outcome.response.session.id,
        chat_id=outcome.response.chat.id,
        archived=outcome.state is State.ARCHIVED,
    )


def claim_body(tag: str, env: RunnerEnv) -> str:
    """The claim a run posts before it creates a session: the pull request shows at once that one is coming."""
    run = f" ({markdown.link('view run', env.run_url)})" if env.run_url else ""
    return f"{marker(tag, CLAIM)}\n### Recoupable session\n\nStarting a Recoupable session...{run}\n"


def render_body(settings: Settings, env: RunnerEnv, outcome: Outcome) -> str:
    """The comment: our marker with the record, then the default body or the user's template, within GitHub's
    limit; a note above it when the session replaces an ended one or was archived."""
    values = _placeholder_values(env, outcome)
    if settings.comment_template:
        # One pass: a value that happens to contain "{branch}" is not substituted again; "{{" and "}}" are braces.
        content = PLACEHOLDER.sub(lambda found: values.get(found[1], found[0][0]), settings.comment_template)
    else:
        content = _default_body(outcome, values)
    notes = []
    if outcome.state is State.ARCHIVED:
        notes.append("The pull request was closed: the session was archived.")
    if outcome.replaced:
        notes.append(f"This is a new session: it replaces {markdown.text(outcome.replaced)}.")
    return _with_notes(settings.comment_tag, record_of(outcome), content, notes, "NOTE")


def failed_body(
    tag: str, previous: IssueComment | None, record: CommentRecord | None, env: RunnerEnv, reason: str
) -> str:
    """The comment after a failed run: the link it had stays, and above it, that the latest run failed."""
    run = f" ({markdown.link('view run', env.run_url)})" if env.run_url else ""
    note = f"The latest run failed: {markdown.text(reason, limit=500)}{run}"
    if record is not None and record.has_session and previous is not None:
        return _with_notes(tag, record, _content(previous.body), [note], "WARNING")
    failed = CommentRecord(failed=True)
    return _with_notes(tag, failed, "### Recoupable session\n\nNo session was created.\n", [note], "WARNING")


def noted_body(tag: str, previous: IssueComment, record: CommentRecord, note: str) -> str:
    """The comment as it was, with `note` above it (a closed pull request whose session is kept)."""
    return _with_notes(tag, record, _content(previous.body), [note], "NOTE")


def _with_notes(tag: str, record: CommentRecord, content: str, notes: list[str], kind: str) -> str:
    block = f"> [!{kind}]\n" + "\n>\n".join(f"> {note}" for note in notes) + "\n\n" if notes else ""
    return shorten(f"{marker(tag, record)}\n{block}{content}", COMMENT_LIMIT)


def _content(body: str) -> str:
    """A comment's text below the marker, without the note an earlier run put above it."""
    content = body.partition("\n")[2]
    if content.startswith(_NOTE_START):
        content = content.partition("\n\n")[2]
    return content


def _placeholder_values(env: RunnerEnv, outcome: Outcome) -> dict[str, str]:
    assert outcome.response is not None
    assert outcome.target is not None
    session = outcome.response.session
    # Each value works wherever a template puts it: inline text (ids too, without backticks, so they also fit in
    # a code span or a link's label), and URLs usable as a link's destination.
    return {
        "session_url": markdown.url(outcome.session_url or ""),
        "session_id": markdown.text(session.id),
        "chat_id": markdown.text(outcome.response.chat.id),
        "repository": markdown.text(outcome.target.repository.full_name),
        "branch": markdown.text(outcome.target.branch or "a new branch"),
        "status": markdown.text(session.status or "unknown"),
        "run_url": markdown.url(env.run_url or ""),
    }


def _default_body(outcome: Outcome, values: dict[str, str]) -> str:
    assert outcome.response is not None
    session = outcome.response.session
    rows = [
        ("Session", markdown.code(session.id)),
        ("Chat", markdown.code(outcome.response.chat.id)),
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
