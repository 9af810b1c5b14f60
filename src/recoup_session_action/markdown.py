"""Escaping for text that users or servers control, before it goes into Markdown (summary, comment)."""

from __future__ import annotations

import re
import unicodedata

from .text import shorten

# Characters that can start Markdown or end a construct anywhere in a line. Not among them: '_', escaped only at
# a word's edge (inside one, as in `feat_search`, it emphasises nothing), and '-', '.', '+', '=', which matter only
# at the start of a line (lists, setext headings), where `_LINE_START` escapes them.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*{}\[\]()#!|~])")
_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_LINE_START = re.compile(r"^(\d*)([-+=.])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
# Categories of characters that show nothing, or change how the text around them is shown: controls, format
# characters (zero-width and bidirectional ones among them), surrogates, private use, line separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_URL_UNSAFE = re.compile(r"[^A-Za-z0-9\-._~:/?#@!$&'*+,;=%]")


def visible(value: str, escape: str = "U+{:04X}") -> str:
    """`value` with each invisible or bidirectional control character written out (`U+202E`)."""
    return "".join(
        escape.format(ord(char)) if unicodedata.category(char) in _INVISIBLE_CATEGORIES else char for char in value
    )


def _escape_html(value: str) -> str:
    """`html.escape(value, quote=False)`, without importing `html` (and its table of entities) for three
    replacements."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def text(value: str, limit: int = 300) -> str:
    """Inline text that renders literally: no Markdown, no HTML, no @-mentions, no invisible or bidirectional
    characters, one line, bounded length. '-' and '.' are kept as they are except where a line could start."""
    one_line = visible(shorten(_LINE_BREAKS.sub(" ", value), limit))
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", _escape_html(one_line))
    escaped = _EDGE_UNDERSCORE.sub(r"\\_", escaped)
    escaped = _LINE_START.sub(r"\1\\\2", escaped)
    return escaped.replace("@", "@&#8203;")


def code(value: str, limit: int = 300) -> str:
    """An identifier as inline code, where nothing renders; `text` where a backtick, a line break or an invisible
    character would end or disguise it."""
    if "`" in value or visible(value) != value or len(value) > limit or not value.strip():
        return text(value, limit)
    return f"`{value}`"


def url(value: str) -> str:
    """A URL usable as a Markdown link's destination: everything that could end the link, or that a URL may not
    hold raw (spaces, brackets, parentheses, backslashes, non-ASCII), percent-encoded."""
    return _URL_UNSAFE.sub(lambda found: "".join(f"%{byte:02X}" for byte in found[0].encode()), value)


def link(label: str, destination: str) -> str:
    """A Markdown link whose label is escaped and whose URL cannot close the link early."""
    return f"[{text(label)}]({url(destination)})"


def table(rows: list[tuple[str, str]]) -> str:
    """A two-column table; cells must already be escaped."""
    lines = ["| | |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)]
    return "\n".join(lines) + "\n"
