"""A local stand-in of the Recoupable sessions API, for the demo and the tests. Standard library only.

It implements `POST /api/sessions`, `GET /api/sessions/{id}` and `PATCH /api/sessions/{id}` as the documented
contract says and checks what the real server checks, in the same order: the body first (400), then the
credentials (401); a session of another key's account is 403 `Forbidden`, an unknown one 404 `Session not
found`. Requests are recorded and faults scripted
the way every stand-in does (`loopback.StandIn`).
"""

from __future__ import annotations

import json
import re
import secrets
import ssl
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from .loopback import Answer, Fault, RecordedRequest, StandIn, json_answer

__all__ = ["DEMO_API_KEY", "Fault", "RecordedRequest", "RecoupableStandIn"]

DEMO_API_KEY = "recoup_sk_" + "demo" * 10 + "dem"
_SLUG = re.compile(r"^[.\w-]+$")
_ONE_SESSION = re.compile(r"/api/sessions/([^/]+)")
_STRING_FIELDS = ("title", "branch", "cloneUrl")


class RecoupableStandIn(StandIn):
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
        super().__init__(port=port, host=host, ssl_context=ssl_context)
        self.api_keys = api_keys
        self.echo_repository = echo_repository
        self.sessions: dict[str, dict[str, Any]] = {}
        """Every session, by id, as the API shows it."""
        self._owners: dict[str, str] = {}

    @property
    def posts(self) -> list[RecordedRequest]:
        return [request for request in self.requests if request.method == "POST"]

    def add_session(self, api_key: str = DEMO_API_KEY, **fields: Any) -> dict[str, Any]:
        """Seed a session owned by `api_key`'s account (`fields` override the new session's); returns it."""
        with self._lock:
            session = {**self._created({})["session"], **fields}
            self.sessions[session["id"]] = session
            self._owners[session["id"]] = api_key
            return session

    def answer(self, request: RecordedRequest) -> Answer:
        if (request.method, request.path) == ("POST", "/api/sessions"):
            return json_answer(*self.create_session(request.headers, request.content))
        one = _ONE_SESSION.fullmatch(request.path)
        if request.method in {"GET", "PATCH"} and one is not None:
            return json_answer(*self.session_answer(request.method, unquote(one[1]), request))
        return json_answer(404, {"status": "error", "error": "Not found"})

    def session_answer(self, method: str, session_id: str, request: RecordedRequest) -> tuple[int, dict[str, Any]]:
        """`GET` or `PATCH /api/sessions/{id}`: credentials, then the session (404, or 403 if another's)."""
        key = self._key(request.headers)
        if isinstance(key, tuple):
            return key
        session = self.sessions.get(session_id)
        if session is None:
            return 404, {"status": "error", "error": "Session not found"}
        if self._owners.get(session_id) != key:
            return 403, {"status": "error", "error": "Forbidden"}
        if method == "PATCH":
            payload = _parse_body(request.content)
            status = payload.get("status")
            if status is not None and status not in {"running", "completed", "failed", "archived"}:
                return 400, {"status": "error", "error": "Invalid status"}
            changes: dict[str, Any] = {name: payload[name] for name in ("title", "status") if name in payload}
            if status == "archived":
                changes["lifecycleState"] = "archived"
            session.update(changes, updatedAt=_now())
        return 200, {"session": dict(session)}

    def _key(self, headers: dict[str, str]) -> str | tuple[int, dict[str, Any]]:
        credentials = [name for name in ("x-api-key", "authorization") if name in headers]
        if len(credentials) != 1:
            return 401, {"status": "error", "error": "Exactly one of x-api-key or Authorization must be provided"}
        key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        if key not in self.api_keys:
            return 401, {"status": "error", "message": "Unauthorized"}
        return key

    def create_session(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """The real server's order of checks: body, then credentials; then a new session and chat."""
        payload = _parse_body(body)
        problem = _body_problem(payload)
        if problem is not None:
            field_name, message = problem
            return 400, {"status": "error", "missing_fields": [field_name], "error": message}
        key = self._key(headers)
        if isinstance(key, tuple):
            return key
        created = self._created(payload)
        self.sessions[created["session"]["id"]] = created["session"]
        self._owners[created["session"]["id"]] = key
        return 200, created

    def _created(self, payload: dict[str, Any]) -> dict[str, Any]:
        now = _now()
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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
