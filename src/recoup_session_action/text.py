"""Text the action shows but does not control, such as a server's message, a user's value, or a body that holds
a secret. Secrets are taken out, and the length is bounded, so a hostile or broken value cannot flood a log, an
output, a summary or a comment."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from pydantic import ValidationError

ELLIPSIS = "\u2026"
# Runs of C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every non-empty secret replaced by `***`, in whatever form it has reached `text`: raw, or
    with any of its characters escaped for Markdown or JSON (`\\_`, `\\u005f`), percent-encoded (`%5F`) or
    written as an HTML character reference (`&#95;`, `&lt;`), in any mix."""
    escaped: frozenset[str] | None = None
    for secret in secrets:
        if not secret:
            continue
        if escaped is None:
            escaped = _escaped_characters(text)
        if escaped.isdisjoint(secret) and not ("@" in secret and _ZERO_WIDTH_SPACE in escaped):
            text = text.replace(secret, "***")  # only the raw form can be here: what the pattern would find
        elif _raw_stretches_present(text, secret, escaped):
            text = secret_pattern(secret).sub("***", text)
    return text


def _raw_stretches_present(text: str, secret: str, escaped: frozenset[str]) -> bool:
    """Whether each stretch of `secret` between the characters in `escaped` (and '@', which may be followed by a
    zero-width space) is in `text` as it is. A character no escaped form in `text` stands for can only be there
    raw, so where a stretch is missing, the secret is in no form and its pattern need not be compiled."""
    start = 0
    for end, char in enumerate(secret):
        if char in escaped or char == "@":
            if secret[start:end] not in text:
                return False
            start = end + 1
    return secret[start:] in text


_ZERO_WIDTH_SPACE = "\u200b"
# Any escaped form of any character, looked for at every position (a lookahead, so forms may overlap).
_ESCAPED_FORM = re.compile(
    r"(?=\\(u[0-9a-fA-F]{4}|[\s\S])|%([0-9a-fA-F]{2})|&#(?:0*(\d{1,7})|[xX]0*([0-9a-fA-F]{1,6}));|&(amp|lt|gt|quot);)"
)


def _escaped_characters(text: str) -> frozenset[str]:
    """Every character that some escaped form in `text` may stand for (a superset), and a zero-width space if
    `text` holds one in any form. Compiling a secret's pattern costs milliseconds; where none of the secret's
    characters is written escaped, the pattern can only find the secret as it is, and a plain replace does."""
    found = {_ZERO_WIDTH_SPACE} if _ZERO_WIDTH_SPACE in text else set()
    if not any(start in text for start in "\\%&"):
        return frozenset(found)
    for escaped, percent, decimal, hexadecimal, named in _ESCAPED_FORM.findall(text):
        if escaped:
            found.add(escaped[0])
            if len(escaped) == 5:
                found.add(chr(int(escaped[1:], 16)))
        elif percent:
            found.add(chr(int(percent, 16)))
        elif decimal or hexadecimal:
            code = int(decimal, 10) if decimal else int(hexadecimal, 16)
            if code <= sys.maxunicode:
                found.add(chr(code))
        else:
            found.add(_NAMED_CHARACTERS[named])
    return frozenset(found)


_NAMED_REFERENCES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_NAMED_CHARACTERS = {reference[1:-1]: char for char, reference in _NAMED_REFERENCES.items()}
# What markdown.text puts after an '@' so that it cannot mention anyone.
_AFTER_AT = "(?:&#8203;|\u200b)?"


@lru_cache(maxsize=16)
def secret_pattern(secret: str) -> re.Pattern[str]:
    """A pattern for `secret` in every form listed in `redact`, each character in any of its forms."""
    return re.compile("".join(_character_forms(char) for char in secret))


def _character_forms(char: str) -> str:
    code = ord(char)
    forms = [re.escape(char), re.escape("\\" + char), f"\\\\u(?i:{code:04x})"]
    if code < 0x80:
        forms.append(f"%(?i:{code:02x})")
    forms += [f"&#0*{code};", f"&#(?i:x0*{code:x});"]
    if char in _NAMED_REFERENCES:
        forms.append(re.escape(_NAMED_REFERENCES[char]))
    return f"(?:{'|'.join(forms)})" + (_AFTER_AT if char == "@" else "")


def shorten(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters; otherwise its start and an ellipsis, `limit` characters in all."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def one_line(text: str, limit: int) -> str:
    """Untrusted text on one bounded line: each run of control characters becomes one space."""
    return shorten(CONTROL_CHARACTERS.sub(" ", text).strip(), limit)


def quoted(value: str, limit: int = 80) -> str:
    """A value quoted for an error message, cut short so a hostile value cannot flood the log."""
    return repr(shorten(value, limit))


class FirstError(NamedTuple):
    where: str
    message: str
    kind: str


def first_validation_error(error: ValidationError) -> FirstError:
    """The first problem of a pydantic error: where (a dotted path, empty for the root), what, and its type."""
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return FirstError(where, str(first["msg"]).removeprefix("Value error, "), first["type"])
