"""One deadline for a whole step, and the signals that end a run early.

A per-read timeout does not bound a step: a server that sends one byte just before each read times out keeps it
alive indefinitely, retries and waits add up, and the GitHub client retries on its own. `Deadline.enforced`
bounds everything inside it at once, and `Budget` bounds the sum of several such blocks: when the time is up,
the main thread is interrupted wherever it is blocked (connect, TLS, a read, a retry's sleep) by
`DeadlineExceeded`, which the code that opened the block turns into its own one-line failure.

The image runs the script as PID 1, where SIGTERM and SIGINT do nothing unless handled: `cancel_on_signals`
makes either one raise `Cancelled` in the main thread, so a cancelled run still reports what it knows.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import NamedTuple


class DeadlineExceeded(BaseException):
    """The time of an enforced `Deadline` is up. A BaseException, so no `except Exception` swallows it."""


class Cancelled(BaseException):
    """The run was asked to stop (SIGTERM when a workflow run is cancelled, SIGINT for Ctrl-C)."""

    def __init__(self, signal_name: str, exit_code: int) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.exit_code = exit_code


class Deadline(NamedTuple):
    seconds: float
    ends_at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(seconds, time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.ends_at - time.monotonic()

    @contextmanager
    def enforced(self) -> Iterator[None]:
        """Raise `DeadlineExceeded` in the block once the deadline has passed, whatever the block waits for.

        Only the main thread can be interrupted (signals are delivered there); in another thread the block runs
        with only the timeouts its own calls set."""
        if threading.current_thread() is not threading.main_thread() or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
            yield  # not the main thread, or inside a block already enforced (whose deadline holds)
            return
        previous = signal.signal(signal.SIGALRM, _raise_deadline_exceeded)
        signal.setitimer(signal.ITIMER_REAL, max(self.remaining(), 0.001))
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


class Budget:
    """Time to spend across several calls, the waits between them not counted: one budget for a whole step
    whose calls are separated by pauses the step chose (polling, backoff) and by other work."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._left = seconds

    @contextmanager
    def spend(self) -> Iterator[None]:
        """Run the block under what is left of the budget (`DeadlineExceeded` once it is spent)."""
        if self._left <= 0:
            raise DeadlineExceeded
        started = time.monotonic()
        try:
            with Deadline.after(self._left).enforced():
                yield
        finally:
            self._left -= time.monotonic() - started


def _raise_deadline_exceeded(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    raise DeadlineExceeded


def cancel_on_signals() -> None:
    """From now on, SIGTERM or SIGINT raises `Cancelled` in the main thread (once: later signals are ignored, so
    the report of the cancelled run can be finished)."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _raise_cancelled)


def _raise_cancelled(signum: int, frame: FrameType | None) -> None:
    del frame
    for other in (signal.SIGTERM, signal.SIGINT):
        signal.signal(other, signal.SIG_IGN)
    raise Cancelled(signal.Signals(signum).name, 128 + signum)
