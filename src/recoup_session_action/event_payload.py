"""GitHub's event payloads, as far as this action reads them (pydantic models), and the check of one payload.

No `from __future__ import annotations` here: with it, pydantic evaluates each field's annotation from its text
as a class is defined, and defining these twelve models on every run takes about a fifth longer.
"""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from .github_rules import MAX_ISSUE_NUMBER, PULL_REQUEST_EVENTS

IssueNumber = Annotated[int, Field(ge=1, le=MAX_ISSUE_NUMBER)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class Account(_Payload):
    login: str = ""


class RepositoryPayload(_Payload):
    full_name: str
    clone_url: str | None = None
    default_branch: str | None = None


class PullSide(_Payload):
    ref: str
    repo: RepositoryPayload | None = None


class PullRequestPayload(_Payload):
    number: IssueNumber
    title: str = ""
    head: PullSide
    base: PullSide
    user: Account | None = None


class IssuePayload(_Payload):
    number: IssueNumber
    title: str = ""
    pull_request: dict[str, Any] | None = None


class CommentPayload(_Payload):
    id: int | None = None
    body: str = ""
    author_association: str = "NONE"
    user: Account | None = None


class WorkflowRunPullRequest(_Payload):
    number: IssueNumber


class WorkflowRunPayload(_Payload):
    head_branch: str | None = None
    head_repository: RepositoryPayload | None = None
    pull_requests: list[WorkflowRunPullRequest] = Field(default_factory=list)


class MergeGroupPayload(_Payload):
    head_ref: str


class EventPayload(_Payload):
    """The parts of any event payload this action reads; everything is optional.

    `check_payload` checks only the fields the event at hand is read for (`_EVENT_FIELDS`), with the same field
    types, so a pull request's run builds no validator for the issue, comment, workflow-run or merge-group
    payloads (about 1.7 ms a run); fields no branch of `resolve_event` reads for that event stay unset."""

    action: str | None = None
    repository: RepositoryPayload | None = None
    pull_request: PullRequestPayload | None = None
    issue: IssuePayload | None = None
    comment: CommentPayload | None = None
    workflow_run: WorkflowRunPayload | None = None
    merge_group: MergeGroupPayload | None = None
    ref: str | None = None
    deleted: bool = False
    sender: Account | None = None


_COMMON_FIELDS = ("action", "repository", "sender")
_EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(PULL_REQUEST_EVENTS, ("pull_request",)),
    "issue_comment": ("issue", "comment"),
    "push": ("ref", "deleted"),
    "workflow_run": ("workflow_run",),
    "merge_group": ("merge_group",),
}
_event_models: dict[tuple[str, ...], type[BaseModel]] = {}


def _event_model(event_name: str) -> type[BaseModel]:
    """`EventPayload` cut down to the fields `resolve_event` reads for this event, built once per event name."""
    fields = _COMMON_FIELDS + _EVENT_FIELDS.get(event_name, ())
    if fields not in _event_models:
        kept = {name: (info.annotation, info) for name, info in EventPayload.model_fields.items() if name in fields}
        _event_models[fields] = create_model("EventPayload", __base__=_Payload, **kept)  # type: ignore[call-overload]
    return _event_models[fields]


def check_payload(event_name: str, data: dict[str, Any]) -> EventPayload:
    """`data` checked for what `event_name` is read for (raises pydantic's ValidationError), as an `EventPayload`
    whose other fields stay unset."""
    checked = _event_model(event_name).model_validate(data)
    return EventPayload.model_construct(**dict(checked))
