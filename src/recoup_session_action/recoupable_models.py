"""The Recoupable sessions API as pydantic models: the request we send and the answers we read.

Answers are read leniently (unknown fields kept, nulls allowed) except for what this action cannot do
without: `session.id` and `chat.id`. No `from __future__ import annotations` (see `event_payload`).
"""

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import USER_AGENT

SESSIONS_PATH = "/api/sessions"
JSON_TYPE = "application/json"


def request_headers(api_key: str, *, with_body: bool = True) -> dict[str, str]:
    """Every header of a request to the API (the key in `x-api-key`; the content type only with a body)."""
    headers = {"User-Agent": USER_AGENT, "Accept": JSON_TYPE, "x-api-key": api_key}
    if with_body:
        headers["Content-Type"] = JSON_TYPE
    return headers


class CreateSessionRequest(BaseModel):
    """Body of `POST /api/sessions`; fields left None are not sent."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, defer_build=True)

    title: str | None = None
    repo_owner: str | None = Field(default=None, alias="repoOwner")
    repo_name: str | None = Field(default=None, alias="repoName")
    branch: str | None = None
    clone_url: str | None = Field(default=None, alias="cloneUrl")
    is_new_branch: bool | None = Field(default=None, alias="isNewBranch")
    sandbox_type: Literal["vercel"] | None = Field(default=None, alias="sandboxType")
    organization_id: uuid.UUID | None = Field(default=None, alias="organizationId")

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True, defer_build=True)


class Session(_Lenient):
    id: str = Field(min_length=1)
    title: str | None = None
    status: str | None = None
    lifecycle_state: str | None = Field(default=None, alias="lifecycleState")
    repo_owner: str | None = Field(default=None, alias="repoOwner")
    repo_name: str | None = Field(default=None, alias="repoName")
    branch: str | None = None
    clone_url: str | None = Field(default=None, alias="cloneUrl")
    is_new_branch: bool | None = Field(default=None, alias="isNewBranch")

    @property
    def repository(self) -> str | None:
        if self.repo_owner and self.repo_name:
            return f"{self.repo_owner}/{self.repo_name}"
        return None


class Chat(_Lenient):
    id: str = Field(min_length=1)
    title: str | None = None


class CreateSessionResponse(_Lenient):
    session: Session
    chat: Chat


class GetSessionResponse(_Lenient):
    """Body of `GET /api/sessions/{id}` and of `PATCH /api/sessions/{id}`: the session, no chat."""

    session: Session


ENDED_STATUSES = frozenset({"completed", "failed", "archived"})
ENDED_LIFECYCLE_STATES = frozenset({"archived", "failed"})


def ended_reason(session: Session) -> str | None:
    """Why a session can no longer be reused (its status or lifecycle state), or None if it is running."""
    if session.status != "running":
        return f"its status is {session.status or 'not reported'}"
    if session.lifecycle_state in ENDED_LIFECYCLE_STATES:
        return f"its lifecycle state is {session.lifecycle_state}"
    return None


class ErrorBody(_Lenient):
    """The API's JSON error envelope; real servers fill `error`, `message`, or both."""

    status: str | None = None
    error: str | None = None
    message: str | None = None
    missing_fields: list[str] | None = None

    @property
    def is_envelope(self) -> bool:
        return bool(self.error or self.message)

    @property
    def text(self) -> str:
        parts = [part for part in (self.error, self.message) if part]
        text = "; ".join(dict.fromkeys(parts))
        if self.missing_fields:
            text += f" (fields: {', '.join(self.missing_fields)})"
        return text
