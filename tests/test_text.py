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


def test_redact_finds_a_secret_in_every_escaped_form_and_any_mix_of_them() -> None:
    secret = "recoup_sk_a-b.c@d&e"
    forms = [
        secret,
        "recoup\\_sk\\_a\\-b\\.c@&#8203;d&amp;e",
        "\\u0072ecoup\\u005Fsk_a-b.c@d\\u0026e",
        "%72ecoup%5fsk%5Fa-b.c%40d%26e",
        "&#114;ecoup&#x5f;sk_a-b.c@d&e",
    ]
    for form in forms:
        assert redact(f"<{form}>", [secret]) == "<***>", form
    assert redact("recoup_sk_a-b.c@d&f", [secret]) == "recoup_sk_a-b.c@d&f"
