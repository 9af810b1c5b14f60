"""Text the action shows but does not control: secrets redacted, length bounded."""

from __future__ import annotations

from recoup_session_action.text import ELLIPSIS, redact, shorten


def test_redact_replaces_every_occurrence_of_every_non_empty_secret() -> None:
    assert redact("key k1, token t2, key k1", ["k1", "", "t2"]) == "key ***, token ***, key ***"
    assert redact("nothing here", []) == "nothing here"


def test_shorten_keeps_what_fits_and_cuts_the_rest_to_exactly_the_limit() -> None:
    assert shorten("abcde", 5) == "abcde"
    assert shorten("abcdef", 5) == f"abcd{ELLIPSIS}"
    assert len(shorten("x" * 1000, 300)) == 300
