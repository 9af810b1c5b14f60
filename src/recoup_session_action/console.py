"""Reports to a person at a terminal: short lines on stderr, the outputs collected for the final print."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from .text import CONTROL_CHARACTERS, redact

if TYPE_CHECKING:
    import re


def printable(text: str) -> str:
    """Text with terminal control characters (escape sequences from hostile values) made visible, line by line."""
    return "\n".join(CONTROL_CHARACTERS.sub(_visible, line) for line in text.split("\n"))


def _visible(match: re.Match[str]) -> str:
    return "".join(f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}" for char in match.group())


class ConsoleReporter:
    def __init__(self, stream: TextIO, *, verbose: bool, secrets: Iterable[str] = ()) -> None:
        """Each of `secrets` is redacted, in every form (see `text.redact`), from all it prints or collects."""
        self._secrets = tuple(secret.strip() for secret in secrets if secret.strip())
        self._stream = stream
        self._verbose = verbose
        self._depth = 0
        self.outputs: dict[str, str] = {}

    def info(self, text: str) -> None:
        if self._verbose or self._depth == 0:
            self._print(text)

    def notice(self, text: str, title: str | None = None) -> None:
        self._print(f"note: {text}")

    def warning(self, text: str, title: str | None = None) -> None:
        self._print(f"warning: {text}")

    def error(self, text: str, title: str | None = None) -> None:
        self._print(f"error: {text}")

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        if self._verbose:
            self._print(f"-- {title}")
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    def set_outputs(self, outputs: Mapping[str, str]) -> None:
        self.outputs.update({name: redact(value, self._secrets) for name, value in outputs.items()})

    def add_summary(self, markdown: str) -> None:
        """The job summary is for runners; a terminal gets the outputs instead."""

    def _print(self, text: str) -> None:
        self._stream.write(printable(redact(text, self._secrets)) + "\n")
        self._stream.flush()
