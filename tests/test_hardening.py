"""Hardening against an attacker and an unlucky user (issue 11): secrets in every form, one deadline, bounded
answers, a session never reported lost, cancellation, proxies and CAs, names and templates.

End to end through the console script's entry point with a runner's environment and files, in this process
(`action_in_process`: the runner's contract itself is proven by the subprocess runs of test_action,
test_untrusted_input and the container test); signals to a process started as a program; in process through the
declared seams where only logic is tested.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from recoup_session_action import markdown
from recoup_session_action.comment_body import render_body
from recoup_session_action.console import ConsoleReporter
from recoup_session_action.context import EventFacts, RunnerEnv, Target
from recoup_session_action.deadline import Budget, Cancelled, DeadlineExceeded
from recoup_session_action.errors import InputError
from recoup_session_action.flow import Seams, run
from recoup_session_action.github_api import GitHubAccess
from recoup_session_action.github_rules import RepoSlug, branch_rule_broken
from recoup_session_action.inputs import parse_settings
from recoup_session_action.outcome import Outcome, State, session_url
from recoup_session_action.recoupable_models import CreateSessionResponse
from recoup_session_action.runner import RunnerReporter, parse_output_file
from recoup_session_action.standins.github import GitHubStandIn
from recoup_session_action.standins.recoupable import Fault, RecoupableStandIn

from . import test_faults
from .conftest import API_KEY, CONSOLE_SCRIPT, GITHUB_TOKEN, ActionRun, RunAction, pull_request_event
from .test_faults import _ConnectProxy, check_run, error_line, inputs, run_pr

UNKNOWN = "a session may exist"
# The fault suite's TLS certificate (its own CA), https Recoupable stand-in and CONNECT proxy, used here too.
certificate, tls_api, proxy = test_faults.certificate, test_faults.tls_api, test_faults.proxy


def secret_forms(secret: str) -> list[str]:
    """Every form a secret may take on its way to a sink: raw, Markdown-escaped, JSON-escaped, percent-encoded."""
    return [
        secret,
        markdown.text(secret),
        secret.replace("_", "\\_"),
        "".join(f"\\u{ord(char):04x}" for char in secret),
        "\\u0072" + secret[1:],
        quote(secret, safe=""),
        "".join(f"%{ord(char):02X}" for char in secret),
        "%72" + secret[1:],
    ]


def assert_no_secret_form(text: str, *secrets: str) -> None:
    for secret in secrets:
        for form in secret_forms(secret):
            assert form not in text, f"{form!r} reached a sink"


def everything_written(run: ActionRun) -> str:
    """stdout (but the masks), stderr, the outputs file and the summary: every runner sink."""
    log = "\n".join(line for line in run.log.splitlines() if not line.startswith("::add-mask::"))
    return "\n".join((log, run.output_file_text, run.summary))


# -- secrets in every form ------------------------------------------------------------------------------------


def test_a_key_the_server_sends_back_in_any_encoding_reaches_no_sink(
    action_in_process: RunAction, recoupable: RecoupableStandIn, github: GitHubStandIn
) -> None:
    json_escaped = "".join(f"\\u{ord(char):04x}" for char in API_KEY)
    fields = {
        "status": "".join(f"%{ord(char):02X}" for char in API_KEY),
        "lifecycleState": API_KEY.replace("_", "\\\\_"),
        "branch": json_escaped,
        "title": "\\u0072" + API_KEY[1:],
    }
    members = ",".join(f'"{name}":"{value}"' for name, value in fields.items())
    session = f'{{"session":{{"id":"s-1","repoOwner":"acme","repoName":"app",{members}}},"chat":{{"id":"c-1"}}}}'
    recoupable.faults.append(Fault(200, session.encode()))
    github.add_pull(
        "acme", "app", 42, title="t", head_ref="feat/search", head_sha="1234abcd", head_full_name="acme/app"
    )
    run = action_in_process(
        event_name="pull_request",
        event=pull_request_event(),
        inputs={**inputs(recoupable.url), "comment": "update", "github-token": GITHUB_TOKEN},
        env={"GITHUB_API_URL": github.api_url, "GITHUB_REPOSITORY": "acme/app"},
    )
    check_run(run)
    assert run.returncode == 0, run.log
    assert run.outputs["session-id"] == "s-1"
    [comment] = github.comments("acme", "app", 42)
    assert_no_secret_form(everything_written(run), API_KEY, GITHUB_TOKEN)
    assert_no_secret_form(comment["body"], API_KEY, GITHUB_TOKEN)
    assert run.outputs["status"] == "***"


def test_a_key_written_into_the_comment_template_is_redacted_from_the_comment(
    action_in_process: RunAction, recoupable: RecoupableStandIn, github: GitHubStandIn
) -> None:
    github.add_pull(
        "acme", "app", 42, title="t", head_ref="feat/search", head_sha="1234abcd", head_full_name="acme/app"
    )
    template = f"Session {{session_id}} key {API_KEY} escaped {markdown.text(API_KEY)} token {GITHUB_TOKEN}"
    run = action_in_process(
        event_name="pull_request",
        event=pull_request_event(),
        inputs={
            **inputs(recoupable.url),
            "comment": "update",
            "github-token": GITHUB_TOKEN,
            "comment-template": template,
        },
        env={"GITHUB_API_URL": github.api_url, "GITHUB_REPOSITORY": "acme/app"},
    )
    check_run(run)
    [comment] = github.comments("acme", "app", 42)
    assert_no_secret_form(comment["body"], API_KEY, GITHUB_TOKEN)
    assert "key *** escaped *** token ***" in comment["body"]


def test_the_command_line_redacts_every_form_of_a_secret_from_what_it_prints_and_collects() -> None:
    stream = io.StringIO()
    reporter = ConsoleReporter(stream, verbose=True, secrets=[f" {API_KEY} ", GITHUB_TOKEN])
    reporter.info(f"answer: {markdown.text(API_KEY)} and {quote(GITHUB_TOKEN, safe='')}")
    reporter.warning("\\u0072" + API_KEY[1:])
    reporter.set_outputs({"response": json.dumps({"echo": API_KEY})})
    assert_no_secret_form(stream.getvalue() + json.dumps(reporter.outputs), API_KEY, GITHUB_TOKEN)
    assert "answer: *** and ***" in stream.getvalue()


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("api-key", API_KEY[:20] + "\n" + API_KEY[20:], "it holds a line break"),
        ("api-key", API_KEY[:20] + " " + API_KEY[20:], "it holds a space"),
        ("api-key", API_KEY[:20] + "\u00e9" + API_KEY[20:], "it holds a character that is not printable ASCII"),
        ("api-key", API_KEY[:20] + "\x7f" + API_KEY[20:], "it holds a character that is not printable ASCII"),
        ("github-token", GITHUB_TOKEN + "\r\nX-Injected: 1", "it holds a line break"),
        (
            "github-token",
            GITHUB_TOKEN[:4] + "\u200b" + GITHUB_TOKEN[4:],
            "it holds a character that is not printable ASCII",
        ),
    ],
    ids=["key-newline", "key-space", "key-non-ascii", "key-del", "token-crlf", "token-zero-width"],
)
def test_a_secret_that_cannot_be_a_header_is_an_input_error_before_anything_is_sent(
    action_in_process: RunAction, recoupable: RecoupableStandIn, name: str, value: str, rule: str
) -> None:
    run = run_pr(action_in_process, recoupable.url, {name: value})
    assert run.returncode == 1, run.log
    assert f"Input '{name}': {rule}" in error_line(run)
    assert recoupable.requests == []
    assert UNKNOWN not in run.stdout
    assert "CAUTION" not in run.summary
    assert run.outputs["outcome"] == "failed"
    assert "Traceback" not in run.log
    for part in (value[:20], value[-20:]):
        assert part not in everything_written(run)


def test_where_to_reach_github_never_shows_its_token_or_secrets() -> None:
    access = GitHubAccess(
        api_url="https://api.github.com", token="ghs_t0k3n", full_name="acme/app", timeout_seconds=5, secrets=("k3y",)
    )
    for shown in (repr(access), str(access), f"{access}", f"{[access]}"):
        assert "acme/app" in shown
        assert "ghs_t0k3n" not in shown
        assert "k3y" not in shown


# -- inputs and events ----------------------------------------------------------------------------------------

GIT_BRANCH_CASES = [
    "main",
    "feat/search-1.2",
    "HEAD",
    "-x",
    "a..b",
    "a b",
    "a~b",
    "a.lock",
    "x/.y",
    ".x",
    "a/",
    "a//b",
    "a@{b",
    "a.",
    "x\\y",
    "a\u202eb",
    "caf\u00e9",
]


@pytest.mark.parametrize("branch", GIT_BRANCH_CASES)
def test_branch_names_are_judged_as_git_check_ref_format_branch_judges_them(branch: str, tmp_path: Path) -> None:
    git = subprocess.run(
        ["git", "check-ref-format", "--branch", branch], cwd=tmp_path, capture_output=True, check=False
    )
    assert (branch_rule_broken(branch) is None) == (git.returncode == 0)


def test_head_is_refused_and_a_refs_heads_prefix_is_stripped() -> None:
    with pytest.raises(InputError, match="Input 'branch': 'HEAD' is not a valid branch name: it is 'HEAD'"):
        parse_settings({"branch": "HEAD"})
    assert parse_settings({"branch": "refs/heads/feat/x"}).branch == "feat/x"
    with pytest.raises(InputError, match="it is 'HEAD'"):
        parse_settings({"branch": "refs/heads/HEAD"})


INVISIBLE = "\u202e\u2066\u200b\ufeff"


def test_invisible_and_bidirectional_characters_never_reach_the_comment_or_summary_raw(
    action_in_process: RunAction, recoupable: RecoupableStandIn, github: GitHubStandIn
) -> None:
    branch = f"feat/\u202etxt.exe\u200b{INVISIBLE}"
    github.add_pull("acme", "app", 42, title="t", head_ref=branch, head_sha="1234abcd", head_full_name="acme/app")
    run = action_in_process(
        event_name="pull_request",
        event=pull_request_event(ref=branch, title=f"Fix {INVISIBLE} it"),
        inputs={**inputs(recoupable.url), "comment": "update", "github-token": GITHUB_TOKEN},
        env={"GITHUB_API_URL": github.api_url, "GITHUB_REPOSITORY": "acme/app"},
    )
    check_run(run)
    assert recoupable.posts[0].json()["branch"] == branch  # sent as it is: git allows it
    [comment] = github.comments("acme", "app", 42)
    for text in (comment["body"], run.summary):
        assert not any(char in text for char in INVISIBLE), text
        assert "feat/U+202Etxt.exeU+200BU+202EU+2066U+200BU+FEFF" in text

    dry = run_pr(action_in_process, recoupable.url, {"dry-run": "true", "title": f"Fix {INVISIBLE} it"})
    assert dry.returncode == 0, dry.log
    assert not any(char in dry.summary for char in INVISIBLE)
    assert '"title": "Fix \\u202e\\u2066\\u200b\\ufeff it"' in dry.summary


def test_an_event_path_that_is_a_directory_is_an_event_file_error(
    action_in_process: RunAction, recoupable: RecoupableStandIn, tmp_path: Path
) -> None:
    run = action_in_process(
        event_name="pull_request", event=None, inputs=inputs(recoupable.url), env={"GITHUB_EVENT_PATH": str(tmp_path)}
    )
    assert run.returncode == 1, run.log
    assert f"the event file {tmp_path} cannot be read (Is a directory; GITHUB_EVENT_PATH)" in error_line(run)
    assert "Unexpected" not in run.stdout
    assert recoupable.requests == []


def test_an_event_nested_beyond_the_parser_is_an_event_file_error(
    action_in_process: RunAction, recoupable: RecoupableStandIn
) -> None:
    nested = b'{"pull_request": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    run = action_in_process(event_name="pull_request", event=nested, inputs=inputs(recoupable.url))
    assert run.returncode == 1, run.log
    assert "is nested deeper than any event GitHub sends" in error_line(run)
    assert "Unexpected" not in run.stdout
    assert recoupable.requests == []


@pytest.mark.parametrize("number", [2**31, 10**20, 0])
def test_pull_request_numbers_outside_githubs_range_are_refused(
    action_in_process: RunAction, recoupable: RecoupableStandIn, number: int
) -> None:
    event = pull_request_event()
    event["pull_request"]["number"] = number
    run = action_in_process(event_name="pull_request", event=event, inputs=inputs(recoupable.url))
    assert run.returncode == 1, run.log
    assert "the event file" in error_line(run)
    assert "pull_request.number" in error_line(run)

    run = run_pr(action_in_process, recoupable.url, {"pr-number": str(number)})
    assert run.returncode == 1, run.log
    assert f"Input 'pr-number': '{number}' is not a pull request number (a whole number from 1 to 2147483647)" in (
        error_line(run)
    )
    assert recoupable.requests == []


# -- comment templates render as written ------------------------------------------------------------------------


def _rendered(template: str, *, session_id: str = "d0ca13e5-c135", branch: str = "feat/search-1.2") -> str:
    settings = parse_settings({"comment-template": template})
    response = CreateSessionResponse.model_validate(
        {"session": {"id": session_id, "status": "running"}, "chat": {"id": "c_1-x"}}
    )
    outcome = Outcome(
        state=State.CREATED,
        target=Target(repository=RepoSlug.parse("acme/my-app.js"), branch=branch, clone_url="https://x/a.git"),
        response=response,
        session_url=session_url("https://chat.recoupable.com", response),
    )
    env = RunnerEnv(repository="acme/my-app.js", run_id="7", server_url="https://github.com")
    body = render_body(settings, env, outcome)
    return body.partition("\n")[2]


def test_placeholders_give_values_that_work_where_people_put_them() -> None:
    template = "`{session_id}` [open]({session_url}) on {branch} of {repository}, chat {chat_id} ([run]({run_url}))"
    assert _rendered(template) == (
        "`d0ca13e5-c135` [open](https://chat.recoupable.com/sessions/d0ca13e5-c135/chats/c_1-x) "
        "on feat/search-1.2 of acme/my-app.js, chat c_1-x ([run](https://github.com/acme/my-app.js/actions/runs/7))"
    )


def test_double_braces_write_literal_braces() -> None:
    assert _rendered("{{session_id}} is {session_id}; {{{{x}}}} {{") == "{session_id} is d0ca13e5-c135; {{x}} {"
    with pytest.raises(InputError, match="unknown placeholder"):
        parse_settings({"comment-template": "{{{nope}}}"})


def test_placeholders_stay_injection_proof() -> None:
    hostile = "x)[evil](https://e.example) <img src=x> @team `y` *z*"
    body = _rendered("[open]({session_url}) {session_id}", session_id=hostile)
    link, _, text = body.partition(") ")
    assert link.startswith("[open](https://chat.recoupable.com/sessions/x%29%5Bevil%5D%28https")
    assert "<img" not in text
    assert "](" not in text
    assert "@&#8203;team" in text
    assert "\\`y\\` \\*z\\*" in text


# -- one deadline that holds -------------------------------------------------------------------------------------


class Dribbler:
    """A loopback server that reads a request, then sends `head` at once and `dribble` one byte every `pause`
    seconds, on every connection: a server (or a middlebox) slow enough never to trip a per-read timeout."""

    def __init__(self, head: bytes, dribble: bytes, pause: float = 0.2) -> None:
        self.head, self.dribble, self.pause = head, dribble, pause
        self.connections = 0
        self.first_connected: float | None = None
        """When the first connection was accepted (monotonic seconds)."""
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def close(self) -> None:
        self._stop.set()
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            self.first_connected = self.first_connected or time.monotonic()
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            try:
                connection.recv(65536)
                connection.sendall(self.head)
                for byte in self.dribble:
                    if self._stop.wait(self.pause):
                        return
                    connection.sendall(bytes([byte]))
            except OSError:
                return


@pytest.fixture
def dribbler_factory() -> Iterator[Callable[..., Dribbler]]:
    started: list[Dribbler] = []

    def start(head: bytes, dribble: bytes, pause: float = 0.2) -> Dribbler:
        started.append(Dribbler(head, dribble, pause))
        return started[-1]

    yield start
    for server in started:
        server.close()


ENDLESS_HEADERS = b"X-Slow: " + b"a" * 10_000


def test_headers_dribbled_byte_by_byte_end_at_timeout_seconds(
    action_in_process: RunAction, dribbler_factory: Callable[..., Dribbler]
) -> None:
    server = dribbler_factory(b"HTTP/1.1 200 OK\r\n", ENDLESS_HEADERS)  # 10,000 bytes, one each 0.2 s
    started = time.monotonic()
    run = action_in_process(
        event_name="pull_request",
        event=pull_request_event(),
        inputs=inputs(server.url, **{"timeout-seconds": "1"}),
        timeout=20,
    )
    elapsed = time.monotonic() - started
    assert 1 <= elapsed < 4, elapsed
    check_run(run)
    assert run.returncode == 1
    assert f"no answer from {server.url} within timeout-seconds: 1 after the request was sent; " in error_line(run)
    assert "a session may exist" in run.outputs["error"]
    assert "> [!CAUTION]" in run.summary
    assert server.connections == 1


def test_a_body_dribbled_byte_by_byte_ends_at_timeout_seconds_not_twice_that(
    action_in_process: RunAction, dribbler_factory: Callable[..., Dribbler]
) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n"
    # A byte just before each read would time out: every read succeeds, and the body never ends.
    server = dribbler_factory(head, b'{"session":' + b" " * 9_000, pause=1.9)
    started = time.monotonic()
    run = action_in_process(
        event_name="pull_request",
        event=pull_request_event(),
        inputs=inputs(server.url, **{"timeout-seconds": "2"}),
        timeout=20,
    )
    elapsed = time.monotonic() - started
    assert 2 <= elapsed < 4, elapsed  # each read in time; the body never complete; the deadline ends it once
    check_run(run)
    assert "the API answered 200 but its body did not arrive within timeout-seconds: 2; the outcome is unknown" in (
        error_line(run)
    )


def test_the_comment_step_has_one_budget_and_a_github_timeout_says_so(
    action_in_process: RunAction, recoupable: RecoupableStandIn, dribbler_factory: Callable[..., Dribbler]
) -> None:
    github = dribbler_factory(b"HTTP/1.1 200 OK\r\n", ENDLESS_HEADERS)
    started = time.monotonic()
    run = action_in_process(
        event_name="pull_request",
        event=pull_request_event(),
        inputs={**inputs(recoupable.url, **{"timeout-seconds": "1"}), "comment": "update", "github-token": "t0k"},
        env={"GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": "acme/app"},
        timeout=30,
    )
    elapsed = time.monotonic() - started
    assert 1 <= elapsed < 5, elapsed  # PyGithub's timeout per read never trips: only the step's budget ends it
    assert run.returncode == 0, run.log
    assert run.outputs["outcome"] == "created"
    [warning] = [line for line in run.stdout.splitlines() if line.startswith("::warning")]
    assert f"the pull-request comment failed: timed out: GitHub at {github.url} did not finish within " in warning
    assert "timeout-seconds: 1 (one budget for all of this step's GitHub calls)" in warning
    assert "could not reach" not in warning


def test_a_github_that_never_answers_is_reported_as_a_timeout_not_as_unreachable(
    action_runner: RunAction, recoupable: RecoupableStandIn, dribbler_factory: Callable[..., Dribbler]
) -> None:
    github = dribbler_factory(b"", b" ", pause=60)  # accepts, reads the request, says nothing
    run = action_runner(
        event_name="pull_request",
        event=pull_request_event(),
        inputs={**inputs(recoupable.url, **{"timeout-seconds": "1"}), "comment": "update", "github-token": "t0k"},
        env={"GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": "acme/app"},
        timeout=30,
    )
    assert github.first_connected is not None
    # Four attempts of 1 s each, and the pauses between them, would take 7 s: the budget ends them at 1 s.
    assert 1 <= time.monotonic() - github.first_connected < 1 + 3
    assert github.connections == 1
    assert run.returncode == 0, run.log
    [warning] = [line for line in run.stdout.splitlines() if line.startswith("::warning")]
    assert f"timed out: GitHub at {github.url} did not finish within timeout-seconds: 1" in warning
    assert "could not reach" not in warning


def test_a_budget_counts_only_the_time_spent_inside_its_blocks_and_then_holds() -> None:
    budget = Budget(0.3)
    inside = 0.0
    for pause in (0.35, 0.0):
        started = time.monotonic()
        with budget.spend():
            time.sleep(0.02)
        inside += time.monotonic() - started
        time.sleep(pause)  # a pause the step chose (polling, backoff), longer than the budget: not counted
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded), budget.spend():
        time.sleep(5)  # interrupted once what is left is spent
    elapsed = time.monotonic() - started
    # What was left, however long the sleeps above overran on a busy machine; never the 5 s.
    assert 0.3 - inside - 0.01 <= elapsed < 0.3 - inside + 2, (elapsed, inside)
    with pytest.raises(DeadlineExceeded), budget.spend():
        pass


# -- answers bounded in memory and time ----------------------------------------------------------------------------

CREATED_BODY = b'{"session":{"id":"s-1","status":"running"},"chat":{"id":"c-1"}}'


def test_stacked_encodings_are_decoded(action_in_process: RunAction, recoupable: RecoupableStandIn) -> None:
    body = gzip.compress(zlib.compress(CREATED_BODY))
    recoupable.faults.append(Fault(200, body, headers={"Content-Encoding": "deflate, gzip"}))
    run = run_pr(action_in_process, recoupable.url)
    check_run(run)
    assert run.returncode == 0, run.log
    assert run.outputs["session-id"] == "s-1"
    assert recoupable.posts[0].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize(
    ("body", "encoding", "problem"),
    [
        (b"not gzip at all", "gzip", "the body is not valid gzip"),
        (gzip.compress(CREATED_BODY)[:-12], "gzip", "the gzip body is cut short"),
        (CREATED_BODY, "br", "Content-Encoding br is not one of gzip, deflate"),
        (CREATED_BODY, "gzip, gzip, gzip, gzip", "4 stacked encodings (at most 3 are decoded)"),
    ],
    ids=["not-gzip", "cut-short", "unasked", "too-many"],
)
def test_a_200_whose_encoding_cannot_be_decoded_probably_created_a_session(
    action_in_process: RunAction, recoupable: RecoupableStandIn, body: bytes, encoding: str, problem: str
) -> None:
    recoupable.faults.append(Fault(200, body, headers={"Content-Encoding": encoding}))
    run = run_pr(action_in_process, recoupable.url)
    check_run(run)
    assert run.returncode == 1
    assert f"the API answered 200 but its body could not be decoded ({problem}" in error_line(run)
    assert "a session was probably created but cannot be identified" in error_line(run)
    assert "Unexpected" not in run.stdout
    assert "> [!CAUTION]" in run.summary
    assert len(recoupable.posts) == 1


BOMB_PROBE = """
import gzip, json, resource, sys, zlib
import httpx
from recoup_session_action.errors import ApiFailure
from recoup_session_action.recoupable_client import RecoupableClient
from recoup_session_action.recoupable_models import CreateSessionRequest

# Protect the machine where the answer is decoded without a cap: fail with MemoryError instead.
resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 * 1024, 1536 * 1024 * 1024))
packer = zlib.compressobj(9, zlib.DEFLATED, 31)
zeros = bytes(1024 * 1024)
inner = b"".join(packer.compress(zeros) for _ in range(256)) + packer.flush()
bomb = gzip.compress(gzip.compress(inner))
answers = {
    "normal": (gzip.compress(sys.argv[1].encode()), "gzip"),
    "bomb": (bomb, "gzip, gzip, gzip"),
}

class Raw(httpx.SyncByteStream):
    def __init__(self, body):
        self.body = body

    def __iter__(self):
        yield self.body


def answer(body, encoding):
    return lambda request: httpx.Response(200, stream=Raw(body), headers={"Content-Encoding": encoding})


def peak_after(name):
    transport = httpx.MockTransport(answer(*answers[name]))
    with RecoupableClient(
        "https://api.example", "k", timeout_seconds=20, max_retries=0, on_retry=print, transport=transport
    ) as client:
        try:
            client.create_session(CreateSessionRequest())
            outcome = "created"
        except ApiFailure as failure:
            outcome = str(failure)
        except MemoryError:
            outcome = "MemoryError"
    return outcome, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


normal, normal_peak = peak_after("normal")
bomb_outcome, bomb_peak = peak_after("bomb")
print(json.dumps({"bomb_bytes": len(bomb), "normal": normal, "normal_peak_mib": normal_peak,
                  "bomb": bomb_outcome, "bomb_peak_mib": bomb_peak}))
"""


def test_a_nested_gzip_bomb_is_refused_with_peak_memory_near_normal() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", BOMB_PROBE, CREATED_BODY.decode()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    measured = json.loads(probe.stdout)
    assert measured["bomb_bytes"] < 5_000  # 256 MiB of zeros, gzipped three times
    assert measured["normal"] == "created"
    assert measured["bomb"].startswith("the API answered 200 with a body over 1024 KiB; stopped reading it; a session")
    assert measured["bomb_peak_mib"] - measured["normal_peak_mib"] < 16, measured


GITHUB_BOMB_PROBE = """
import gzip, json, resource, socket, sys, threading, zlib
from recoup_session_action.errors import GitHubError
from recoup_session_action.github_api import GitHubAccess
from recoup_session_action.github_client import GitHubRepo

resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 * 1024, 1536 * 1024 * 1024))
packer = zlib.compressobj(9, zlib.DEFLATED, 31)
zeros = bytes(1024 * 1024)
bomb = gzip.compress(b"".join(packer.compress(zeros) for _ in range(256)) + packer.flush())
answers = [(b"[]", "identity"), (bomb, "gzip, gzip")]
listener = socket.create_server(("127.0.0.1", 0))

def serve():
    for body, encoding in answers:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            head = (
                "HTTP/1.1 200 OK\\r\\nContent-Type: application/json; charset=utf-8\\r\\n"
                f"Content-Encoding: {encoding}\\r\\nContent-Length: {len(body)}\\r\\nConnection: close\\r\\n\\r\\n"
            )
            connection.sendall(head.encode() + body)

threading.Thread(target=serve, daemon=True).start()
url = f"http://127.0.0.1:{listener.getsockname()[1]}"
access = GitHubAccess(api_url=url, token="t0k", full_name="acme/app", timeout_seconds=20)

def peak_after():
    try:
        outcome = str(len(GitHubRepo(access).comments(42)))
    except GitHubError as error:
        outcome = str(error)
    except MemoryError:
        outcome = "MemoryError"
    return outcome, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024

normal, normal_peak = peak_after()
bombed, bomb_peak = peak_after()
print(json.dumps({"bomb_bytes": len(bomb), "normal": normal, "normal_peak_mib": normal_peak,
                  "bomb": bombed, "bomb_peak_mib": bomb_peak}))
"""


def test_a_gzip_bomb_from_github_is_refused_with_peak_memory_near_normal() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", GITHUB_BOMB_PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    assert probe.returncode == 0, probe.stderr
    measured = json.loads(probe.stdout)
    assert measured["normal"] == "0"
    assert "answered with more than 32 MiB once decoded; stopped reading it" in measured["bomb"], measured
    assert measured["bomb_peak_mib"] - measured["normal_peak_mib"] < 48, measured


# -- after the session exists, nothing may report it lost -----------------------------------------------------------


def _created_session(run: ActionRun) -> tuple[str, str]:
    [line] = [line for line in run.stdout.splitlines() if line.startswith("Session ") and " created: " in line]
    session_id, _, url = line.removeprefix("Session ").partition(" created: ")
    return session_id, url


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("", "GITHUB_OUTPUT is not set"),
        ("{tmp}", "(Is a directory)"),
        ("{tmp}/missing/out", "(No such file or directory)"),
        ("/dev/full", "(No space left on device)"),
    ],
    ids=["unset", "directory", "missing-folder", "disk-full"],
)
def test_outputs_that_cannot_be_written_still_name_the_created_session(
    action_in_process: RunAction, recoupable: RecoupableStandIn, tmp_path: Path, where: str, reason: str
) -> None:
    path = where.format(tmp=tmp_path)
    run = action_in_process(
        event_name="pull_request",
        event=pull_request_event(),
        inputs=inputs(recoupable.url),
        env={"GITHUB_OUTPUT": path},
    )
    check_run(run)
    assert run.returncode == 1, run.log
    session_id, url = _created_session(run)
    error = error_line(run)
    assert error.startswith("::error title=Step outputs not written::")
    assert (reason.replace("(", f"GITHUB_OUTPUT ({path}: ") if path else reason) in error
    assert f"Session {session_id} was created: {url}." in error
    assert "not created" not in run.stdout
    assert "### Recoupable session created" in run.summary
    assert len(recoupable.posts) == 1


def test_a_summary_that_cannot_be_written_warns_naming_the_file_and_the_session(
    action_in_process: RunAction, recoupable: RecoupableStandIn
) -> None:
    run = action_in_process(
        event_name="pull_request",
        event=pull_request_event(),
        inputs=inputs(recoupable.url),
        env={"GITHUB_STEP_SUMMARY": "/dev/full"},
    )
    check_run(run)
    assert run.returncode == 0, run.log
    session_id, url = _created_session(run)
    [warning] = [line for line in run.stdout.splitlines() if line.startswith("::warning")]
    assert warning.startswith("::warning title=Job summary not written::The job summary could not be written to ")
    assert f"GITHUB_STEP_SUMMARY (/dev/full: No space left on device). Session {session_id} was created: " in warning
    assert url in warning
    assert run.outputs["outcome"] == "created"
    assert run.outputs["session-id"] == session_id
    assert "not created" not in run.stdout


def test_a_later_batch_never_overwrites_outputs_already_set(tmp_path: Path) -> None:
    path = tmp_path / "out"
    reporter = RunnerReporter(io.StringIO(), str(path), None)
    reporter.set_outputs({"outcome": "created", "session-id": "s-1"})
    reporter.set_outputs({"outcome": "failed", "session-id": "", "comment-id": "7"})
    assert parse_output_file(path.read_text(encoding="utf-8")) == {
        "outcome": "created",
        "session-id": "s-1",
        "comment-id": "7",
    }
    assert path.read_text(encoding="utf-8").count("outcome<<") == 1


# -- cancellation ----------------------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _can_unshare() -> bool:
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(sys.platform != "linux", reason="PID namespaces are Linux's")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_pid_1_ends_the_run_within_a_second_saying_a_session_may_exist(
    recoupable: RecoupableStandIn, tmp_path: Path, signum: signal.Signals
) -> None:
    """The image runs the script as PID 1, where a signal without a handler does nothing: run it as PID 1 of its
    own PID namespace, as docker does, and cancel it while the API holds the request."""
    if not _can_unshare():
        pytest.skip("unshare --pid needs root (or user namespaces)")
    recoupable.faults.append(Fault(behaviour="hang"))
    event, output, summary = tmp_path / "event.json", tmp_path / "output", tmp_path / "summary"
    event.write_text(json.dumps(pull_request_event()), encoding="utf-8")
    output.touch()
    summary.touch()
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        **{
            f"INPUT_{name.upper()}": value
            for name, value in inputs(recoupable.url, **{"timeout-seconds": "60"}).items()
        },
    }
    command = ["unshare", "--pid", "--fork", "--mount-proc", CONSOLE_SCRIPT]
    with subprocess.Popen(command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        until = time.monotonic() + 20
        while not (recoupable.posts and _children(process.pid)) and time.monotonic() < until:
            time.sleep(0.05)
        assert recoupable.posts, "the request never arrived"
        [pid_1] = _children(process.pid)
        [nspid] = [line for line in Path(f"/proc/{pid_1}/status").read_text().splitlines() if line.startswith("NSpid:")]
        assert nspid.split()[-1] == "1", nspid  # its pid inside its namespace
        time.sleep(0.3)
        cancelled_at = time.monotonic()
        os.kill(pid_1, signum)
        stdout, stderr = process.communicate(timeout=10)
        elapsed = time.monotonic() - cancelled_at
    assert elapsed < 1, elapsed
    assert "Traceback" not in stdout + stderr
    name = signal.Signals(signum).name
    [error] = [line for line in stdout.splitlines() if line.startswith("::error")]
    assert f"no answer from {recoupable.url} before it was cancelled ({name}) after the request was sent" in error
    assert "the outcome is unknown and a session may exist" in error
    outputs = parse_output_file(output.read_text(encoding="utf-8"))
    assert outputs["outcome"] == "failed"
    assert "a session may exist" in outputs["error"]
    assert "> [!CAUTION]" in summary.read_text(encoding="utf-8")
    assert len(recoupable.posts) == 1


def test_a_cancellation_before_the_request_says_no_session_was_created() -> None:
    def cancelled_while_reading_the_event() -> EventFacts:
        raise Cancelled("SIGTERM", 143)

    reporter = ConsoleReporter(io.StringIO(), verbose=False)
    exit_code = run({"api-key": API_KEY}, RunnerEnv(), cancelled_while_reading_the_event, reporter)
    assert exit_code == 143
    assert reporter.outputs["outcome"] == "failed"
    assert reporter.outputs["error"] == "Cancelled (SIGTERM) before a session was requested; no session was created."


def test_a_cancellation_after_the_post_never_says_no_session_was_created() -> None:
    """Cancelled while the outcome of a POST is being reported (outside the POST itself, which reports its own)."""

    class CancelledWhileReporting(ConsoleReporter):
        def set_outputs(self, outputs: Mapping[str, str]) -> None:
            if not self.outputs:
                self.outputs["interrupted"] = "yes"
                raise Cancelled("SIGTERM", 143)
            super().set_outputs(outputs)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(504, text="<html>Gateway Timeout</html>")  # the outcome is unknown

    reporter = CancelledWhileReporting(io.StringIO(), verbose=False)
    raw = {"api-key": API_KEY, "repository": "acme/app", "branch": "main", "comment": "off"}
    seams = Seams(recoupable_transport=httpx.MockTransport(answer))
    exit_code = run(raw, RunnerEnv(), lambda: EventFacts(event_name="workflow_dispatch"), reporter, seams)
    assert exit_code == 143
    assert reporter.outputs["error"] == "Cancelled (SIGTERM) after a session was requested; a session may exist."


# -- the networks of self-hosted runners and GitHub Enterprise Server -----------------------------------------------


@pytest.fixture
def tls_github(certificate: tuple[Path, Path]) -> Iterator[GitHubStandIn]:
    """GitHub Enterprise Server behind a private CA: the GitHub stand-in over https with its own certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with GitHubStandIn(ssl_context=context) as server:
        server.add_pull(
            "acme", "app", 42, title="t", head_ref="feat/search", head_sha="1234abcd", head_full_name="acme/app"
        )
        yield server


def _both_over_tls(
    action_in_process: RunAction, api: RecoupableStandIn, github: GitHubStandIn, env: dict[str, str]
) -> ActionRun:
    return action_in_process(
        event_name="pull_request",
        event=pull_request_event(),
        inputs={**inputs(api.url), "comment": "update", "github-token": GITHUB_TOKEN},
        env={"GITHUB_API_URL": github.api_url, "GITHUB_REPOSITORY": "acme/app", **env},
    )


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_DIR"])
def test_one_ca_policy_for_both_apis_whichever_variable_names_the_ca(
    action_in_process: RunAction,
    tls_api: RecoupableStandIn,
    tls_github: GitHubStandIn,
    certificate: tuple[Path, Path],
    variable: str,
) -> None:
    assert tls_github.api_url.startswith("https://")
    ca = str(certificate[0].parent) if variable == "SSL_CERT_DIR" else str(certificate[0])
    run = _both_over_tls(action_in_process, tls_api, tls_github, {variable: ca})
    check_run(run)
    assert run.returncode == 0, run.log
    assert "::warning" not in run.stdout, run.stdout
    assert len(tls_api.posts) == 1
    [comment] = tls_github.comments("acme", "app", 42)
    assert run.outputs["comment-id"] == str(comment["id"])


def test_one_proxy_for_both_apis_and_no_proxy_bypasses_it_for_both(
    action_in_process: RunAction,
    tls_api: RecoupableStandIn,
    tls_github: GitHubStandIn,
    certificate: tuple[Path, Path],
    proxy: _ConnectProxy,
) -> None:
    env = {"SSL_CERT_FILE": str(certificate[0]), "HTTPS_PROXY": proxy.url}
    run = _both_over_tls(action_in_process, tls_api, tls_github, env)
    check_run(run)
    assert run.returncode == 0, run.log
    tunnels = list(proxy.targets)
    assert set(tunnels) == {tls_api.url.removeprefix("https://"), tls_github.url.removeprefix("https://")}

    run = _both_over_tls(action_in_process, tls_api, tls_github, {**env, "NO_PROXY": "localhost,127.0.0.1"})
    check_run(run)
    assert run.returncode == 0, run.log
    assert proxy.targets == tunnels  # neither API went through the proxy this time
    assert len(tls_github.comments("acme", "app", 42)) == 1


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SSL_CERT_FILE": "/nonexistent/ca.pem"}, "SSL_CERT_FILE names /nonexistent/ca.pem, which cannot be read"),
        ({"REQUESTS_CA_BUNDLE": "/nonexistent"}, "REQUESTS_CA_BUNDLE names /nonexistent, which cannot be read"),
        ({"CURL_CA_BUNDLE": "{tmp}/garbage.pem"}, "CURL_CA_BUNDLE names {tmp}/garbage.pem, which holds no CA"),
        ({"SSL_CERT_DIR": "{tmp}/garbage.pem"}, "SSL_CERT_DIR names {tmp}/garbage.pem, which is not a folder"),
        ({"HTTPS_PROXY": "socks5://127.0.0.1:1080"}, "HTTPS_PROXY is a socks5:// proxy, which is not supported"),
        ({"http_proxy": "ftp://proxy.example:21"}, "http_proxy is a ftp:// proxy, which is not supported"),
    ],
    ids=["missing-file", "missing-bundle", "not-pem", "dir-is-a-file", "socks", "ftp"],
)
def test_a_ca_or_proxy_that_cannot_work_is_one_line_naming_the_variable(
    action_in_process: RunAction, recoupable: RecoupableStandIn, tmp_path: Path, env: dict[str, str], message: str
) -> None:
    (tmp_path / "garbage.pem").write_text("not a certificate\n", encoding="utf-8")
    env = {name: value.format(tmp=tmp_path) for name, value in env.items()}
    run = action_in_process(
        event_name="pull_request", event=pull_request_event(), inputs=inputs(recoupable.url), env=env
    )
    check_run(run)
    assert run.returncode == 1, run.log
    assert message.format(tmp=tmp_path) in error_line(run)
    assert "Traceback" not in run.log
    assert recoupable.requests == []
    assert run.outputs["outcome"] == "failed"
