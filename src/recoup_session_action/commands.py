"""`/recoup` comments: whether an issue_comment asks for a session, and what it asks for. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass

from .context import EventFacts
from .inputs import MAX_TITLE_LENGTH, Settings
from .text import one_line


@dataclass(frozen=True)
class Command:
    """What a comment that starts with the command asks: `/recoup new` forces a new session; the rest of the
    line, if any, is the title (unless the `title` input is set)."""

    force_new: bool = False
    title: str | None = None


def parse_command_comment(facts: EventFacts, settings: Settings) -> Command | str | None:
    """The command of an issue_comment; a skip reason when the comment is not one; None for other events, or
    when `command` is empty (every comment passes, the workflow's `if:` decides)."""
    if facts.event_name != "issue_comment" or not settings.command:
        return None
    lines = (facts.comment_body or "").strip().splitlines()
    words = lines[0].split() if lines else []
    if not words or words[0] != settings.command:
        return f"The comment does not start with {settings.command}: no session created."
    rest = words[1:]
    force_new = bool(rest) and rest[0] == "new"
    title_words = rest[1:] if force_new else rest
    title = one_line(" ".join(title_words), MAX_TITLE_LENGTH) or None
    return Command(force_new=force_new, title=title)
