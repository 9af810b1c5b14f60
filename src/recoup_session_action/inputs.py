"""The action's inputs: their names and defaults, and their validation into one typed `Settings`.

Every input arrives as text (from `INPUT_*` variables or command-line flags). It is checked here once;
nothing downstream re-parses a string. A failure is an `InputError` whose one-line message names the
input, the value (never for a secret) and the rule.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError

from .text import shorten


class InputError(ValueError):
    """An input that fails its rule; the message is one line and safe to print."""


@dataclass(frozen=True)
class InputSpec:
    name: str
    default: str
    secret: bool = False


INPUT_SPECS: tuple[InputSpec, ...] = (
    InputSpec("api-key", "", secret=True),
    InputSpec("api-url", "https://api.recoupable.com"),
    InputSpec("app-url", "https://chat.recoupable.com"),
    InputSpec("title", ""),
    InputSpec("repository", ""),
    InputSpec("branch", ""),
    InputSpec("new-branch", "false"),
    InputSpec("clone-url", ""),
    InputSpec("sandbox-type", "vercel"),
    InputSpec("organization-id", ""),
    InputSpec("github-token", "", secret=True),
    InputSpec("comment", "update"),
    InputSpec("comment-tag", "recoup-session"),
    InputSpec("comment-template", ""),
    InputSpec("pr-number", ""),
    InputSpec("allowed-associations", "OWNER,MEMBER,COLLABORATOR"),
    InputSpec("fail-on-comment-error", "false"),
    InputSpec("dry-run", "false"),
    InputSpec("timeout-seconds", "30"),
    InputSpec("max-retries", "3"),
)
SECRET_INPUTS = frozenset(spec.name for spec in INPUT_SPECS if spec.secret)
BOOLEAN_INPUTS = frozenset({"new-branch", "fail-on-comment-error", "dry-run"})

MAX_TITLE_LENGTH = 300
MAX_BRANCH_LENGTH = 255
COMMENT_PLACEHOLDERS = frozenset({"session_url", "session_id", "chat_id", "repository", "branch", "status", "run_url"})
AUTHOR_ASSOCIATIONS = frozenset(
    {
        "OWNER",
        "MEMBER",
        "COLLABORATOR",
        "CONTRIBUTOR",
        "FIRST_TIME_CONTRIBUTOR",
        "FIRST_TIMER",
        "MANNEQUIN",
        "NONE",
    }
)

_OWNER = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,37}[A-Za-z0-9_])?$")
_REPO_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_COMMENT_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SCP_LIKE_URL = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_BRANCH_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_WHITESPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")


class CommentMode(StrEnum):
    UPDATE = "update"
    CREATE = "create"
    OFF = "off"


class RepoSlug(BaseModel):
    """`owner/name` of a GitHub repository, checked by GitHub's naming rules."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    owner: str
    name: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> RepoSlug:
        owner, slash, name = text.partition("/")
        if not slash:
            raise ValueError(f"{text!r} is not of the form owner/name")
        return cls(owner=check_owner(owner), name=check_repo_name(name))


def check_owner(owner: str) -> str:
    if not _OWNER.match(owner):
        raise ValueError(
            f"owner {owner!r} is not a GitHub account name (1-39 letters, digits, '-' or '_', "
            "not starting or ending with '-')"
        )
    return owner


def check_repo_name(name: str) -> str:
    if not _REPO_NAME.match(name) or name in {".", ".."}:
        raise ValueError(
            f"repository name {name!r} is not a GitHub repository name (1-100 letters, digits, '.', '-' or '_')"
        )
    return name


def branch_rule_broken(branch: str) -> str | None:
    """The first `git check-ref-format --branch` rule that `branch` breaks, or None."""
    rules: tuple[tuple[bool, str], ...] = (
        (not branch, "it is empty"),
        (len(branch) > MAX_BRANCH_LENGTH, f"it is longer than {MAX_BRANCH_LENGTH} characters"),
        (branch.startswith("-"), "it starts with '-'"),
        (branch == "@", "it is '@'"),
        (
            _BRANCH_FORBIDDEN.search(branch) is not None,
            "it contains a space, a control character or one of ~^:?*[\\",
        ),
        (".." in branch, "it contains '..'"),
        ("@{" in branch, "it contains '@{'"),
        (branch.startswith("/") or branch.endswith("/") or "//" in branch, "it has an empty path component"),
        (branch.endswith("."), "it ends with '.'"),
        (any(part.startswith(".") for part in branch.split("/")), "a path component starts with '.'"),
        (any(part.endswith(".lock") for part in branch.split("/")), "a path component ends with '.lock'"),
    )
    return next((rule for broken, rule in rules if broken), None)


def check_branch(branch: str) -> str:
    rule = branch_rule_broken(branch)
    if rule is not None:
        raise ValueError(f"{_shown(branch)} is not a valid branch name: {rule} (git check-ref-format rules)")
    return branch


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"{_shown(url)} is not an http(s) URL such as https://api.recoupable.com")
    if parts.username or parts.password:
        raise ValueError(f"{parts.scheme}://{parts.hostname}/... must not carry credentials in the URL")
    if parts.query or parts.fragment:
        raise ValueError(f"{_shown(url)} must not have a query or fragment")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError(f"{_shown(url)} must use https (plain http is allowed only for localhost)")
    return url.rstrip("/")


def check_clone_url(url: str) -> str:
    if _WHITESPACE_OR_CONTROL.search(url):
        raise ValueError(f"{_shown(url)} contains a space or a control character")
    if _SCP_LIKE_URL.match(url):
        return url
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https", "ssh", "git"} or not parts.hostname or not parts.path.strip("/"):
        raise ValueError(
            f"{_shown(url)} is not a clone URL "
            "(https://host/owner/name.git, ssh://..., git://... or git@host:owner/name.git)"
        )
    if parts.password or (parts.username and parts.scheme in {"http", "https"}):
        raise ValueError("the clone URL must not carry credentials")
    return url


def check_title(title: str) -> str:
    if len(title) > MAX_TITLE_LENGTH:
        raise ValueError(f"the title is longer than {MAX_TITLE_LENGTH} characters")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in title):
        raise ValueError("the title contains a line break or another control character")
    return title


def check_comment_template(template: str) -> str:
    unknown = sorted({name for name in PLACEHOLDER.findall(template) if name not in COMMENT_PLACEHOLDERS})
    if unknown:
        allowed = ", ".join(f"{{{name}}}" for name in sorted(COMMENT_PLACEHOLDERS))
        raise ValueError(f"unknown placeholder {{{unknown[0]}}}; allowed: {allowed}")
    return template


def parse_bool(text: str) -> bool:
    if text in {"true", "True", "TRUE"}:
        return True
    if text in {"false", "False", "FALSE"}:
        return False
    raise ValueError(f"{_shown(text)} is not a boolean (use true or false)")


def parse_uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValueError(f"{_shown(text)} is not a UUID such as 123e4567-e89b-12d3-a456-426614174000") from None


def parse_positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{_shown(text)} is not a positive whole number")
    return int(text)


def parse_retries(text: str) -> int:
    if not text.isdigit() or int(text) > 10:
        raise ValueError(f"{_shown(text)} is not a whole number from 0 to 10")
    return int(text)


def parse_timeout(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= 600:
        raise ValueError(f"{_shown(text)} is not a number of seconds above 0 and at most 600")
    return seconds


def parse_comment_mode(text: str) -> CommentMode:
    try:
        return CommentMode(text)
    except ValueError:
        raise ValueError(f"{_shown(text)} is not one of update, create, off") from None


def parse_comment_tag(text: str) -> str:
    if not _COMMENT_TAG.match(text):
        raise ValueError(f"{_shown(text)} is not 1-64 letters, digits, '.', '-' or '_'")
    return text


def parse_associations(text: str) -> frozenset[str]:
    names = frozenset(part.strip().upper() for part in text.split(",") if part.strip())
    unknown = sorted(names - AUTHOR_ASSOCIATIONS)
    if unknown or not names:
        allowed = ", ".join(sorted(AUTHOR_ASSOCIATIONS))
        raise ValueError(f"{_shown(text)} must be a comma-separated list of: {allowed}")
    return names


def parse_sandbox_type(text: str) -> Literal["vercel"]:
    if text != "vercel":
        raise ValueError(f"{_shown(text)} is not a sandbox type the API accepts (only vercel)")
    return "vercel"


def _shown(value: str, limit: int = 80) -> str:
    """A value quoted for an error message, cut short so a hostile value cannot flood the log."""
    return repr(shorten(value, limit))


def _optional(parser: Any) -> Any:
    return BeforeValidator(lambda text: parser(text) if text else None)


def _required(parser: Any) -> Any:
    return BeforeValidator(parser)


class Settings(BaseModel):
    """All inputs, validated and typed. Empty optional inputs are None."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, defer_build=True)

    api_key: SecretStr | None = Field(alias="api-key")
    api_url: Annotated[str, _required(check_base_url)] = Field(alias="api-url")
    app_url: Annotated[str, _required(check_base_url)] = Field(alias="app-url")
    title: Annotated[str | None, _optional(check_title)] = Field(alias="title")
    repository: Annotated[RepoSlug | None, _optional(RepoSlug.parse)] = Field(alias="repository")
    branch: Annotated[str | None, _optional(check_branch)] = Field(alias="branch")
    new_branch: Annotated[bool, _required(parse_bool)] = Field(alias="new-branch")
    clone_url: Annotated[str | None, _optional(check_clone_url)] = Field(alias="clone-url")
    sandbox_type: Annotated[Literal["vercel"], _required(parse_sandbox_type)] = Field(alias="sandbox-type")
    organization_id: Annotated[uuid.UUID | None, _optional(parse_uuid)] = Field(alias="organization-id")
    github_token: SecretStr | None = Field(alias="github-token")
    comment: Annotated[CommentMode, _required(parse_comment_mode)] = Field(alias="comment")
    comment_tag: Annotated[str, _required(parse_comment_tag)] = Field(alias="comment-tag")
    comment_template: Annotated[str | None, _optional(check_comment_template)] = Field(alias="comment-template")
    pr_number: Annotated[int | None, _optional(parse_positive_int)] = Field(alias="pr-number")
    allowed_associations: Annotated[frozenset[str], _required(parse_associations)] = Field(alias="allowed-associations")
    fail_on_comment_error: Annotated[bool, _required(parse_bool)] = Field(alias="fail-on-comment-error")
    dry_run: Annotated[bool, _required(parse_bool)] = Field(alias="dry-run")
    timeout_seconds: Annotated[float, _required(parse_timeout)] = Field(alias="timeout-seconds")
    max_retries: Annotated[int, _required(parse_retries)] = Field(alias="max-retries")


def parse_settings(raw: Mapping[str, str]) -> Settings:
    """Validate raw input text (keyed by input name; missing or empty means the default)."""
    values: dict[str, Any] = {}
    for spec in INPUT_SPECS:
        text = raw.get(spec.name, "").strip() or spec.default
        values[spec.name] = (SecretStr(text) if text else None) if spec.secret else text
    try:
        return Settings.model_validate(values)
    except ValidationError as error:
        raise InputError(_first_error_line(error)) from None


def _first_error_line(error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    name = str(first["loc"][0]) if first["loc"] else "input"
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"Input '{name}': {message}."
