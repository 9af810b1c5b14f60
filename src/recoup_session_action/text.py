"""Text the action shows but does not control, such as a server's message, a user's value, or a body that holds
a secret. Secrets are taken out, and the length is bounded, so a hostile or broken value cannot flood a log, an
output, a summary or a comment."""

from __future__ import annotations

import re
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
    for secret in secrets:
        if secret:
            text = secret_pattern(secret).sub("***", text)
    return text


_NAMED_REFERENCES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
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
