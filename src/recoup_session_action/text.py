"""Text the action shows but does not control, such as a server's message, a user's value, or a body that holds
a secret. Secrets are taken out, and the length is bounded, so a hostile or broken value cannot flood a log, an
output, a summary or a comment."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from pydantic import ValidationError

ELLIPSIS = "\u2026"
# Runs of C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every non-empty secret replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


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
