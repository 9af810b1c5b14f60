"""What the sticky comment remembers, hidden in its first line: the session it links and how far it got.

The first line of our comment is an HTML comment, `<!-- recoup-session-action:{tag} {record} -->`, where
`{record}` is a `CommentRecord` as base64url JSON (nothing in it can end the HTML comment). Anyone can paste such
a line, so the caller only reads the record of a comment written by us, and the record is parsed defensively:
anything malformed reads as "no record". Pure functions. No `from __future__ import annotations` (see
`event_payload`).
"""

import base64
import binascii
import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError

_PREFIX = "<!-- recoup-session-action:"
_FIRST_LINE = re.compile(
    r"<!-- recoup-session-action:(?P<tag>[A-Za-z0-9._-]{1,64})(?: (?P<record>[A-Za-z0-9_=-]{1,2000}))? -->"
)
MAX_ID_LENGTH = 200


class CommentRecord(BaseModel):
    """The comment's hidden state. No session: a claim (a run is creating one), or `failed` if that run failed.

    Short aliases keep the marker small; unknown keys (a later version's) are ignored."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore", defer_build=True)

    session_id: str | None = Field(default=None, alias="s", min_length=1, max_length=MAX_ID_LENGTH)
    chat_id: str | None = Field(default=None, alias="c", min_length=1, max_length=MAX_ID_LENGTH)
    archived: bool = Field(default=False, alias="a")
    failed: bool = Field(default=False, alias="f")

    @property
    def has_session(self) -> bool:
        return self.session_id is not None and self.chat_id is not None

    @property
    def is_claim(self) -> bool:
        """A run claimed the comment and has not recorded a session yet (nor said it failed)."""
        return not self.has_session and not self.failed


CLAIM = CommentRecord()


def marker(tag: str, record: CommentRecord | None = None) -> str:
    """The first line of our comment for `tag`, with `record` hidden in it."""
    if record is None:
        return f"{_PREFIX}{tag} -->"
    data = record.model_dump_json(by_alias=True, exclude_defaults=True).encode()
    return f"{_PREFIX}{tag} {base64.urlsafe_b64encode(data).decode()} -->"


def has_marker(body: str, tag: str) -> bool:
    """Whether `body` starts with the marker of `tag` (with or without a record)."""
    found = _FIRST_LINE.fullmatch(body.partition("\n")[0].rstrip("\r"))
    return found is not None and found["tag"] == tag


def read_record(body: str, tag: str) -> CommentRecord | None:
    """The record in `body`'s marker for `tag`; None where there is no marker, no record, or a broken one.

    A marker without a record is a comment of an older version: it links a session this run cannot read back."""
    found = _FIRST_LINE.fullmatch(body.partition("\n")[0].rstrip("\r"))
    if found is None or found["tag"] != tag or found["record"] is None:
        return None
    try:
        data = base64.urlsafe_b64decode(found["record"].encode())
        return CommentRecord.model_validate_json(data)
    except (binascii.Error, ValueError, ValidationError):
        return None
