"""Escaping for text that users or servers control, before it goes into Markdown (summary, comment)."""

from __future__ import annotations

import html
import re

from .text import shorten

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")


def text(value: str, limit: int = 300) -> str:
    """Inline text that renders literally: no Markdown, no HTML, no @-mentions, one line, bounded length."""
    one_line = shorten(_LINE_BREAKS.sub(" ", value), limit)
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(one_line, quote=False))
    return escaped.replace("@", "@&#8203;")


def code(value: str, limit: int = 300) -> str:
    """An identifier as inline code, where nothing renders; `text` where a backtick or line break would end it."""
    if "`" in value or _LINE_BREAKS.search(value) or len(value) > limit or not value.strip():
        return text(value, limit)
    return f"`{value}`"


def link(label: str, url: str) -> str:
    """A Markdown link whose label is escaped and whose URL cannot close the link early."""
    safe_url = url.replace("(", "%28").replace(")", "%29").replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")
    return f"[{text(label)}]({safe_url})"


def table(rows: list[tuple[str, str]]) -> str:
    """A two-column table; cells must already be escaped."""
    lines = ["| | |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)]
    return "\n".join(lines) + "\n"
