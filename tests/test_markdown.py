"""Escaping of untrusted text for the summary and the comment."""

from __future__ import annotations

from recoup_session_action import markdown


def test_text_renders_literally_on_one_line_without_mentions() -> None:
    escaped = markdown.text("fix <b>it</b> @org/team [x](javascript:y) | a\n## b")
    assert "<b>" not in escaped
    assert "&lt;b&gt;" in escaped
    assert "@&#8203;org/team" in escaped
    assert "\\[x\\]\\(javascript:y\\)" in escaped
    assert "\\|" in escaped
    assert "\n" not in escaped


def test_text_is_bounded() -> None:
    assert len(markdown.text("x" * 10_000, limit=50)) == 50


def test_code_keeps_identifiers_verbatim_unless_they_could_escape_the_span() -> None:
    assert markdown.code("d0ca13e5-c135") == "`d0ca13e5-c135`"
    assert markdown.code("a`b") == markdown.text("a`b")
    assert markdown.code("a\nb") == markdown.text("a\nb")


def test_link_url_cannot_close_the_link_early() -> None:
    assert markdown.link("Open", "https://x/a) [evil](y") == "[Open](https://x/a%29%20%5Bevil%5D%28y)"
