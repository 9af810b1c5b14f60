"""`POST /api/sessions` over httpx, with the retry policy the API's lack of idempotency demands.

Every accepted POST creates a new session, so a request is retried only when the session was certainly
not created: the connection never reached the server, the server throttled (429/503), or the application
itself answered 500/502 with its JSON error envelope (it persisted nothing). A read timeout, a dropped
connection, a 504 or a non-JSON 5xx page leave the outcome unknown: no retry, and the error says so.
"""

from __future__ import annotations

import json
import random
import ssl
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import NamedTuple
from urllib.parse import quote, urljoin, urlsplit

import httpx
from pydantic import ValidationError

from .content_encoding import ACCEPTED, TooLarge, Undecodable, decode
from .deadline import Cancelled, Deadline, DeadlineExceeded
from .errors import ApiFailure
from .hints import api_status_fix
from .interface import WORKFLOW, Interface
from .pacing import REAL_PACING
from .recoupable_models import (
    SESSIONS_PATH,
    CreateSessionRequest,
    CreateSessionResponse,
    ErrorBody,
    GetSessionResponse,
    request_headers,
)
from .text import first_validation_error, one_line, redact

MAX_BODY_BYTES = 1024 * 1024
MAX_REDIRECTS = 3
MAX_SERVER_TEXT = 500
_RETRYABLE_THROTTLE = frozenset({429, 503})
_RETRYABLE_ENVELOPE = frozenset({500, 502})
_REDIRECTS = frozenset({301, 302, 307, 308})


class Created(NamedTuple):
    response: CreateSessionResponse
    body: str
    attempts: int


def _verification(api_url: str) -> ssl.SSLContext | bool:
    """httpx's own certificate verification for https (certifi, or SSL_CERT_FILE / SSL_CERT_DIR). Plain http,
    allowed only for localhost, never shakes hands, so its context is left without the CA bundle that would
    otherwise be parsed on every run for nothing; were it ever used, it would verify against no CA and fail."""
    if urlsplit(api_url).scheme == "https":
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class Fetched(NamedTuple):
    """A session read (GET) or changed (PATCH): the answer and its body as compact, redacted JSON."""

    response: GetSessionResponse
    body: str


class SessionGone(Exception):
    """The server says the session cannot be had: 404 (no such session) or 403 (another account's)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"the API answered {status}: {text}")
        self.status = status


class PatchUnsupported(Exception):
    """The server answered 404 or 405 to a PATCH: an older server without it, or a session it does not know."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"the API answered {status} to PATCH: {text}")
        self.status = status


_GONE = frozenset({403, 404})
_NO_PATCH = frozenset({404, 405})


class _Retry(Exception):
    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


RetryLog = Callable[[int, str, float], None]


class RecoupableClient:
    """One client per run: one connection pool, reused across retries.

    `transport` is the seam for tests: any `httpx.BaseTransport` (such as `httpx.MockTransport`) answers in
    place of the network; left None, httpx connects as configured by the environment (proxies, CA bundle)."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        timeout_seconds: float,
        max_retries: int,
        on_retry: RetryLog,
        backoff_seconds: float = REAL_PACING.recoupable_backoff_seconds,
        transport: httpx.BaseTransport | None = None,
        verify: ssl.SSLContext | None = None,
        interface: Interface = WORKFLOW,
    ) -> None:
        self._url = f"{api_url}{SESSIONS_PATH}"
        self._origin = _origin(api_url)
        self._api_key = api_key
        self._timeout_seconds = timeout_seconds
        self._max_retries = max_retries
        self._on_retry = on_retry
        self._backoff_seconds = backoff_seconds
        self._interface = interface
        self._http = httpx.Client(
            follow_redirects=False,
            trust_env=True,
            verify=verify or _verification(api_url),
            headers={"Accept-Encoding": ACCEPTED},
            transport=transport,
        )
        # How far the current request got: whether its bytes may have reached the server, and its status.
        self._sent = False
        self._status: int | None = None

    def __enter__(self) -> RecoupableClient:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def create_session(self, request: CreateSessionRequest) -> Created:
        """One deadline (timeout-seconds) for every attempt, wait and phase; a cancellation ends it at once."""
        deadline = Deadline.after(self._timeout_seconds)
        content = json.dumps(request.body(), separators=(",", ":")).encode()
        try:
            with deadline.enforced():
                return self._create_attempts(content, deadline.ends_at)
        except DeadlineExceeded:
            raise self._stopped(f"within {self._timeout()}") from None
        except Cancelled as cancelled:
            raise self._stopped(f"before it was cancelled ({cancelled.signal_name})") from None

    def _create_attempts(self, content: bytes, deadline: float) -> Created:
        for attempt in range(1, self._max_retries + 2):
            self._sent, self._status = False, None
            try:
                return self._attempt(content, deadline, attempt)
            except _Retry as retry:
                self._sent, self._status = False, None
                wait = self._wait_before_retry(retry, attempt, deadline)
                self._on_retry(attempt, retry.reason, wait)
                time.sleep(wait)
        raise AssertionError("unreachable: the last attempt raises instead of retrying")

    def _stopped(self, when: str) -> ApiFailure:
        """The failure of a POST stopped from outside, saying what the server may have done by then."""
        if self._status is not None:
            unknown = _may_have_created(self._status)
            return ApiFailure(
                f"the API answered {self._status} but its body did not arrive {when}"
                + ("; the outcome is unknown and a session may exist" if unknown else ""),
                outcome_unknown=unknown,
            )
        if self._sent:
            return ApiFailure(
                f"no answer from {self._origin} {when} after the request was sent; "
                "the outcome is unknown and a session may exist",
                outcome_unknown=True,
            )
        return ApiFailure(f"the request did not reach {self._origin} {when}; no session was created")

    def get_session(self, session_id: str) -> Fetched:
        """`GET /api/sessions/{id}`; safe to repeat, so every failure but a clear answer is retried."""
        return self._idempotent("GET", session_id, None, _GONE)

    def archive_session(self, session_id: str) -> Fetched:
        """`PATCH /api/sessions/{id}` with `{"status": "archived"}`: the same change twice is the same change,
        so it is retried like a GET, except that 404 and 405 (no PATCH on this server) are final at once."""
        return self._idempotent("PATCH", session_id, b'{"status":"archived"}', _NO_PATCH)

    def _idempotent(self, method: str, session_id: str, content: bytes | None, final: frozenset[int]) -> Fetched:
        """Attempts within one enforced deadline (timeout-seconds), like a POST's."""
        deadline = Deadline.after(self._timeout_seconds)
        try:
            with deadline.enforced():
                return self._idempotent_attempts(method, session_id, content, final, deadline.ends_at)
        except DeadlineExceeded:
            raise ApiFailure(f"no complete answer to {method} from {self._origin} within {self._timeout()}") from None

    def _idempotent_attempts(
        self, method: str, session_id: str, content: bytes | None, final: frozenset[int], deadline: float
    ) -> Fetched:
        url = f"{self._url}/{quote(session_id, safe='')}"
        for attempt in range(1, self._max_retries + 2):
            try:
                status, headers, body = self._exchange(method, url, content, deadline, retry_unknown=True)
                return self._read_session(method, status, headers, body, final)
            except _Retry as retry:
                wait = self._wait_before_retry(retry, attempt, deadline)
                self._on_retry(attempt, retry.reason, wait)
                time.sleep(wait)
        raise AssertionError("unreachable: the last attempt raises instead of retrying")

    def _read_session(
        self, method: str, status: int, headers: httpx.Headers, body: bytes, final: frozenset[int]
    ) -> Fetched:
        if 200 <= status < 300:
            try:
                return Fetched(GetSessionResponse.model_validate_json(body), self.redact(_compact(body)))
            except ValidationError as error:
                where, _, kind = first_validation_error(error)
                problem = "is not JSON" if kind == "json_invalid" else f"lacks a valid {where or 'body'}"
                raise ApiFailure(f"the API answered {status} to {method} but its body {problem}") from None
        envelope = _error_body(body)
        text = self._server_text(envelope.text) if envelope else "no JSON error body"
        if status in final and method == "PATCH":
            raise PatchUnsupported(status, text)
        if status in final:
            raise SessionGone(status, text)
        if status in _RETRYABLE_THROTTLE:
            raise _Retry(f"the API answered {status} (busy)", _retry_after(headers.get("retry-after")))
        if status >= 500:
            raise _Retry(f"the API answered {status}: {text}")
        hint = api_status_fix(status, self._interface)
        raise ApiFailure(f"the API refused {method} with {status}: {text}; {hint}")

    def _exchange(
        self, method: str, url: str, content: bytes | None, deadline: float, *, retry_unknown: bool
    ) -> tuple[int, httpx.Headers, bytes]:
        """One request, redirects within the origin followed; a broken answer is retried if `retry_unknown`."""
        for _ in range(MAX_REDIRECTS + 1):
            try:
                status, headers, body = self._send(url, content, deadline, method)
            except ApiFailure as failure:
                if retry_unknown and failure.outcome_unknown:
                    raise _Retry(str(failure).split("; the outcome is unknown")[0]) from None
                raise
            if status not in _REDIRECTS:
                return status, headers, body
            url = self._same_origin_location(url, headers.get("location", ""))
        raise ApiFailure(f"the API redirected more than {MAX_REDIRECTS} times; check {self._interface.ref('api-url')}")

    def _wait_before_retry(self, retry: _Retry, attempt: int, deadline: float) -> float:
        remaining = deadline - time.monotonic()
        if attempt > self._max_retries:
            attempts = f"{attempt} attempt{'s' if attempt > 1 else ''}"
            limit = self._interface.setting("max-retries", self._max_retries)
            raise ApiFailure(f"{retry.reason}; gave up after {attempts} ({limit})")
        backoff = random.uniform(0, self._backoff_seconds * min(16, 2**attempt))  # noqa: S311
        wait = retry.wait if retry.wait is not None else backoff
        if wait >= remaining:
            raise ApiFailure(f"{retry.reason}; no time left to retry within {self._timeout()}")
        return wait

    def _attempt(self, content: bytes, deadline: float, attempt: int) -> Created:
        status, headers, body = self._exchange("POST", self._url, content, deadline, retry_unknown=False)
        return self._read_answer(status, headers, body, attempt)

    def _send(
        self, url: str, content: bytes | None, deadline: float, method: str = "POST"
    ) -> tuple[int, httpx.Headers, bytes]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded
        headers = request_headers(self._api_key, with_body=content is not None)
        try:
            with self._http.stream(
                method,
                url,
                content=content,
                headers=headers,
                timeout=httpx.Timeout(remaining),
                extensions={"trace": self._trace},
            ) as response:
                self._sent, self._status = True, response.status_code
                body = _read_bounded(response, deadline)
                return response.status_code, response.headers, self._redact_bytes(body)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError) as error:
            raise _Retry(f"could not connect to {self._origin} ({_describe(error)})") from None
        except (httpx.LocalProtocolError, httpx.UnsupportedProtocol) as error:
            raise ApiFailure(f"could not send the request to {self._origin} ({_describe(error)})") from None
        except httpx.TimeoutException as error:  # each phase may take all that is left: the deadline has come
            if isinstance(error, httpx.ReadTimeout | httpx.WriteTimeout):
                self._sent = True  # waiting to read or write means the request had begun to go out
            raise DeadlineExceeded from None
        except httpx.TransportError as error:
            raise ApiFailure(
                f"the connection to {self._origin} broke before the answer was complete ({_describe(error)}); "
                "the outcome is unknown and a session may exist",
                outcome_unknown=True,
            ) from None

    def _trace(self, event: str, info: object) -> None:
        """httpcore's progress report: from the first byte of the request on, the server may act on it."""
        del info
        if event.endswith("send_request_headers.started"):
            self._sent = True

    def _timeout(self) -> str:
        return self._interface.setting("timeout-seconds", f"{self._timeout_seconds:g}")

    def _same_origin_location(self, url: str, location: str) -> str:
        target = urljoin(url, location)
        if _origin(target) != self._origin:
            raise ApiFailure(
                f"the API redirected to another origin ({_origin(target)}); the key was not sent there. "
                f"Set {self._interface.ref('api-url')} to the API's final address"
            )
        return target

    def _read_answer(self, status: int, headers: httpx.Headers, body: bytes, attempt: int) -> Created:
        if 200 <= status < 300:
            return Created(
                response=self._parse_success(status, body), body=self.redact(_compact(body)), attempts=attempt
            )
        error = _error_body(body)
        if status in _RETRYABLE_THROTTLE:
            raise _Retry(f"the API answered {status} (busy)", _retry_after(headers.get("retry-after")))
        if status in _RETRYABLE_ENVELOPE and error is not None:
            raise _Retry(f"the API answered {status}: {self._server_text(error.text)}")
        if status >= 500:
            what = f": {self._server_text(error.text)}" if error else " with a page that is not the API's JSON"
            raise ApiFailure(
                f"the API answered {status}{what}; the outcome is unknown and a session may exist",
                outcome_unknown=True,
            )
        reason = self._server_text(error.text) if error else "no JSON error body"
        hint = api_status_fix(status, self._interface)
        raise ApiFailure(f"the API refused the request with {status}: {reason}; {hint}")

    def _parse_success(self, status: int, body: bytes) -> CreateSessionResponse:
        try:
            return CreateSessionResponse.model_validate_json(body)
        except ValidationError as error:
            where, _, kind = first_validation_error(error)
            problem = "is not JSON" if kind == "json_invalid" else f"lacks a valid {where or 'body'}"
            raise ApiFailure(
                f"the API answered {status} but its body {problem}; a session was probably created but cannot be "
                "identified",
                outcome_unknown=True,
            ) from None

    def redact(self, text: str) -> str:
        return redact(text, [self._api_key])

    def _redact_bytes(self, body: bytes) -> bytes:
        """The key out of an answer before anything reads it, in any form it was sent in (JSON's `\\u0072` escapes
        included): no output, summary or comment can carry it. Latin-1 maps each byte to one character and back,
        so every other byte is kept as it came."""
        return self.redact(body.decode("latin-1")).encode("latin-1") if self._api_key else body

    def _server_text(self, text: str) -> str:
        """A server's message, untrusted: redacted, on one line, bounded."""
        return one_line(self.redact(text), MAX_SERVER_TEXT)


def _read_bounded(response: httpx.Response, deadline: float) -> bytes:
    """The body as sent, at most MAX_BODY_BYTES, then decoded to at most MAX_BODY_BYTES; within the deadline even
    where the deadline cannot be enforced (outside the main thread), if more slowly."""
    if response.is_stream_consumed:  # a test double's answer, made from content already decoded
        if len(response.content) > MAX_BODY_BYTES:
            raise _too_large(response.status_code)
        return response.content
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_raw():
        if time.monotonic() > deadline:
            raise DeadlineExceeded
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large(response.status_code)
        chunks.append(chunk)
    try:
        return decode(b"".join(chunks), response.headers.get("content-encoding", ""), MAX_BODY_BYTES)
    except TooLarge:
        raise _too_large(response.status_code) from None
    except Undecodable as error:
        if response.is_success:
            raise ApiFailure(
                f"the API answered {response.status_code} but its body could not be decoded ({error}); a session was "
                "probably created but cannot be identified",
                outcome_unknown=True,
            ) from None
        return b""  # an error whose body cannot be read is judged by its status alone


def _too_large(status: int) -> ApiFailure:
    consequence = ""
    if 200 <= status < 300:
        consequence = "; a session was probably created but cannot be identified"
    elif _may_have_created(status):
        consequence = "; the outcome is unknown and a session may exist"
    return ApiFailure(
        f"the API answered {status} with a body over {MAX_BODY_BYTES // 1024} KiB; stopped reading it{consequence}",
        outcome_unknown=_may_have_created(status),
    )


def _may_have_created(status: int) -> bool:
    """Whether an answer with this status leaves a session possibly created (its body unread or unreadable)."""
    if 200 <= status < 300:
        return True
    return status >= 500 and status not in _RETRYABLE_THROTTLE


def _error_body(body: bytes) -> ErrorBody | None:
    try:
        error = ErrorBody.model_validate_json(body)
    except ValidationError:
        return None
    return error if error.is_envelope else None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _compact(body: bytes) -> str:
    return json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _describe(error: Exception) -> str:
    return type(error).__name__ + (f": {str(error).splitlines()[0]}" if str(error) else "")
