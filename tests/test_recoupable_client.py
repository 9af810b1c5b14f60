"""`RecoupableClient` in this process, through its httpx transport seam: the Recoupable stand-in answers as an
httpx transport (the same answers and scripted faults as over HTTP), so every parsing and retry decision is
tried in milliseconds. The waits between attempts are recorded instead of slept. `test_faults.py` runs the
same faults end to end."""

from __future__ import annotations

import json
import time
from email.utils import formatdate

import pytest

from recoup_session_action import USER_AGENT
from recoup_session_action.errors import ApiFailure
from recoup_session_action.recoupable_client import MAX_BODY_BYTES, Created, RecoupableClient
from recoup_session_action.recoupable_models import CreateSessionRequest
from recoup_session_action.standins.recoupable import DEMO_API_KEY, Fault, RecoupableStandIn

URL = "https://api.recoupable.test"
REQUEST = CreateSessionRequest(repoOwner="octo-org", repoName="octo-app", branch="main", sandboxType="vercel")
ENVELOPE = b'{"status":"error","error":"Failed to create session"}'
UNKNOWN = "the outcome is unknown and a session may exist"


class Retries:
    """What `on_retry` was told, and the waits the client asked to sleep."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.logged: list[tuple[int, str, float]] = []
        self.slept: list[float] = []
        monkeypatch.setattr(time, "sleep", self.slept.append)

    def log(self, attempt: int, reason: str, wait: float) -> None:
        self.logged.append((attempt, reason, wait))


@pytest.fixture
def api() -> RecoupableStandIn:
    return RecoupableStandIn()


@pytest.fixture
def retries(monkeypatch: pytest.MonkeyPatch) -> Retries:
    return Retries(monkeypatch)


def create(api: RecoupableStandIn, retries: Retries, *, max_retries: int = 3, timeout: float = 30) -> Created:
    with RecoupableClient(
        URL,
        DEMO_API_KEY,
        timeout_seconds=timeout,
        max_retries=max_retries,
        on_retry=retries.log,
        transport=api.transport(),
    ) as client:
        return client.create_session(REQUEST)


def failure(api: RecoupableStandIn, retries: Retries, **options: float) -> ApiFailure:
    with pytest.raises(ApiFailure) as caught:
        create(api, retries, **options)  # type: ignore[arg-type]
    return caught.value


def test_the_request_and_the_answer(api: RecoupableStandIn, retries: Retries) -> None:
    created = create(api, retries)

    [post] = api.posts
    assert (post.method, post.path) == ("POST", "/api/sessions")
    assert post.content == json.dumps(REQUEST.body(), separators=(",", ":")).encode()
    assert post.headers["x-api-key"] == DEMO_API_KEY
    assert post.headers["content-type"] == "application/json"
    assert post.headers["accept"] == "application/json"
    assert post.headers["user-agent"] == USER_AGENT
    assert created.attempts == 1
    assert created.response.session.branch == "main"
    assert created.response.chat.id
    assert created.body == json.dumps(json.loads(created.body), separators=(",", ":"))
    assert retries.logged == []


@pytest.mark.parametrize(
    ("fault", "reason", "wait"),
    [
        (Fault(429, b"", {"Retry-After": "2"}), "the API answered 429 (busy)", 2.0),
        (Fault(503, b"<html>busy</html>"), "the API answered 503 (busy)", None),
        (Fault(500, ENVELOPE), "the API answered 500: Failed to create session", None),
        (Fault(502, b'{"status":"error","message":"Upstream failed"}'), "the API answered 502: Upstream failed", None),
    ],
)
def test_answers_that_created_nothing_are_retried(
    api: RecoupableStandIn, retries: Retries, fault: Fault, reason: str, wait: float | None
) -> None:
    api.faults.append(fault)

    created = create(api, retries)

    assert created.attempts == 2
    assert len(api.posts) == 2
    [(attempt, logged_reason, logged_wait)] = retries.logged
    assert (attempt, logged_reason) == (1, reason)
    assert retries.slept == [logged_wait]
    if wait is None:
        assert 0 <= logged_wait <= 1  # jittered backoff for the first retry
    else:
        assert logged_wait == wait


def test_retry_after_as_an_http_date(api: RecoupableStandIn, retries: Retries) -> None:
    api.faults.append(Fault(429, b"", {"Retry-After": formatdate(time.time() + 20, usegmt=True)}))

    create(api, retries)

    [(_, _, wait)] = retries.logged
    assert 10 < wait <= 20  # whole seconds in the header, and however long this process took to get there


def test_retries_stop_at_max_retries(api: RecoupableStandIn, retries: Retries) -> None:
    api.faults.extend([Fault(503, b"", {"Retry-After": "0"})] * 5)

    error = failure(api, retries, max_retries=2)

    assert str(error) == "the API answered 503 (busy); gave up after 3 attempts (max-retries: 2)"
    assert not error.outcome_unknown
    assert len(api.posts) == 3
    assert [attempt for attempt, _, _ in retries.logged] == [1, 2]


def test_a_wait_beyond_the_timeout_gives_up_at_once(api: RecoupableStandIn, retries: Retries) -> None:
    api.faults.append(Fault(429, b"", {"Retry-After": "120"}))

    error = failure(api, retries, timeout=3)

    assert str(error) == "the API answered 429 (busy); no time left to retry within timeout-seconds: 3"
    assert retries.slept == []
    assert not error.outcome_unknown


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault(504, b"<html>Gateway Timeout</html>"), "the API answered 504 with a page that is not the API's JSON"),
        (Fault(504, ENVELOPE), "the API answered 504: Failed to create session"),
        (Fault(500, b"Internal Server Error"), "the API answered 500 with a page that is not the API's JSON"),
        (Fault(behaviour="drop"), "the connection to https://api.recoupable.test broke"),
        (Fault(200, b'{"session"', behaviour="truncate"), "broke before the answer was complete"),
        (Fault(behaviour="hang"), "no answer from https://api.recoupable.test within timeout-seconds: 30"),
    ],
)
def test_an_unknown_outcome_is_never_retried(
    api: RecoupableStandIn, retries: Retries, fault: Fault, message: str
) -> None:
    api.faults.append(fault)

    error = failure(api, retries)

    assert message in str(error)
    assert UNKNOWN in str(error)
    assert error.outcome_unknown
    assert len(api.posts) == 1
    assert retries.logged == []


@pytest.mark.parametrize(
    ("fault", "message", "unknown"),
    [
        (Fault(200, b"<html>ok</html>"), "the API answered 200 but its body is not JSON", True),
        (Fault(200, b'{"session": {"id": "s1"}}'), "the API answered 200 but its body lacks a valid chat", True),
        (Fault(401, b'{"status":"error","message":"Unauthorized"}'), "401: Unauthorized; check the api-key", False),
        (Fault(403, b'{"status":"error","error":"Forbidden"}'), "403: Forbidden; the key may not use this", False),
        (Fault(404, b""), "404: no JSON error body; check api-url", False),
        (
            Fault(400, b'{"status":"error","missing_fields":["branch"],"error":"branch must be a string"}'),
            "400: branch must be a string (fields: branch); check the inputs",
            False,
        ),
    ],
)
def test_answers_that_are_not_a_session(
    api: RecoupableStandIn, retries: Retries, fault: Fault, message: str, unknown: bool
) -> None:
    api.faults.append(fault)

    error = failure(api, retries)

    assert message in str(error)
    assert error.outcome_unknown is unknown
    assert len(api.posts) == 1


@pytest.mark.parametrize(("status", "unknown"), [(200, True), (400, False)])
def test_a_body_over_the_limit_is_not_read(
    api: RecoupableStandIn, retries: Retries, status: int, unknown: bool
) -> None:
    api.faults.append(Fault(status, b"x" * (MAX_BODY_BYTES + 1)))

    error = failure(api, retries)

    assert f"the API answered {status} with a body over 1024 KiB; stopped reading it" in str(error)
    assert error.outcome_unknown is unknown


def test_the_key_echoed_by_the_server_is_redacted(api: RecoupableStandIn, retries: Retries) -> None:
    echo = json.dumps({"status": "error", "error": f"bad key {DEMO_API_KEY}"}).encode()
    api.faults.extend([Fault(500, echo), Fault(500, echo)])

    error = failure(api, retries, max_retries=1)

    assert str(error) == "the API answered 500: bad key ***; gave up after 2 attempts (max-retries: 1)"
    assert all(DEMO_API_KEY not in reason for _, reason, _ in retries.logged)


def test_redirects_stay_within_the_origin(api: RecoupableStandIn, retries: Retries) -> None:
    api.faults.append(Fault(308, b"", {"Location": "/api/sessions"}))
    assert create(api, retries).attempts == 1
    assert [post.path for post in api.posts] == ["/api/sessions", "/api/sessions"]

    api.faults.append(Fault(307, b"", {"Location": "https://elsewhere.test/api/sessions"}))
    error = failure(api, retries)
    assert "redirected to another origin (https://elsewhere.test); the key was not sent there" in str(error)
    assert len(api.posts) == 3

    api.faults.extend([Fault(307, b"", {"Location": "/api/sessions"})] * 10)
    error = failure(api, retries)
    assert str(error) == "the API redirected more than 3 times; check api-url"
    assert len(api.posts) == 7
