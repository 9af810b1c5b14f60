"""Text the action shows but does not control, such as a server's message, a user's value, or a body that holds
a secret. Secrets are taken out, and the length is bounded, so a hostile or broken value cannot flood a log, an
output, a summary or a comment."""

from __future__ import annotations

from collections.abc import Iterable

ELLIPSIS = "\u2026"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every non-empty secret replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def shorten(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters; otherwise its start and an ellipsis, `limit` characters in all."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS
