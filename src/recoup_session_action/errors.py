"""Every way a run can fail, in one place, and what each becomes.

    Exception
     +-- InputError      an input breaks its rule            -> outcome failed, exit 1, nothing sent
     +-- ContextError    the event or checkout says too little -> outcome failed, exit 1, nothing sent
     +-- ApiFailure      the Recoupable API refused, broke or   -> outcome failed, exit 1; `outcome_unknown`
     |                   could not be reached                      adds "a session may exist" everywhere
     +-- GitHubError     a GitHub call failed                   -> before the session: like ContextError;
     |    +-- GitHubGone GitHub answered 404                       after it: a warning, the session is kept
     +-- SetupError      a proxy or CA variable cannot work     -> outcome failed, exit 1, nothing sent
     +-- SinkError       the step outputs or the job summary    -> an annotation naming the file; a created
                         could not be written                      session is still named, with its link
    BaseException
     +-- deadline.DeadlineExceeded  timeout-seconds is up       -> the step that set the deadline says so
     +-- deadline.Cancelled         SIGTERM or SIGINT           -> outputs and summary say what may exist

Every message is one line, safe to print: no secret, no traceback. Any other exception is a bug: the flow
still ends it in one line, outputs and a summary, and asks for a report.
"""

from __future__ import annotations


class InputError(ValueError):
    """An input that fails its rule; the message names the input and the rule, never a secret's value."""


class ContextError(ValueError):
    """The event (or the local checkout) does not say enough, or says something invalid."""


class ApiFailure(Exception):
    """The session could not be created (or its creation could not be confirmed)."""

    def __init__(self, message: str, *, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.outcome_unknown = outcome_unknown


class GitHubError(Exception):
    """A GitHub call failed; the message names the fix where there is one."""


class GitHubGone(GitHubError):
    """GitHub answered 404: the thing asked for does not exist (or the token may not see it)."""


class SetupError(ValueError):
    """A setting of the process environment (a proxy, a CA file) that cannot work; the message names it."""


class SinkError(Exception):
    """A report could not be written where the runner reads it; the message names the file and why."""
