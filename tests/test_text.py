"""Text the action shows but does not control: secrets redacted, length bounded."""

from __future__ import annotations

import random

from recoup_session_action.text import ELLIPSIS, redact, secret_pattern, shorten


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


def _escaped_forms(char: str) -> list[str]:
    code = ord(char)
    forms = [char, f"\\{char}", f"\\u{code:04x}", f"\\u{code:04X}", f"&#{code};", f"&#00{code};", f"&#x{code:x};"]
    forms += [f"%{code:02X}"] if code < 0x80 else []
    forms += {"&": ["&amp;"], "<": ["&lt;"]}.get(char, [])
    return forms


def test_redact_finds_exactly_what_the_secrets_pattern_finds_in_any_text() -> None:
    """Where no character of the secret is written escaped, redact replaces the raw secret without compiling its
    pattern: generated texts (the secret in mixed forms among escapes of other characters) show the result is
    always the pattern's."""
    alphabet = "ab_@&<\\u0%#;x5fA\u200b"
    generate = random.Random(14)  # noqa: S311 (reproducible test data, not a secret)
    for _ in range(3000):
        secret = "".join(generate.choice(alphabet) for _ in range(generate.randint(1, 5)))
        parts = []
        for _ in range(generate.randint(0, 4)):
            if generate.random() < 0.5:
                after_at = ["", "\u200b", "&#8203;"]
                parts.append(
                    "".join(
                        generate.choice(_escaped_forms(c)) + (generate.choice(after_at) if c == "@" else "")
                        for c in secret
                    )
                )
            else:
                parts.append("".join(generate.choice(alphabet) for _ in range(generate.randint(0, 8))))
        text = "".join(parts)
        assert redact(text, [secret]) == secret_pattern(secret).sub("***", text), (secret, text)


def test_redact_compiles_no_pattern_where_no_character_of_the_secret_is_escaped() -> None:
    secret_pattern.cache_clear()
    summary = '| Pull request | \\#7 |\n```json\n{\\u000a "key": "rk_live_abc"}\n``` &amp; 100%'
    assert redact(summary, ["rk_live_abc"]) == summary.replace("rk_live_abc", "***")
    assert secret_pattern.cache_info().currsize == 0
    assert redact("key: rk\\_live\\_abc", ["rk_live_abc"]) == "key: ***"
    assert secret_pattern.cache_info().currsize == 1


def test_redact_compiles_no_pattern_where_a_stretch_of_the_secret_only_written_raw_is_missing() -> None:
    """The secret's '_' is written escaped in the text, so its pattern would be needed to find it; but 'live'
    and 'abc' can only be there raw, and 'abc' is not, so the secret is in no form."""
    secret_pattern.cache_clear()
    summary = "| Branch | feat\\_live\\_ab |\n| Key | rk\\_live\\_abd |"
    assert redact(summary, ["rk_live_abc"]) == summary
    assert secret_pattern.cache_info().currsize == 0
    assert redact(summary + " rk\\_live\\_abc", ["rk_live_abc"]) == summary + " ***"
    assert secret_pattern.cache_info().currsize == 1
