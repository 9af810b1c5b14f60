"""The claim and the comment's hidden record, in process: the pure rule (`decide`), the record's parsing, the
`/recoup` command, and the `Settler` driven through an in-memory `GitHubApi` (no HTTP, no clock: both are
injected), so every branch of the election is reached without waiting."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from recoup_session_action.commands import Command, parse_command_comment
from recoup_session_action.comment import write_comment
from recoup_session_action.comment_record import CLAIM, CommentRecord, has_marker, marker, read_record
from recoup_session_action.context import EventFacts
from recoup_session_action.errors import GitHubError, GitHubGone
from recoup_session_action.github_api import IssueComment
from recoup_session_action.inputs import parse_settings
from recoup_session_action.sticky import (
    Adopt,
    Adopted,
    Changed,
    Claim,
    Elected,
    Found,
    GaveUp,
    Lost,
    Settler,
    TakeOver,
    Use,
    Vanished,
    Wait,
    WinnerFailed,
    Won,
    decide,
    decide_replacement,
)

TAG = "recoup-session"
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
STALE = 70.0
RECORDED = CommentRecord(session_id="s-1", chat_id="c-1")


def comment(comment_id: int, record: CommentRecord | None, *, age: float = 0, bot: bool = True) -> IssueComment:
    body = f"{marker(TAG, record)}\nbody"
    written = NOW - timedelta(seconds=age)
    return IssueComment(comment_id, body, f"https://x/{comment_id}", "bot" if bot else "mallory", bot, written,
                        written, NOW)  # fmt: skip


def _encoded(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


# -- the record in the marker ---------------------------------------------------------------------------------


def test_the_record_round_trips_and_hides_nothing_that_could_end_the_html_comment() -> None:
    record = CommentRecord(session_id="id --> <script>", chat_id="c" * 200, archived=True)

    line = marker(TAG, record)

    assert line.count("-->") == 1
    assert line.endswith(" -->")
    assert read_record(f"{line}\ntext", TAG) == record
    assert read_record(f"{marker(TAG, CLAIM)}\n", TAG) == CLAIM
    assert has_marker(f"{marker(TAG)}\n", TAG)


@pytest.mark.parametrize(
    "first_line",
    [
        "<!-- recoup-session-action:recoup-session !!!! -->",  # not base64url
        "<!-- recoup-session-action:recoup-session e30 -->",  # bad padding
        f"<!-- recoup-session-action:recoup-session {_encoded(b'[1]')} -->",  # not an object
        "<!-- recoup-session-action:recoup-session " + _encoded(b'{"s": 5}') + " -->",  # an id that is no text
        "<!-- recoup-session-action:recoup-session " + _encoded(b'{"s": ""}') + " -->",  # an empty id
        f"<!-- recoup-session-action:other {_encoded(b'{}')} -->",  # another tag
        "text before <!-- recoup-session-action:recoup-session e30= -->",  # not the first line's start
    ],
)
def test_a_broken_or_foreign_record_reads_as_none(first_line: str) -> None:
    assert read_record(f"{first_line}\nbody", TAG) is None


def assert_same(actual: object, expected: object) -> None:
    """Steps and results are named tuples, equal to any tuple of equal fields: the kind must match as well."""
    assert type(actual) is type(expected), actual
    assert actual == expected


def assert_decided(decided: tuple[object, list[IssueComment]], step: object, leftovers: list[IssueComment]) -> None:
    assert_same(decided[0], step)
    assert decided[1] == leftovers


# -- the rule -------------------------------------------------------------------------------------------------


def test_no_comment_means_claim() -> None:
    assert_decided(decide([], TAG, STALE), Claim(), [])


def test_our_claim_oldest_is_elected_and_a_newer_live_claim_is_left_alone() -> None:
    mine, theirs = comment(1, CLAIM), comment(2, CLAIM)
    assert_decided(decide([mine, theirs], TAG, STALE, mine=1), Elected(mine), [])


def test_an_older_comment_makes_us_lose() -> None:
    older, mine = comment(1, RECORDED), comment(2, CLAIM)
    assert_decided(decide([older, mine], TAG, STALE, mine=2), Lost(mine), [])
    assert_decided(decide([older], TAG, STALE), Use(older, RECORDED), [])


def test_a_live_claim_is_awaited_a_stale_or_failed_one_taken_over() -> None:
    live, stale, failed = (
        comment(1, CLAIM, age=STALE - 1),
        comment(1, CLAIM, age=STALE + 1),
        comment(1, CommentRecord(failed=True)),
    )
    assert_decided(decide([live], TAG, STALE), Wait(live), [])
    assert_decided(decide([stale], TAG, STALE), TakeOver(stale), [])
    assert_decided(decide([failed], TAG, STALE), TakeOver(failed), [])


def test_a_comment_of_an_older_version_is_adopted() -> None:
    old = comment(1, None)
    assert_decided(decide([old], TAG, STALE), Adopt(old), [])


def test_leftovers_are_every_newer_comment_but_a_live_claim() -> None:
    oldest = comment(1, RECORDED)
    duplicate, live, stale, failed, old = (
        comment(2, RECORDED),
        comment(3, CLAIM),
        comment(4, CLAIM, age=STALE + 5),
        comment(5, CommentRecord(failed=True)),
        comment(6, None),
    )
    step, leftovers = decide([oldest, duplicate, live, stale, failed, old], TAG, STALE)
    assert_same(step, Use(oldest, RECORDED))
    assert leftovers == [duplicate, stale, failed, old]


def test_without_githubs_clock_a_claim_is_never_called_stale() -> None:
    unknown = comment(1, CLAIM, age=10_000)._replace(seen_at=None)
    assert_decided(decide([unknown], TAG, STALE), Wait(unknown), [])


def test_replacing_an_ended_session_elects_among_the_claims_beside_the_recorded_comment() -> None:
    recorded = comment(1, RECORDED)
    mine, theirs, stale = comment(3, CLAIM), comment(2, CLAIM), comment(4, CLAIM, age=STALE + 1)

    assert_decided(decide_replacement([recorded], TAG, STALE, recorded, "s-1"), Claim(), [])
    replacing = decide_replacement([recorded, mine, stale], TAG, STALE, recorded, "s-1", mine=3)
    assert_decided(replacing, Elected(mine), [stale])
    assert_decided(decide_replacement([recorded, theirs, mine], TAG, STALE, recorded, "s-1", mine=3), Lost(mine), [])
    changed = comment(1, CommentRecord(session_id="s-2", chat_id="c-2"))
    assert_decided(
        decide_replacement([changed, mine], TAG, STALE, recorded, "s-1", mine=3),
        Changed(changed, CommentRecord(session_id="s-2", chat_id="c-2")),
        [],
    )
    assert_decided(decide_replacement([mine], TAG, STALE, recorded, "s-1", mine=3), Vanished(), [])


# -- the settler, through an in-memory GitHubApi -----------------------------------------------------------------


@dataclass
class FakeGitHub:
    """Comments of one pull request in memory; `on_create` / `on_get` let a test play the other runs."""

    comments_by_id: dict[int, IssueComment] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    next_id: int = 100
    on_create: list[IssueComment] = field(default_factory=list)
    on_get: list[IssueComment | None] = field(default_factory=list)

    def add(self, item: IssueComment) -> None:
        self.comments_by_id[item.id] = item

    def comments(self, number: int) -> list[IssueComment]:
        self.calls.append("list")
        return sorted(self.comments_by_id.values(), key=lambda item: item.id)

    def get_comment(self, comment_id: int) -> IssueComment:
        self.calls.append("get")
        if self.on_get:
            changed = self.on_get.pop(0)
            if changed is None:
                self.comments_by_id.pop(comment_id, None)
            else:
                self.add(changed)
        if comment_id not in self.comments_by_id:
            raise GitHubGone("GitHub answered 404: Not Found")
        return self.comments_by_id[comment_id]

    def create_comment(self, number: int, body: str) -> IssueComment:
        self.calls.append("create")
        for other in self.on_create:  # another run's comment, made just before ours
            self.add(other)
        self.on_create = []
        self.next_id += 1
        created = IssueComment(self.next_id, body, f"https://x/{self.next_id}", "bot", True, NOW, NOW, NOW)
        self.add(created)
        return created

    def edit_comment(self, comment_id: int, body: str) -> IssueComment:
        self.calls.append("edit")
        if comment_id not in self.comments_by_id:
            raise GitHubGone("GitHub answered 404: Not Found")
        edited = self.comments_by_id[comment_id]._replace(body=body)
        self.add(edited)
        return edited

    def delete_comment(self, comment_id: int) -> None:
        self.calls.append("delete")
        self.comments_by_id.pop(comment_id, None)

    def token_login(self) -> str | None:
        return None


def settler(github: FakeGitHub, wait: float = 10.0) -> Settler:
    ticks = iter(range(10_000))
    return Settler(
        github,  # type: ignore[arg-type]
        12,
        TAG,
        f"{marker(TAG, CLAIM)}\nStarting",
        stale_seconds=STALE,
        wait_seconds=wait,
        sleep=lambda _: None,
        clock=lambda: float(next(ticks)),
    )


def test_first_run_claims_and_wins_in_three_calls() -> None:
    github = FakeGitHub()
    settled = settler(github).settle()
    assert isinstance(settled, Won)
    assert github.calls == ["list", "create", "list"]


def test_a_run_that_loses_the_election_deletes_its_claim_and_reuses_the_winners_session() -> None:
    github = FakeGitHub(on_create=[comment(1, CLAIM)])
    github.on_get = [comment(1, RECORDED)]  # the winner records its session while we wait

    settled = settler(github).settle()

    assert_same(settled, Found(comment(1, RECORDED), RECORDED))
    assert github.calls == ["list", "create", "list", "delete", "get"]
    assert list(github.comments_by_id) == [1]


def test_a_winner_that_failed_fails_the_waiting_run() -> None:
    github = FakeGitHub()
    github.add(comment(1, CLAIM))
    github.on_get = [comment(1, CLAIM), comment(1, CommentRecord(failed=True))]

    settled = settler(github).settle()

    assert isinstance(settled, WinnerFailed)
    assert github.calls == ["list", "get", "get"]


def test_a_winner_that_goes_quiet_is_given_up_on_when_the_wait_ends() -> None:
    github = FakeGitHub()
    github.add(comment(1, CLAIM))

    settled = settler(github, wait=4.0).settle()

    assert isinstance(settled, GaveUp)
    assert github.calls.count("get") >= 1


def test_a_winner_whose_claim_goes_stale_while_we_wait_is_taken_over() -> None:
    github = FakeGitHub()
    github.add(comment(1, CLAIM))
    github.on_get = [comment(1, CLAIM, age=STALE + 1)]

    settled = settler(github).settle()

    assert isinstance(settled, Won)
    assert github.calls == ["list", "get", "delete", "create", "list"]


def test_a_claim_deleted_while_we_wait_makes_us_look_again() -> None:
    github = FakeGitHub()
    github.add(comment(1, CLAIM))
    github.on_get = [None]

    settled = settler(github).settle()

    assert isinstance(settled, Won)
    assert github.calls == ["list", "get", "list", "create", "list"]


def test_an_older_versions_comment_is_adopted_without_a_claim() -> None:
    github = FakeGitHub()
    github.add(comment(1, None))
    assert_same(settler(github).settle(), Adopted(comment(1, None)))
    assert github.calls == ["list"]


# -- writing: a comment deleted between reading and editing is looked up again -----------------------------------


def test_a_comment_deleted_before_the_edit_is_looked_up_again_and_the_result_points_at_what_remains() -> None:
    github = FakeGitHub()
    gone, remaining = comment(1, RECORDED), comment(2, RECORDED)
    github.add(remaining)

    result = write_comment(github, 12, TAG, "new body", gone)  # type: ignore[arg-type]

    assert (result.comment_id, result.url, result.action) == (2, "https://x/2", "updated")
    assert github.calls == ["edit", "list", "edit"]


def test_with_no_comment_left_one_is_created() -> None:
    github = FakeGitHub()

    result = write_comment(github, 12, TAG, f"{marker(TAG, RECORDED)}\nbody", comment(1, RECORDED))  # type: ignore[arg-type]

    assert (result.comment_id, result.action) == (101, "created")
    assert github.calls == ["edit", "list", "create", "list"]


# -- /recoup ----------------------------------------------------------------------------------------------------


def _comment_facts(body: str) -> EventFacts:
    return EventFacts(event_name="issue_comment", comment_body=body, comment_id=1)


@pytest.mark.parametrize(
    ("body", "command", "expected"),
    [
        ("/recoup", "/recoup", Command()),
        ("  /recoup   new  Fix the parser  \nmore", "/recoup", Command(force_new=True, title="Fix the parser")),
        ("/recoup Try this", "/recoup", Command(title="Try this")),
        ("/recoup newer things", "/recoup", Command(title="newer things")),
        ("/recoupable", "/recoup", "The comment does not start with /recoup: no session created."),
        ("please /recoup", "/recoup", "The comment does not start with /recoup: no session created."),
        ("", "/recoup", "The comment does not start with /recoup: no session created."),
        ("anything at all", "", None),
        ("/agent go", "/agent", Command(title="go")),
    ],
)
def test_the_command_is_the_first_word_and_the_rest_of_the_line_the_title(
    body: str, command: str, expected: Command | str | None
) -> None:
    settings = parse_settings({"command": command})
    assert parse_command_comment(_comment_facts(body), settings) == expected


def test_an_empty_command_input_is_not_an_unset_one() -> None:
    assert parse_settings({"command": ""}).command == ""
    assert parse_settings({}).command == "/recoup"
    assert parse_command_comment(EventFacts(event_name="pull_request"), parse_settings({})) is None


def test_a_github_failure_while_waiting_is_raised_and_names_the_claim_followed() -> None:
    github = FakeGitHub()
    github.add(comment(1, CLAIM))

    def broken(comment_id: int) -> IssueComment:
        raise GitHubError("GitHub answered 500: Server Error")

    github.get_comment = broken  # type: ignore[method-assign]
    run = settler(github)

    with pytest.raises(GitHubError):
        run.settle()
    assert run.followed is not None
    assert run.followed.id == 1


def test_a_replacement_lost_waits_and_reuses_what_the_winner_wrote_into_the_comment() -> None:
    github = FakeGitHub(on_create=[comment(2, CLAIM)])  # another run claimed the replacement just before us
    github.add(comment(1, RECORDED))
    replaced = CommentRecord(session_id="s-2", chat_id="c-2")
    run = settler(github)
    run.github.comments = _listings(github, [None, lambda: github.add(comment(1, replaced))])  # type: ignore[method-assign,assignment]

    settled = run.replace(comment(1, RECORDED), "s-1")

    assert_same(settled, Found(comment(1, replaced), replaced))
    assert github.calls == ["create", "list", "delete", "list"]


def test_a_replacement_whose_winner_left_no_claim_fails_the_waiting_run() -> None:
    github = FakeGitHub(on_create=[comment(2, CLAIM)])
    github.add(comment(1, RECORDED))
    run = settler(github)
    run.github.comments = _listings(github, [None, lambda: github.delete_comment(2)])  # type: ignore[method-assign,assignment]

    settled = run.replace(comment(1, RECORDED), "s-1")

    assert isinstance(settled, WinnerFailed)
    assert settled.comment.id == 1


def _listings(github: FakeGitHub, before_each: list[Callable[[], None] | None]) -> Callable[[int], list[IssueComment]]:
    """`github.comments`, with a step of another run played before each listing (None: nothing happens)."""
    listed = github.comments

    def comments(number: int) -> list[IssueComment]:
        step = before_each.pop(0) if before_each else None
        if step is not None:
            step()
        return listed(number)

    return comments
