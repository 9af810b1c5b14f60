"""One comment, one session per pull request: the claim that makes concurrent runs agree before any POST.

A run with `session: reuse` looks at our comments on the pull request (or issue) before it creates anything:

- none: it posts a claim ("Starting a Recoupable session..."), lists again, and the oldest claim wins. The
  winner creates the session and records it in its claim; every other run deletes its own claim and waits for
  the winner's comment to record a session, then reuses that session.
- the oldest records a session: the run checks it and reuses it. If it ended, the runs that want to replace it
  post claims beside it and hold the same election among those claims (`decide_replacement`): the winner writes
  the new session into the recorded comment and deletes its claim; the others wait for that and reuse it.
- the oldest is a claim that never recorded a session and was last written more than `stale_after` seconds ago
  by GitHub's clock (its `Date` header against the comment's own timestamps; the runner's clock plays no part),
  or whose run said it failed: the run deletes it and claims afresh. GitHub has no conditional update, so a
  claim is never taken over by editing it; a fresh claim and the same election is what stays safe.
- newer comments of ours that are not a live claim are leftovers of killed or older runs: deleted.

`decide` is the pure rule over one listing; `settle` drives it through a `GitHubApi`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from .comment_record import CommentRecord, has_marker, read_record
from .errors import GitHubError, GitHubGone
from .github_api import GitHubApi, IssueComment
from .pacing import REAL_PACING

STALE_MARGIN_SECONDS = 10.0
MAX_ROUNDS = 8


def stale_after(timeout_seconds: float) -> float:
    """How long a claim may go unrecorded before it is stale: the winner's budget for the GitHub calls and the
    POST (each bounded by timeout-seconds), and a margin for clocks and whole-second timestamps."""
    return 2 * timeout_seconds + STALE_MARGIN_SECONDS


# -- the rule -------------------------------------------------------------------------------------------------


# Each kind of step or result is its own class, told apart by `match` and `isinstance` (never by `==`: as named
# tuples, kinds with equal fields compare equal); those that carry the same fields share one named tuple.


class _OnComment(NamedTuple):
    comment: IssueComment


class _OnRecord(NamedTuple):
    comment: IssueComment
    record: CommentRecord


class Claim(NamedTuple):
    """No comment of ours: post a claim."""


class Elected(_OnComment):
    """Our claim is the oldest: create the session and record it in `comment`."""


class Lost(NamedTuple):
    """An older comment of ours exists: delete our claim `mine`, then follow the older one."""

    mine: IssueComment


class Use(_OnRecord):
    """The oldest comment records a session."""


class Wait(_OnComment):
    """The oldest comment is another run's live claim: wait for it to record a session."""


class TakeOver(_OnComment):
    """The oldest comment is a stale or failed claim: delete it and claim afresh."""


class Adopt(_OnComment):
    """The oldest comment carries our marker without a record (an older version wrote it): write into it."""


Step = Claim | Elected | Lost | Use | Wait | TakeOver | Adopt


def is_stale(comment: IssueComment, stale_seconds: float) -> bool:
    age = comment.age_seconds
    return age is not None and age > stale_seconds


def decide(
    ours: Sequence[IssueComment], tag: str, stale_seconds: float, mine: int | None = None
) -> tuple[Step, list[IssueComment]]:
    """The next step over one listing of our comments (oldest first), and the leftovers to delete."""
    if not ours:
        return Claim(), []
    oldest, newer = ours[0], ours[1:]
    leftovers = [comment for comment in newer if comment.id != mine and _settled(comment, tag, stale_seconds)]
    if mine is not None and oldest.id == mine:
        return Elected(oldest), leftovers
    mine_found = next((comment for comment in newer if comment.id == mine), None)
    if mine_found is not None:
        return Lost(mine_found), []
    record = read_record(oldest.body, tag)
    if record is None:
        return Adopt(oldest), leftovers
    if record.has_session:
        return Use(oldest, record), leftovers
    if record.failed or is_stale(oldest, stale_seconds):
        return TakeOver(oldest), leftovers
    return Wait(oldest), leftovers


def _settled(comment: IssueComment, tag: str, stale_seconds: float) -> bool:
    """A comment no live run is about to write: anything but a fresh claim."""
    record = read_record(comment.body, tag)
    return record is None or not record.is_claim or is_stale(comment, stale_seconds)


def decide_replacement(
    ours: Sequence[IssueComment],
    tag: str,
    stale_seconds: float,
    recorded: IssueComment,
    ended: str,
    *,
    mine: int | None = None,
) -> tuple[Step | Changed | Vanished, list[IssueComment]]:
    """The next step of replacing the ended session `ended` that comment `recorded` records, over one listing.

    The same election as on a fresh pull request, among the claims posted beside the recorded comment: the oldest
    live claim creates the new session and writes it into the recorded comment; the others wait for that."""
    current = next((comment for comment in ours if comment.id == recorded.id), None)
    if current is None:
        return Vanished(), []
    record = read_record(current.body, tag)
    if record is None or record.session_id != ended:
        return Changed(current, record), []
    others = [comment for comment in ours if comment.id != recorded.id]
    claims = [comment for comment in others if not _settled(comment, tag, stale_seconds)]
    leftovers = [comment for comment in others if comment.id != mine and comment not in claims]
    if mine is None:
        return Claim(), leftovers
    if claims and claims[0].id == mine:
        return Elected(claims[0]), leftovers
    return Lost(next(comment for comment in others if comment.id == mine)), leftovers


class Changed(NamedTuple):
    """The recorded comment records something else now: another run replaced the ended session."""

    comment: IssueComment
    record: CommentRecord | None


class Vanished(NamedTuple):
    """The recorded comment is gone."""


def our_comments(github: GitHubApi, comments: list[IssueComment], tag: str) -> list[IssueComment]:
    """Comments with our marker, written by a bot or by the token's own user, oldest first.

    `GET /user` is asked only when a person's comment carries the marker (GITHUB_TOKEN gets 403 there)."""
    tagged = [comment for comment in comments if comment.author and has_marker(comment.body, tag)]
    by_people = [comment for comment in tagged if not comment.author_is_bot]
    own_login = github.token_login() if by_people else None
    ours = [comment for comment in tagged if comment.author_is_bot or comment.author == own_login]
    return sorted(ours, key=lambda comment: comment.id)


# -- driving it -----------------------------------------------------------------------------------------------


class Won(_OnComment):
    """This run's claim won: create the session, then record it in `comment`."""


class Found(_OnRecord):
    """`comment` records a session (another run's, or an earlier one's)."""


class Adopted(_OnComment):
    """`comment` is ours but records nothing readable: create a session and write it there."""


class WinnerFailed(_OnComment):
    """The run whose claim won said it failed."""


class GaveUp(_OnComment):
    """The winner's claim neither recorded a session nor went stale in time."""


class Replacing(NamedTuple):
    """This run's claim won the replacement: create the session, write it into `comment`, delete `claim`."""

    comment: IssueComment
    claim: IssueComment


Settled = Won | Found | Adopted | WinnerFailed | GaveUp
Replaced = Replacing | Found | Adopted | Won | WinnerFailed | GaveUp


def _no_log(_: str) -> None:
    pass


class Settler:
    """Runs `decide` against GitHub until the run knows which comment (and session) is the pull request's."""

    def __init__(
        self,
        github: GitHubApi,
        number: int,
        tag: str,
        claim_body: str,
        *,
        stale_seconds: float,
        wait_seconds: float,
        poll_seconds: float = REAL_PACING.claim_poll_seconds,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] = _no_log,
    ) -> None:
        self.github = github
        self.number = number
        self.tag = tag
        self.claim_body = claim_body
        self.stale_seconds = stale_seconds
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds
        self.sleep = sleep
        self.clock = clock
        self.log = log
        self.followed: IssueComment | None = None
        """Another run's claim this run waited on: if GitHub fails now, creating a session here would make a
        second."""

    def settle(self) -> Settled:
        mine: IssueComment | None = None
        listing: list[IssueComment] | None = None
        for _ in range(MAX_ROUNDS):
            if listing is None:
                listing = our_comments(self.github, self.github.comments(self.number), self.tag)
            step, leftovers = decide(listing, self.tag, self.stale_seconds, mine.id if mine else None)
            for leftover in leftovers:
                self.log(f"Deleting comment {leftover.id}: a leftover of an earlier run.")
                self.github.delete_comment(leftover.id)
            listing = [comment for comment in listing if comment not in leftovers]
            match step:
                case Claim():
                    mine, listing = self._claim(), None
                case TakeOver(comment):
                    self.log(f"Comment {comment.id} is a claim that never recorded a session: taking over.")
                    self.github.delete_comment(comment.id)
                    mine, listing = self._claim(), None
                case Lost(comment):
                    self.log(f"An older comment of ours exists: deleting this run's claim {comment.id}.")
                    self.github.delete_comment(comment.id)
                    listing = [other for other in listing if other.id != comment.id]
                    mine = None
                case Elected(comment):
                    return Won(comment)
                case Use(comment, record):
                    return Found(comment, record)
                case Adopt(comment):
                    return Adopted(comment)
                case Wait(comment):
                    waited = self._wait(comment)
                    if isinstance(waited, GaveUp | WinnerFailed):
                        return waited
                    listing = None if waited is None else [waited, *listing[1:]]
        raise GitHubError(f"the comments of #{self.number} kept changing; gave up after {MAX_ROUNDS} rounds")

    def replace(self, recorded: IssueComment, ended: str) -> Replaced:
        """Agree with concurrent runs on who replaces the ended session that `recorded` records. The run has just
        listed the comments (and found `recorded`), so it claims at once."""
        mine: IssueComment | None = self._claim()
        for _ in range(MAX_ROUNDS):
            ours = our_comments(self.github, self.github.comments(self.number), self.tag)
            step, leftovers = decide_replacement(
                ours, self.tag, self.stale_seconds, recorded, ended, mine=mine.id if mine else None
            )
            for leftover in leftovers:
                self.log(f"Deleting comment {leftover.id}: a leftover of an earlier run.")
                self.github.delete_comment(leftover.id)
            match step:
                case Claim():
                    mine = self._claim()
                case Elected(claim):
                    return Replacing(recorded, claim)
                case Lost(claim):
                    self.log(f"Another run claimed the replacement first: deleting this run's claim {claim.id}.")
                    self.github.delete_comment(claim.id)
                    return self._await_replacement(recorded, ended)
                case Changed(comment, record) if record is not None and record.has_session:
                    if mine is not None:
                        self.github.delete_comment(mine.id)
                    return Found(comment, record)
                case _:  # the recorded comment vanished or holds no session: start over as on a new pull request
                    if mine is not None:
                        self.github.delete_comment(mine.id)
                    return self.settle()
        raise GitHubError(f"the comments of #{self.number} kept changing; gave up after {MAX_ROUNDS} rounds")

    def _await_replacement(self, recorded: IssueComment, ended: str) -> Replaced:
        """Poll our comments until the recorded one records the new session, or no live claim is left (the run
        replacing it failed or was killed), or the wait ends."""
        self.log(f"Waiting for comment {recorded.id} to record the session that replaces {ended}.")
        self.followed = recorded
        deadline = self.clock() + self.wait_seconds
        while self.clock() + self.poll_seconds <= deadline:
            self.sleep(self.poll_seconds)
            ours = our_comments(self.github, self.github.comments(self.number), self.tag)
            current = next((comment for comment in ours if comment.id == recorded.id), None)
            if current is None:
                return self.settle()
            record = read_record(current.body, self.tag)
            if record is not None and record.has_session and record.session_id != ended:
                return Found(current, record)
            others = (comment for comment in ours if comment.id != recorded.id)
            if all(_settled(comment, self.tag, self.stale_seconds) for comment in others):
                return WinnerFailed(recorded)
        return GaveUp(recorded)

    def _claim(self) -> IssueComment:
        claim = self.github.create_comment(self.number, self.claim_body)
        self.log(f"Claimed comment {claim.id} before creating a session.")
        return claim

    def _wait(self, comment: IssueComment) -> IssueComment | GaveUp | WinnerFailed | None:
        """Poll the winner's comment until it records a session, fails, goes stale, or is gone (None: look again)."""
        self.log(f"Comment {comment.id} is another run's claim: waiting for it to record a session.")
        self.followed = comment
        deadline = self.clock() + self.wait_seconds
        current = comment
        while True:
            if self.clock() + self.poll_seconds > deadline:
                return GaveUp(current)
            self.sleep(self.poll_seconds)
            try:
                current = self.github.get_comment(comment.id)
            except GitHubGone:
                return None
            record = read_record(current.body, self.tag)
            if record is not None and record.failed and not record.has_session:
                return WinnerFailed(current)
            if record is None or not record.is_claim or is_stale(current, self.stale_seconds):
                return current
