"""A local stand-in of the Recoupable sessions API, for the demo and the tests. Standard library only.

It implements `POST /api/sessions` as the documented contract says and checks what the real server checks,
in the same order: the body first (400), then the credentials (401). `faults` lets a test make it misbehave
on purpose, one scripted answer per request.
"""

from __future__ import annotations

import json
import re
import secrets
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from .loopback import LoopbackServer

DEMO_API_KEY = "recoup_sk_" + "demo" * 10 + "dem"
_SLUG = re.compile(r"^[.\w-]+$")
_STRING_FIELDS = ("title", "branch", "cloneUrl")


@dataclass(frozen=True)
class Fault:
    """One scripted answer: a status with a body, or a broken connection (`hang`, `drop`, `truncate`)."""

    status: int = 500
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    behaviour: str = "answer"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RecoupableStandIn:
    """`with RecoupableStandIn() as api:` serves on 127.0.0.1 at `api.url` until the block ends."""

    def __init__(
        self,
        api_keys: tuple[str, ...] = (DEMO_API_KEY,),
        *,
        echo_repository: bool = True,
        port: int = 0,
        host: str = "127.0.0.1",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """`port` 0 picks a free port; an `ssl_context` (server side) serves https instead of http; `host` other
        than loopback is for CI's container job only, where the action's container must reach the host."""
        self.api_keys = api_keys
        self.echo_repository = echo_repository
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = LoopbackServer(_handler_for(self), port, host=host)
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self._scheme = "http" if ssl_context is None else "https"
        self._host = "127.0.0.1" if host == "0.0.0.0" else host  # noqa: S104 (compared, not bound)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self._scheme}://{self._host}:{self._server.server_address[1]}"

    @property
    def connections(self) -> int:
        """Connections accepted so far."""
        return self._server.connections

    @property
    def posts(self) -> list[Recorded]:
        return [request for request in self.requests if request.method == "POST"]

    def __enter__(self) -> RecoupableStandIn:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def record(self, request: Recorded) -> Fault | None:
        with self._lock:
            self.requests.append(request)
            return self.faults.pop(0) if self.faults else None

    def answer(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """The real server's order of checks: body, then credentials; then a new session and chat."""
        payload = _parse_body(body)
        problem = _body_problem(payload)
        if problem is not None:
            field_name, message = problem
            return 400, {"status": "error", "missing_fields": [field_name], "error": message}
        credentials = [name for name in ("x-api-key", "authorization") if name in headers]
        if len(credentials) != 1:
            return 401, {
                "status": "error",
                "error": "Exactly one of x-api-key or Authorization must be provided",
            }
        key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        if key not in self.api_keys:
            return 401, {"status": "error", "message": "Unauthorized"}
        return 200, self._created(payload)

    def _created(self, payload: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        session_id = str(uuid.uuid4())
        new_branch = payload.get("isNewBranch") is True
        branch = f"ra/{secrets.token_hex(4)}" if new_branch else payload.get("branch")
        echo = self.echo_repository
        session: dict[str, Any] = {
            "id": session_id,
            "userId": str(uuid.uuid4()),
            "title": payload.get("title") or "New session",
            "status": "running",
            "repoOwner": payload.get("repoOwner") if echo else None,
            "repoName": payload.get("repoName") if echo else None,
            "branch": branch if echo else None,
            "cloneUrl": payload.get("cloneUrl") if echo else None,
            "isNewBranch": new_branch,
            "globalSkillRefs": [],
            "sandboxState": None,
            "lifecycleState": "provisioning",
            "lifecycleVersion": 0,
            "artistId": None,
            "createdAt": now,
            "updatedAt": now,
        }
        chat: dict[str, Any] = {
            "id": secrets.token_urlsafe(16),
            "sessionId": session_id,
            "title": "New chat",
            "modelId": "openai/gpt-5.4",
            "activeStreamId": None,
            "lastAssistantMessageAt": None,
            "createdAt": now,
            "updatedAt": now,
        }
        return {"session": session, "chat": chat}


def _parse_body(body: bytes) -> dict[str, Any]:
    """Malformed or empty JSON is treated as `{}`, as the real server does."""
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _body_problem(payload: dict[str, Any]) -> tuple[str, str] | None:
    for name in _STRING_FIELDS:
        if name in payload and not isinstance(payload[name], str):
            return name, f"{name} must be a string"
    for name, label in (("repoOwner", "owner"), ("repoName", "name")):
        if name in payload and not (isinstance(payload[name], str) and _SLUG.match(payload[name])):
            return name, f"Invalid repository {label}"
    if "isNewBranch" in payload and not isinstance(payload["isNewBranch"], bool):
        return "isNewBranch", "isNewBranch must be a boolean"
    if "sandboxType" in payload and payload["sandboxType"] != "vercel":
        return "sandboxType", "Invalid sandbox type"
    if "organizationId" in payload and not _is_uuid(payload["organizationId"]):
        return "organizationId", "organizationId must be a valid UUID"
    return None


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _handler_for(api: RecoupableStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            fault = api.record(Recorded("POST", self.path, headers, body))
            if fault is not None:
                self._fault(fault)
            elif self.path != "/api/sessions":
                self._json(404, {"status": "error", "error": "Not found"})
            else:
                self._json(*api.answer(headers, body))

        def _json(self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(extra or {})})

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _fault(self, fault: Fault) -> None:
            if fault.behaviour == "hang":
                time.sleep(30)
                self.close_connection = True
            elif fault.behaviour == "drop":
                self.close_connection = True
            elif fault.behaviour == "truncate":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(fault.body) * 2))
                self.end_headers()
                self.wfile.write(fault.body)
                self.close_connection = True
            else:
                self._send(fault.status, fault.body, {"Content-Type": "application/json", **fault.headers})

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    return Handler
