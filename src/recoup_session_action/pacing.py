"""The pauses a run chooses for itself: before retrying a request, and between looks at a claim of another run.

The defaults are the real pauses, which every run as a program keeps. `flow.Seams.pacing` is where a run in
the test process is given shorter ones, so that a retry or a wait costs milliseconds there; waits that a server
asks for (`Retry-After`) and every timeout stay as they are.
"""

from __future__ import annotations

from typing import NamedTuple


class Pacing(NamedTuple):
    claim_poll_seconds: float = 1.0
    """Between two looks at the comment another run claimed, until it records a session."""
    github_backoff_factor: float = 0.5
    """urllib3's backoff factor for PyGithub's three retries: no pause before the first, then 1 s, then 2 s."""
    recoupable_backoff_seconds: float = 0.5
    """Before retry n of a Recoupable request: a random pause of up to this times 2**n (at most 16 times this)."""


REAL_PACING = Pacing()
"""The pauses of every run as a program."""
