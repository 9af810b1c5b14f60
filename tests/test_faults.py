"""Faults the action must survive, end to end: the console script under a runner's environment against
loopback servers that misbehave on purpose (the Recoupable stand-in's `faults`, the GitHub stand-in's
`faults`, a port that refuses, a second origin, TLS with a private CA, a CONNECT proxy).

Every test checks the exit code, the one-line `::error` (or warning), how many POSTs the server saw, the
outputs and the summary, and that neither secret leaks anywhere.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from email.utils import formatdate
from pathlib import Path

import pytest

from recoup_session_action.recoupable_client import _verification
from recoup_session_action.standins.github import GitHubStandIn
from recoup_session_action.standins.proxy import ConnectProxy
from recoup_session_action.standins.recoupable import Fault, RecoupableStandIn

from .conftest import (
    API_KEY,
    GITHUB_TOKEN,
    ActionRun,
    RunAction,
    assert_masked_first,
    assert_no_secret,
    needs_command,
    pull_request_event,
)

ENVELOPE_500 = b'{"status":"error","error":"Failed to create session"}'
UNKNOWN = "the outcome is unknown and a session may exist"
# Workflow commands this action itself may issue; anything else in the log came from untrusted text.
OWN_COMMANDS = frozenset({"add-mask", "group", "endgroup", "error", "warning", "notice", "debug", "stop-commands"})


def active_commands(stdout: str) -> list[tuple[str, str]]:
    """Each workflow command the runner would act on, as (name, line), honouring `::stop-commands::`."""
    commands: list[tuple[str, str]] = []
    resume: str | None = None
    for line in stdout.splitlines():
        stripped = line.strip()
        if resume is not None:
            if stripped == f"::{resume}::":
                resume = None
            continue
        if not stripped.startswith("::"):
            continue
        name = re.split(r"[ :]", stripped[2:], maxsplit=1)[0]
        commands.append((name, line))
        if name == "stop-commands":
            resume = stripped.split("::")[2]
    return commands


def check_run(run: ActionRun, *, key: str = API_KEY) -> None:
    """What holds for every run: the key masked first, no secret anywhere, no traceback, no foreign command,
    masks only at the top, every annotation on one line."""
    if key:
        assert_masked_first(run, key)
    assert_no_secret(run, API_KEY, GITHUB_TOKEN)
    assert "Traceback" not in run.log
    commands = active_commands(run.stdout)
    assert {name for name, _ in commands} <= OWN_COMMANDS, commands
    masks = [index for index, (name, _) in enumerate(commands) if name == "add-mask"]
    assert masks == list(range(len(masks))), "a mask after other output"
    assert all(name != "stop-commands" or len(line) > 30 for name, line in commands)


def error_line(run: ActionRun) -> str:
    errors = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, run.stdout
    return errors[0]


def assert_failed(run: ActionRun, message: str, *, posts: int, api: RecoupableStandIn) -> None:
    check_run(run)
    assert run.returncode == 1, run.log
    assert message in error_line(run)
    assert run.outputs["outcome"] == "failed"
    assert run.outputs["skipped"] == "false"
    assert message in run.outputs["error"]
    assert run.outputs["session-id"] == ""
    assert "### Recoupable session not created" in run.summary
    assert len(api.posts) == posts


def assert_created(run: ActionRun, *, posts: int, api: RecoupableStandIn) -> None:
    check_run(run)
    assert run.returncode == 0, run.log
    assert "::error" not in run.stdout
    assert run.outputs["outcome"] == "created"
    assert run.outputs["error"] == ""
    assert run.outputs["session-id"]
    assert "### Recoupable session created" in run.summary
    assert len(api.posts) == posts
    assert all(post.headers["x-api-key"] == API_KEY for post in api.posts)


def retry_lines(run: ActionRun) -> list[str]:
    return [line for line in run.stdout.splitlines() if line.startswith("Attempt ")]


def inputs(api_url: str, **extra: str) -> dict[str, str]:
    return {"api-key": API_KEY, "api-url": api_url, "comment": "off", **extra}


def run_pr(
    action_in_process: RunAction,
    api_url: str,
    extra: dict[str, str] | None = None,
    *,
    env: dict[str, str] | None = None,
) -> ActionRun:
    """A pull_request run against `api_url`, with `extra` inputs and `env` on top of the runner's."""
    event = pull_request_event()
    return action_in_process(event_name="pull_request", event=event, inputs=inputs(api_url, **(extra or {})), env=env)


# -- the request never reached the server: retried ------------------------------------------------------


def test_connection_refused_then_success(action_in_process: RunAction) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with ExitStack() as stack:
        started: list[RecoupableStandIn] = []

        def start_once_refused(printed: str) -> None:
            if printed.startswith("Attempt 1 failed") and not started:  # the server comes up as the run says so
                started.append(stack.enter_context(RecoupableStandIn(port=port)))

        run = action_in_process(
            event_name="pull_request",
            event=pull_request_event(),
            inputs=inputs(f"http://127.0.0.1:{port}", **{"max-retries": "1", "timeout-seconds": "20"}),
            watch=start_once_refused,
        )
        [api] = started
        assert_created(run, posts=1, api=api)
        [first] = retry_lines(run)
        assert first.startswith(f"Attempt 1 failed: could not connect to http://127.0.0.1:{port} (ConnectError")
        assert re.search(r"; retrying in \d+\.\d+s$", first)


def test_connection_refused_throughout_gives_up_and_says_nothing_was_created(action_in_process: RunAction) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with RecoupableStandIn() as api:  # only for the assertion helpers; nothing listens on `port`
        run = run_pr(action_in_process, f"http://127.0.0.1:{port}", {"max-retries": "1", "timeout-seconds": "10"})
        assert_failed(run, "could not connect to", posts=0, api=api)
    assert "gave up after 2 attempts (max-retries: 1)" in run.outputs["error"]
    assert UNKNOWN not in run.outputs["error"]
    assert "[!CAUTION]" not in run.summary
    assert len(retry_lines(run)) == 1


# -- throttled or refused by the application: retried -----------------------------------------------------


def test_429_with_retry_after_seconds_then_success(action_in_process: RunAction, recoupable: RecoupableStandIn) -> None:
    recoupable.faults.append(Fault(429, b'{"status":"error","error":"Too many requests"}', {"Retry-After": "1"}))
    started = time.monotonic()
    run = run_pr(action_in_process, recoupable.url, {"timeout-seconds": "10"})
    assert time.monotonic() - started >= 1
    assert_created(run, posts=2, api=recoupable)
    assert retry_lines(run) == ["Attempt 1 failed: the API answered 429 (busy); retrying in 1.0s"]


def test_429_with_retry_after_http_date_then_success(
    action_in_process: RunAction, recoupable: RecoupableStandIn
) -> None:
    recoupable.faults.append(Fault(429, b"", {"Retry-After": formatdate(time.time() + 1, usegmt=True)}))
    run = run_pr(action_in_process, recoupable.url, {"timeout-seconds": "10"})
    assert_created(run, posts=2, api=recoupable)
    [line] = retry_lines(run)
    wait = float(re.findall(r"retrying in (\d+\.\d)s$", line)[0])
    assert 0 <= wait <= 1


def test_retry_after_beyond_timeout_gives_up_at_once(
    action_in_process: RunAction, recoupable: RecoupableStandIn
) -> None:
    recoupable.faults.append(Fault(429, b"", {"Retry-After": "120"}))
    started = time.monotonic()
    run = run_pr(action_in_process, recoupable.url, {"timeout-seconds": "20"})
    assert time.monotonic() - started < 20  # neither the 120 s asked for nor the deadline
    assert_failed(
        run, "the API answered 429 (busy); no time left to retry within timeout-seconds: 20", posts=1, api=recoupable
    )
    assert UNKNOWN not in run.outputs["error"]


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault(503, b"<html>Service Unavailable</html>"), "the API answered 503 (busy)"),
        (Fault(500, ENVELOPE_500), "the API answered 500: Failed to create session"),
        (Fault(502, b'{"status":"error","message":"Upstream failed"}'), "the API answered 502: Upstream failed"),
    ],
)
def test_retryable_answer_then_success(
    action_in_process: RunAction, recoupable: RecoupableStandIn, fault: Fault, reason: str
) -> None:
    recoupable.faults.append(fault)
    run = run_pr(action_in_process, recoupable.url, {"timeout-seconds": "10"})
    assert_created(run, posts=2, api=recoupable)
    [line] = retry_lines(run)
    assert line.startswith(f"Attempt 1 failed: {reason}; retrying in ")
    assert "The API accepted attempt 2." in run.stdout
    assert "Session " in run.stdout


def test_retries_stop_at_max_retries(action_in_process: RunAction, recoupable: RecoupableStandIn) -> None:
    recoupable.faults.extend([Fault(503, b"", {"Retry-After": "0"})] * 5)
    run = run_pr(action_in_process, recoupable.url, {"max-retries": "2", "timeout-seconds": "20"})
    assert_failed(
        run, "the API answered 503 (busy); gave up after 3 attempts (max-retries: 2)", posts=3, api=recoupable
    )
    assert [line.split(":")[0] for line in retry_lines(run)] == ["Attempt 1 failed", "Attempt 2 failed"]


# -- the outcome is unknown: never retried ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault(504, b"<html>Gateway Timeout</html>"), "the API answered 504 with a page that is not the API's JSON"),
        (Fault(504, ENVELOPE_500), "the API answered 504: Failed to create session"),
        (Fault(502, b"<html><body>Bad gateway</body></html>"), "the API answered 502 with a page that is not"),
        (Fault(500, b"Internal Server Error"), "the API answered 500 with a page that is not the API's JSON"),
        (Fault(behaviour="drop"), "the connection to http://127.0.0.1:"),
        (Fault(200, b'{"session":{"id":"s1"', behaviour="truncate"), "broke before the answer was complete"),
    ],
)
def test_unknown_outcome_is_not_retried(
    action_in_process: RunAction, recoupable: RecoupableStandIn, fault: Fault, message: str
) -> None:
    recoupable.faults.append(fault)
    run = run_pr(action_in_process, recoupable.url, {"timeout-seconds": "5"})
    assert_failed(run, message, posts=1, api=recoupable)
    assert UNKNOWN in error_line(run)
    assert UNKNOWN in run.summary.replace("\\", "")
    assert "> [!CAUTION]\n> A session may have been created anyway" in run.summary
    assert retry_lines(run) == []


def test_server_that_never_answers_times_out_once(action_in_process: RunAction, recoupable: RecoupableStandIn) -> None:
    recoupable.faults.append(Fault(behaviour="hang"))
    started = time.monotonic()
    run = run_pr(action_in_process, recoupable.url, {"timeout-seconds": "1"})
    elapsed = time.monotonic() - started
    assert 1 <= elapsed < 7
    assert_failed(run, "no answer from http://127.0.0.1:", posts=1, api=recoupable)
    assert f"within timeout-seconds: 1 after the request was sent; {UNKNOWN}" in error_line(run)
    assert retry_lines(run) == []


# -- a 200 that cannot be read ------------------------------------------------------------------------------


def test_200_with_invalid_json(action_in_process: RunAction, recoupable: RecoupableStandIn) -> None:
    recoupable.faults.append(Fault(200, b"<html>ok</html>"))
    run = run_pr(action_in_process, recoupable.url)
    assert_failed(
        run, "the API answered 200 but its body is not JSON; a session was probably created", posts=1, api=recoupable
    )
    assert run.outputs["response"] == ""


def test_200_with_a_huge_body_is_read_only_so_far(action_in_process: RunAction, recoupable: RecoupableStandIn) -> None:
    huge = b'{"session":{"id":"s1","title":"' + b"a" * (2 * 1024 * 1024) + b'"},"chat":{"id":"c1"}}'
    recoupable.faults.append(Fault(200, huge))
    run = run_pr(action_in_process, recoupable.url)
    assert_failed(
        run,
        "the API answered 200 with a body over 1024 KiB; stopped reading it; a session was probably",
        posts=1,
        api=recoupable,
    )
    assert len(run.stdout) < 20_000
    assert retry_lines(run) == []


def test_huge_error_body_is_bounded_and_not_unknown(
    action_in_process: RunAction, recoupable: RecoupableStandIn
) -> None:
    recoupable.faults.append(Fault(400, b"x" * (2 * 1024 * 1024)))
    run = run_pr(action_in_process, recoupable.url)
    assert_failed(run, "the API answered 400 with a body over 1024 KiB; stopped reading it", posts=1, api=recoupable)
    assert UNKNOWN not in run.outputs["error"]


# -- redirects ---------------------------------------------------------------------------------------------


def test_redirect_to_another_origin_is_not_followed(
    action_in_process: RunAction, recoupable: RecoupableStandIn
) -> None:
    with RecoupableStandIn() as elsewhere:
        recoupable.faults.append(Fault(307, b"", {"Location": f"{elsewhere.url}/api/sessions"}))
        run = run_pr(action_in_process, recoupable.url)
        assert elsewhere.requests == []
    assert_failed(
        run,
        f"the API redirected to another origin ({elsewhere.url}); the key was not sent there",
        posts=1,
        api=recoupable,
    )
    assert UNKNOWN not in run.outputs["error"]


def test_redirect_within_the_origin_is_followed(action_in_process: RunAction, recoupable: RecoupableStandIn) -> None:
    recoupable.faults.append(Fault(308, b"", {"Location": "/api/sessions"}))
    run = run_pr(action_in_process, recoupable.url)
    assert_created(run, posts=2, api=recoupable)
    assert recoupable.posts[0].body == recoupable.posts[1].body


def test_endless_redirects_stop(action_in_process: RunAction, recoupable: RecoupableStandIn) -> None:
    recoupable.faults.extend([Fault(307, b"", {"Location": "/api/sessions"})] * 10)
    run = run_pr(action_in_process, recoupable.url)
    assert_failed(run, "the API redirected more than 3 times; check api-url", posts=4, api=recoupable)


# -- GitHub failing while commenting: the session is kept ---------------------------------------------------

SECONDARY_LIMIT = {
    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
}


def _comment_run(action: RunAction, api: RecoupableStandIn, github: GitHubStandIn, **extra: str) -> ActionRun:
    github.add_pull(
        "acme", "app", 42, title="Add search", head_ref="feat/search", head_sha="1234abcd", head_full_name="acme/app"
    )
    return action(
        event_name="pull_request",
        event=pull_request_event(),
        inputs={
            **inputs(api.url, **{"timeout-seconds": "5", **extra}),
            "comment": "update",
            "github-token": GITHUB_TOKEN,
        },
        env={"GITHUB_API_URL": github.api_url, "GITHUB_REPOSITORY": "acme/app"},
    )


def _github_saw_no_api_key(github: GitHubStandIn) -> None:
    assert all(API_KEY not in json.dumps(request.body) for request in github.requests)


def _arrivals(github: GitHubStandIn) -> list[float]:
    """When each request reached GitHub (monotonic seconds), as it arrives."""
    arrived: list[float] = []
    github.hooks.append(lambda _: arrived.append(time.monotonic()))
    return arrived


@pytest.mark.parametrize(
    "failures",
    [
        [Fault(500, {"message": "Server Error"}), Fault(502, "<html>Bad gateway</html>")],
        [Fault(403, SECONDARY_LIMIT, {"Retry-After": "1"})],
    ],
    ids=["5xx", "secondary-rate-limit"],
)
def test_github_failing_briefly_while_commenting_is_retried(
    action_in_process: RunAction,
    recoupable: RecoupableStandIn,
    github: GitHubStandIn,
    failures: list[Fault],
) -> None:
    github.faults.extend(failures)
    arrived = _arrivals(github)
    run = _comment_run(action_in_process, recoupable, github)
    assert_created(run, posts=1, api=recoupable)
    assert "::warning" not in run.stdout
    assert len(github.requests) == len(failures) + 4  # each failure retried once: list, claim, list, update
    if "Retry-After" in failures[0].headers:  # a wait GitHub asks for is kept, even in this process
        assert arrived[1] - arrived[0] >= 1
    [comment] = github.comments("acme", "app", 42)
    assert run.outputs["comment-id"] == str(comment["id"])
    assert "Pull-request comment created" in run.summary
    assert API_KEY not in comment["body"]
    assert GITHUB_TOKEN not in comment["body"]
    _github_saw_no_api_key(github)


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (Fault(500, {"message": "Server Error"}), "GitHub answered 500: Server Error"),
        (
            Fault(403, SECONDARY_LIMIT, {"Retry-After": "0"}),
            "GitHub answered 403: You have exceeded a secondary rate limit",
        ),
    ],
    ids=["500", "secondary-rate-limit"],
)
def test_github_failing_throughout_keeps_the_session_and_warns(
    action_in_process: RunAction,
    recoupable: RecoupableStandIn,
    github: GitHubStandIn,
    failure: Fault,
    message: str,
) -> None:
    github.faults.extend([failure] * 20)
    run = _comment_run(action_in_process, recoupable, github)
    assert_created(run, posts=1, api=recoupable)
    warnings = [line for line in run.stdout.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1, run.stdout
    assert "The session was created, but the pull-request comment failed: " + message in warnings[0]
    assert github.comments("acme", "app", 42) == []
    assert (run.outputs["comment-id"], run.outputs["comment-url"]) == ("", "")
    assert "Pull-request comment: GitHub answered" in run.summary
    _github_saw_no_api_key(github)


def test_a_program_pauses_between_github_retries_as_a_real_run_does(
    action_runner: RunAction, recoupable: RecoupableStandIn, github: GitHubStandIn
) -> None:
    """The runs in this process pause milliseconds between retries; a program keeps PyGithub's real backoff:
    none before the first retry, a second before the second."""
    github.faults.extend([Fault(500, {"message": "Server Error"}), Fault(502, "<html>Bad gateway</html>")])
    arrived = _arrivals(github)
    run = _comment_run(action_runner, recoupable, github)
    assert_created(run, posts=1, api=recoupable)
    assert "::warning" not in run.stdout
    assert len(arrived) == 2 + 4  # the two failures, then list, claim, list, update
    assert arrived[2] - arrived[1] >= 1


def test_comment_failure_with_fail_on_comment_error_exits_1_but_keeps_the_session(
    action_in_process: RunAction, recoupable: RecoupableStandIn, github: GitHubStandIn
) -> None:
    github.faults.append(Fault(403, {"message": "Resource not accessible by integration"}))
    run = _comment_run(action_in_process, recoupable, github, **{"fail-on-comment-error": "true"})
    check_run(run)
    assert run.returncode == 1
    assert "The session was created, but the pull-request comment failed" in error_line(run)
    assert run.outputs["outcome"] == "created"
    assert run.outputs["session-id"]
    assert len(recoupable.posts) == 1


def test_github_error_that_echoes_the_token_does_not_leak_it(
    action_in_process: RunAction, recoupable: RecoupableStandIn, github: GitHubStandIn
) -> None:
    github.faults.extend([Fault(422, {"message": f"token {GITHUB_TOKEN} and key {API_KEY} rejected"})] * 20)
    run = _comment_run(action_in_process, recoupable, github)
    assert_created(run, posts=1, api=recoupable)
    assert run.stdout.count("::warning") == 1


# -- TLS with a private CA, and a proxy ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA), made with the openssl command."""
    needs_command("openssl")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_api(certificate: tuple[Path, Path]) -> Iterator[RecoupableStandIn]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with RecoupableStandIn(ssl_context=context) as api:
        yield api


def test_tls_with_the_ca_bundle_from_ssl_cert_file(
    action_in_process: RunAction, tls_api: RecoupableStandIn, certificate: tuple[Path, Path]
) -> None:
    assert tls_api.url.startswith("https://127.0.0.1:")
    run = run_pr(action_in_process, tls_api.url, env={"SSL_CERT_FILE": str(certificate[0])})
    assert_created(run, posts=1, api=tls_api)


def test_plain_http_parses_no_ca_bundle_and_its_context_would_still_verify() -> None:
    assert _verification("https://api.recoupable.com") is True  # httpx's own: certifi, SSL_CERT_FILE or _DIR
    context = _verification("http://127.0.0.1:8080")
    assert isinstance(context, ssl.SSLContext)
    assert context.cert_store_stats()["x509_ca"] == 0
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_tls_without_the_ca_fails_clearly_and_is_never_unverified(
    action_in_process: RunAction, tls_api: RecoupableStandIn
) -> None:
    run = run_pr(action_in_process, tls_api.url, {"max-retries": "0"})
    assert_failed(
        run, f"could not connect to {tls_api.url} (ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED]", posts=0, api=tls_api
    )
    assert "gave up after 1 attempt (max-retries: 0)" in run.outputs["error"]


_ConnectProxy = ConnectProxy  # the name test_hardening imports


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    with ConnectProxy() as server:
        yield server


def test_https_proxy_is_used_and_no_proxy_bypasses_it(
    action_in_process: RunAction, tls_api: RecoupableStandIn, certificate: tuple[Path, Path], proxy: ConnectProxy
) -> None:
    env = {"SSL_CERT_FILE": str(certificate[0]), "HTTPS_PROXY": proxy.url}
    run = run_pr(action_in_process, tls_api.url, env=env)
    assert_created(run, posts=1, api=tls_api)
    assert proxy.targets == [tls_api.url.removeprefix("https://")]

    run = run_pr(action_in_process, tls_api.url, env={**env, "NO_PROXY": "127.0.0.1"})
    assert_created(run, posts=2, api=tls_api)
    assert len(proxy.targets) == 1
