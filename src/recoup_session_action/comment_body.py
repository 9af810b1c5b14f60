"""What the sticky comment says: a hidden marker that finds it again, then the default body or the user's
template, escaped and within GitHub's length limit. Pure functions."""

from __future__ import annotations

from datetime import UTC, datetime

from . import markdown
from .context import RunnerEnv
from .github_rules import COMMENT_LIMIT
from .inputs import PLACEHOLDER, Settings
from .outcome import Outcome
from .text import shorten


def marker(tag: str) -> str:
    return f"<!-- recoup-session-action:{tag} -->"


def render_body(settings: Settings, env: RunnerEnv, outcome: Outcome) -> str:
    """The comment: our marker, then the default body or the user's template, within GitHub's limit."""
    values = _placeholder_values(env, outcome)
    if settings.comment_template:
        # One pass: a value that happens to contain "{branch}" is not substituted again; "{{" and "}}" are braces.
        content = PLACEHOLDER.sub(lambda found: values.get(found[1], found[0][0]), settings.comment_template)
    else:
        content = _default_body(outcome, values)
    body = f"{marker(settings.comment_tag)}\n{content}"
    return shorten(body, COMMENT_LIMIT)


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
