"""What both stand-ins share: a loopback HTTP server in a background thread, one record of the requests it
received, and one way to script faults.

A stand-in subclasses `StandIn` and implements `answer(request)`. Every request is recorded in `requests`
first; if a `Fault` is queued in `faults`, the oldest one is answered instead of the stand-in's own answer
(a status, body and headers, or a broken connection: `hang`, `drop`, `truncate`). `hooks` see each request once
it took effect, before its answer goes out: a test holds runs there until they are all in flight (`Barrier`),
kills a run at that point, or changes the world between two requests of a run. The same stand-in answers over
loopback HTTP (`with StandIn() as server`, at `server.url`) or in this process, as an httpx transport
(`server.transport()`), where a broken connection becomes the error httpx raises for it.
"""

from __future__ import annotations

import json
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Literal, Self
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    import httpx

Behaviour = Literal["answer", "hang", "drop", "truncate"]
JSON = "application/json"
HANG_SECONDS = 30


@dataclass(frozen=True)
class RecordedRequest:
    """One request as a stand-in received it: the path without the query, header names lower-cased."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    content: bytes

    @property
    def body(self) -> Any:
        """The body as JSON; its text where it is not JSON; None where there is none."""
        if not self.content:
            return None
        text = self.content.decode("utf-8", "replace")
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text

    def json(self) -> Any:
        return json.loads(self.content)


@dataclass(frozen=True)
class Answer:
    """What a stand-in sends back; `behaviour` other than "answer" breaks the connection instead."""

    status: int
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    behaviour: Behaviour = "answer"


def json_answer(status: int, data: Any, headers: Mapping[str, str] | None = None) -> Answer:
    content = json.dumps(data, ensure_ascii=False).encode()
    return Answer(status, content, {"Content-Type": f"{JSON}; charset=utf-8", **(headers or {})})


@dataclass(frozen=True)
class Fault:
    """One scripted answer in place of the stand-in's own: a status with a body (bytes and a dict are sent as
    JSON, text as text/plain) and headers, or a broken connection (`hang`, `drop`, `truncate` a 200's body)."""

    status: int = 500
    body: bytes | str | dict[str, Any] = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    behaviour: Behaviour = "answer"

    def answer(self) -> Answer:
        if isinstance(self.body, dict):
            return json_answer(self.status, self.body, self.headers)
        if isinstance(self.body, str):
            content, kind = self.body.encode(), "text/plain; charset=utf-8"
        else:
            content, kind = self.body, JSON
        return Answer(self.status, content, {"Content-Type": kind, **self.headers}, self.behaviour)


Hook = Callable[["RecordedRequest"], None]


class Barrier:
    """A hook that holds back the answers to the first `count` requests that `matches` picks, each after it took
    effect, until all `count` have arrived: the runs that sent them are then in flight together, however slowly a
    loaded machine starts them. `seconds` bounds the wait; `met` says whether all arrived within it."""

    def __init__(self, count: int, matches: Callable[[RecordedRequest], bool], seconds: float = 30.0) -> None:
        self.count, self.matches, self.seconds = count, matches, seconds
        self.arrived = 0
        self._lock = threading.Lock()
        self._all_arrived = threading.Event()

    @property
    def met(self) -> bool:
        return self._all_arrived.is_set()

    def __call__(self, request: RecordedRequest) -> None:
        with self._lock:
            if self.arrived >= self.count or not self.matches(request):
                return
            self.arrived += 1
            if self.arrived == self.count:
                self._all_arrived.set()
        self._all_arrived.wait(self.seconds)


def requests_to(method: str, path_end: str) -> Callable[[RecordedRequest], bool]:
    """Picks requests of `method` whose path ends with `path_end`."""
    return lambda request: request.method == method and request.path.endswith(path_end)


class LoopbackServer(ThreadingHTTPServer):
    """Serves on 127.0.0.1; `connections` counts accepted connections (to check connection reuse)."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 64  # runs started together connect at once; past the backlog a connect waits 1 s or more

    def __init__(self, handler: Any, port: int = 0, *, host: str = "127.0.0.1") -> None:
        super().__init__((host, port), handler)
        self.connections = 0

    def process_request(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        self.connections += 1
        if isinstance(request, socket.socket):
            # Headers and body go out in two sends; with Nagle's algorithm on, the second waits for the client's
            # delayed ACK, about 40 ms per request after the first on a kept-alive connection.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (as the action does past its body limit) is expected, not an error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class StandIn:
    """`with SomeStandIn() as server:` serves at `server.url` until the block ends.

    `port` 0 picks a free port; an `ssl_context` (server side) serves https; a `host` other than loopback is for
    CI's container job only, where the action's container must reach the host."""

    server_header = "stand-in"

    def __init__(self, *, port: int = 0, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None) -> None:
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.hooks: list[Hook] = []
        """Called with each request once it took effect, before its answer goes out, in the thread serving it."""
        self.clock_offset = 0.0
        """Seconds the stand-in's clock (its `Date` header, its timestamps) runs ahead of the real one."""
        self._lock = threading.RLock()
        self._server = LoopbackServer(_handler_for(self), port, host=host)
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self._scheme = "http" if ssl_context is None else "https"
        self._host = "127.0.0.1" if host == "0.0.0.0" else host  # noqa: S104 (compared, not bound)
        # A short poll interval: shutdown() waits for the serving loop to notice, 0.5 s by default.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    @property
    def url(self) -> str:
        return f"{self._scheme}://{self._host}:{self._server.server_address[1]}"

    @property
    def connections(self) -> int:
        """Connections accepted so far."""
        return self._server.connections

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def now(self) -> float:
        """The stand-in's clock: real time plus `clock_offset`, which a test may move forward."""
        return time.time() + self.clock_offset

    def handle(self, request: RecordedRequest) -> Answer:
        """Record the request; answer the oldest scripted fault, or else as the stand-in does; then the hooks."""
        with self._lock:
            self.requests.append(request)
            answer = self.faults.pop(0).answer() if self.faults else self.answer(request)
            hooks = list(self.hooks)
        for hook in hooks:
            hook(request)
        return answer

    def answer(self, request: RecordedRequest) -> Answer:
        raise NotImplementedError

    def transport(self) -> httpx.MockTransport:
        """This stand-in as an httpx transport: the same answers, records and faults, without a socket."""
        import httpx  # noqa: PLC0415 (only in-process tests need it)

        def respond(request: httpx.Request) -> httpx.Response:
            recorded = RecordedRequest(
                method=request.method,
                path=request.url.path,
                query=dict(request.url.params),
                headers={name.lower(): value for name, value in request.headers.items()},
                content=request.read(),
            )
            answer = self.handle(recorded)
            if answer.behaviour == "hang":
                raise httpx.ReadTimeout("timed out", request=request)
            if answer.behaviour == "drop":
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
            if answer.behaviour == "truncate":
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending the whole body", request=request
                )
            return httpx.Response(answer.status, headers=dict(answer.headers), content=answer.content)

        return httpx.MockTransport(respond)


def _handler_for(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._dispatch()

        def do_POST(self) -> None:
            self._dispatch()

        def do_PATCH(self) -> None:
            self._dispatch()

        def do_PUT(self) -> None:
            self._dispatch()

        def do_DELETE(self) -> None:
            self._dispatch()

        def version_string(self) -> str:
            return standin.server_header

        def date_time_string(self, timestamp: float | None = None) -> str:
            return super().date_time_string(standin.now() if timestamp is None else timestamp)

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

        def _dispatch(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            split = urlsplit(self.path)
            request = RecordedRequest(
                method=self.command,
                path=split.path,
                query=dict(parse_qsl(split.query, keep_blank_values=True)),
                headers={name.lower(): value for name, value in self.headers.items()},
                content=self.rfile.read(length),
            )
            self._write(standin.handle(request))

        def _write(self, answer: Answer) -> None:
            if answer.behaviour == "hang":
                time.sleep(HANG_SECONDS)
                self.close_connection = True
                return
            if answer.behaviour == "drop":
                self.close_connection = True
                return
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                if answer.status != 204 or name.lower() != "content-type":
                    self.send_header(name, value)
            if answer.behaviour == "truncate":
                self.send_header("Content-Length", str(len(answer.content) * 2))
                self.close_connection = True
            elif answer.status != 204:
                self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

    return Handler
