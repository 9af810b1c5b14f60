"""The action's inputs: their names and defaults, and their validation into one typed `Settings`.

Every input arrives as text (from `INPUT_*` variables or command-line flags). It is checked here once, by the
parser its spec names; nothing downstream re-parses a string. A failure is an `InputError` whose one-line
message names the input, the value (never for a secret) and the rule.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit

from pydantic import SecretStr

from .errors import InputError
from .github_rules import MAX_ISSUE_NUMBER, RepoSlug, check_branch, check_clone_url
from .interface import WORKFLOW, Interface
from .text import quoted


class InputKind(StrEnum):
    TEXT = "text"
    BOOLEAN = "boolean"
    SECRET = "secret"  # noqa: S105 (a kind of input, not a secret)


MAX_TITLE_LENGTH = 300
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

_COMMAND = re.compile(r"^[!-~]{1,50}$")
_COMMENT_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# A placeholder `{name}`, or `{{` / `}}`, which stand for a literal brace (one pass, left to right).
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


class SessionMode(StrEnum):
    REUSE = "reuse"
    NEW = "new"


class OnClose(StrEnum):
    ARCHIVE = "archive"
    KEEP = "keep"


class CommentMode(StrEnum):
    UPDATE = "update"
    CREATE = "create"
    OFF = "off"


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
        raise ValueError(f"{quoted(url)} is not an http(s) URL such as https://api.recoupable.com")
    if parts.username or parts.password:
        raise ValueError(f"{parts.scheme}://{parts.hostname}/... must not carry credentials in the URL")
    if parts.query or parts.fragment:
        raise ValueError(f"{quoted(url)} must not have a query or fragment")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError(f"{quoted(url)} must use https (plain http is allowed only for localhost)")
    return url.rstrip("/")


def check_title(title: str) -> str:
    if len(title) > MAX_TITLE_LENGTH:
        raise ValueError(f"the title is longer than {MAX_TITLE_LENGTH} characters")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in title):
        raise ValueError("the title contains a line break or another control character")
    return title


def check_comment_template(template: str) -> str:
    names = {found[1] for found in PLACEHOLDER.finditer(template) if found[1] is not None}
    unknown = sorted(names - COMMENT_PLACEHOLDERS)
    if unknown:
        allowed = ", ".join(f"{{{name}}}" for name in sorted(COMMENT_PLACEHOLDERS))
        raise ValueError(f"unknown placeholder {{{unknown[0]}}}; allowed: {allowed}")
    return template


def parse_bool(text: str) -> bool:
    if text in {"true", "True", "TRUE"}:
        return True
    if text in {"false", "False", "FALSE"}:
        return False
    raise ValueError(f"{quoted(text)} is not a boolean (use true or false)")


def parse_uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValueError(f"{quoted(text)} is not a UUID such as 123e4567-e89b-12d3-a456-426614174000") from None


def parse_pull_number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_ISSUE_NUMBER:
        raise ValueError(f"{quoted(text)} is not a pull request number (a whole number from 1 to {MAX_ISSUE_NUMBER})")
    return int(text)


def parse_retries(text: str) -> int:
    if not text.isdigit() or int(text) > 10:
        raise ValueError(f"{quoted(text)} is not a whole number from 0 to 10")
    return int(text)


def parse_timeout(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= 600:
        raise ValueError(f"{quoted(text)} is not a number of seconds above 0 and at most 600")
    return seconds


def parse_comment_mode(text: str) -> CommentMode:
    try:
        return CommentMode(text)
    except ValueError:
        raise ValueError(f"{quoted(text)} is not one of update, create, off") from None


def parse_session_mode(text: str) -> SessionMode:
    try:
        return SessionMode(text)
    except ValueError:
        raise ValueError(f"{quoted(text)} is not one of reuse, new") from None


def parse_on_close(text: str) -> OnClose:
    try:
        return OnClose(text)
    except ValueError:
        raise ValueError(f"{quoted(text)} is not one of archive, keep") from None


def parse_command(text: str) -> str:
    if text and not _COMMAND.match(text):
        raise ValueError(f"{quoted(text)} is not one word of at most 50 printable characters (or empty)")
    return text


def parse_comment_tag(text: str) -> str:
    if not _COMMENT_TAG.match(text):
        raise ValueError(f"{quoted(text)} is not 1-64 letters, digits, '.', '-' or '_'")
    return text


def parse_associations(text: str) -> frozenset[str]:
    names = frozenset(part.strip().upper() for part in text.split(",") if part.strip())
    unknown = sorted(names - AUTHOR_ASSOCIATIONS)
    if unknown or not names:
        allowed = ", ".join(sorted(AUTHOR_ASSOCIATIONS))
        raise ValueError(f"{quoted(text)} must be a comma-separated list of: {allowed}")
    return names


def parse_sandbox_type(text: str) -> Literal["vercel"]:
    if text != "vercel":
        raise ValueError(f"{quoted(text)} is not a sandbox type the API accepts (only vercel)")
    return "vercel"


class InputSpec(NamedTuple):
    """One input: the single place that names it. action.yml, the README's table, the CLI's flags and the
    set of boolean inputs all follow these specs (a test fails on any drift)."""

    name: str
    default: str
    description: str
    flag_help: str
    parse: Callable[[str], Any]
    """Text (never empty, unless `empty_is_value`) to the `Settings` value; raises ValueError saying why not."""
    kind: InputKind = InputKind.TEXT
    runner_default: str | None = None  # what action.yml declares where a runner fills in more than the code does
    empty_is_value: bool = False  # an input given as "" means "" (not the default), as a runner passes it

    @property
    def action_default(self) -> str:
        return self.default if self.runner_default is None else self.runner_default


INPUT_SPECS: tuple[InputSpec, ...] = (
    InputSpec(
        "api-key",
        "",
        "Recoupable API key, sent as x-api-key. Masked in the log at once. "
        "Pass a secret, e.g. ${{ secrets.RECOUP_API_KEY }}.",
        "Recoupable API key, sent as x-api-key (default: $RECOUP_API_KEY)",
        parse=SecretStr,
        kind=InputKind.SECRET,
    ),
    InputSpec(
        "api-url",
        "https://api.recoupable.com",
        "Base URL of the Recoupable API (https; plain http only for localhost).",
        "API base URL (default: https://api.recoupable.com)",
        parse=check_base_url,
    ),
    InputSpec(
        "app-url",
        "https://chat.recoupable.com",
        "Base of the session link, {app-url}/sessions/{session id}/chats/{chat id}.",
        "base of the session link (default: https://chat.recoupable.com)",
        parse=check_base_url,
    ),
    InputSpec(
        "title",
        "",
        'Session title. Empty means "{PR title} (#{number})" on a pull request, otherwise the server chooses.',
        "session title (default: '{PR title} (#{number})' on a pull request, else chosen by the server)",
        parse=check_title,
    ),
    InputSpec(
        "repository",
        "",
        "Repository as owner/name. Empty means from the event "
        "(for a pull request, the head repository, a fork included).",
        "owner/name (default: from the event, or the origin remote)",
        parse=RepoSlug.parse,
    ),
    InputSpec(
        "branch",
        "",
        "Branch for the session (refs/heads/ is dropped, so github.ref works). "
        "Empty means from the event (for a pull request, its head branch).",
        "branch (default: from the event, or the current branch)",
        parse=check_branch,
    ),
    InputSpec(
        "new-branch",
        "false",
        "Whether the server should create a new branch for the session (isNewBranch).",
        "let the server create a new branch (isNewBranch: true)",
        parse=parse_bool,
        kind=InputKind.BOOLEAN,
    ),
    InputSpec(
        "clone-url",
        "",
        "Clone URL. Empty means the repository's clone_url from the event, else {server}/{owner}/{name}.git.",
        "clone URL (default: from the event, or the origin remote)",
        parse=check_clone_url,
    ),
    InputSpec(
        "sandbox-type",
        "vercel",
        "Sandbox provider; the API accepts only vercel.",
        "sandbox provider (default: vercel, the only one the API accepts)",
        parse=parse_sandbox_type,
    ),
    InputSpec(
        "organization-id",
        "",
        "Recoupable organization id (a UUID) to create the session in; empty for a personal session.",
        "Recoupable organization UUID",
        parse=parse_uuid,
    ),
    InputSpec(
        "github-token",
        "",
        "GitHub token used to read the pull request and write the comment. Empty skips the comment.",
        "GitHub token for the pull-request comment (default: $GITHUB_TOKEN)",
        parse=SecretStr,
        kind=InputKind.SECRET,
        runner_default="${{ github.token }}",
    ),
    InputSpec(
        "comment",
        "update",
        "Pull-request comment mode. update keeps one comment up to date, create adds one per run, "
        "off makes no GitHub call.",
        "update (one sticky comment), create (a new one each run) or off "
        "(default outside a runner: off, or update with --pr-number)",
        parse=parse_comment_mode,
    ),
    InputSpec(
        "comment-tag",
        "recoup-session",
        "Tag that identifies this action's comment; steps with different tags keep different comments.",
        "tag that identifies this action's comment (default: recoup-session)",
        parse=parse_comment_tag,
    ),
    InputSpec(
        "comment-template",
        "",
        "Optional Markdown for the comment with {session_url}, {session_id}, {chat_id}, {repository}, {branch}, "
        "{status} and {run_url} placeholders.",
        "Markdown template with {session_url} {session_id} {chat_id} {repository} {branch} {status} {run_url}",
        parse=check_comment_template,
    ),
    InputSpec(
        "session",
        "reuse",
        "reuse keeps one session per pull request or issue: the session its comment records is reused while it "
        "runs, else a new one replaces it; new creates a session every run. Without a comment to read, reuse is new.",
        "reuse (the session the comment records, while it runs) or new (always create) (default: reuse)",
        parse=parse_session_mode,
    ),
    InputSpec(
        "on-close",
        "archive",
        "When a pull request closes: archive archives the session its comment records (PATCH), keep leaves it "
        "running and notes the close in the comment.",
        "archive (PATCH the recorded session to archived) or keep, when a pull request closes (default: archive)",
        parse=parse_on_close,
    ),
    InputSpec(
        "command",
        "/recoup",
        "On issue_comment, the first word a comment must have to start a session (/recoup new forces a new one; "
        "the rest of the line is the title). Empty lets every comment through.",
        "first word an issue_comment must have (default: /recoup; empty: every comment)",
        parse=parse_command,
        empty_is_value=True,
    ),
    InputSpec(
        "pr-number",
        "",
        "Pull request (or issue) number to comment on, overriding the one found from the event.",
        "pull request (or issue) to comment on, overriding the event; outside a runner it turns the comment on",
        parse=parse_pull_number,
    ),
    InputSpec(
        "allowed-associations",
        "OWNER,MEMBER,COLLABORATOR",
        "On issue_comment, the comment author associations allowed to start a session (comma-separated).",
        "comma-separated author associations allowed to trigger on issue_comment (default: OWNER,MEMBER,COLLABORATOR)",
        parse=parse_associations,
    ),
    InputSpec(
        "fail-on-comment-error",
        "false",
        "Whether a failed comment fails the step (the session is kept and reported either way).",
        "exit 1 when the comment fails (the session is kept either way)",
        parse=parse_bool,
        kind=InputKind.BOOLEAN,
    ),
    InputSpec(
        "dry-run",
        "false",
        "Resolve and validate everything, print the request and the outputs it would set, and send nothing.",
        "resolve and validate everything, print the request and outputs, send nothing",
        parse=parse_bool,
        kind=InputKind.BOOLEAN,
    ),
    InputSpec(
        "timeout-seconds",
        "30",
        "Total time allowed for the API call (every attempt, wait and byte), "
        "and again for all GitHub calls of the comment.",
        "total time for the API call, retries included (default: 30)",
        parse=parse_timeout,
    ),
    InputSpec(
        "max-retries",
        "3",
        "Retries after the first attempt, made only where the session was certainly not created.",
        "retries after the first attempt, only where no session can have been made (default: 3)",
        parse=parse_retries,
    ),
)
SECRET_INPUTS = frozenset(spec.name for spec in INPUT_SPECS if spec.kind is InputKind.SECRET)
BOOLEAN_INPUTS = frozenset(spec.name for spec in INPUT_SPECS if spec.kind is InputKind.BOOLEAN)


class Settings(NamedTuple):
    """All inputs, checked and typed by their specs' parsers (`parse_settings`). Empty optional inputs are None."""

    api_key: SecretStr | None
    api_url: str
    app_url: str
    title: str | None
    repository: RepoSlug | None
    branch: str | None
    new_branch: bool
    clone_url: str | None
    sandbox_type: Literal["vercel"]
    organization_id: uuid.UUID | None
    github_token: SecretStr | None
    comment: CommentMode
    comment_tag: str
    comment_template: str | None
    session: SessionMode
    on_close: OnClose
    command: str
    pr_number: int | None
    allowed_associations: frozenset[str]
    fail_on_comment_error: bool
    dry_run: bool
    timeout_seconds: float
    max_retries: int


def secret_rule_broken(secret: str) -> str | None:
    """Why `secret` cannot be sent as an HTTP header value, or None. Never says what the secret is."""
    if any(char in "\r\n\u2028\u2029" for char in secret):
        return "it holds a line break"
    if any(char.isspace() for char in secret):
        return "it holds a space or another blank"
    if not all("!" <= char <= "~" for char in secret):
        return "it holds a character that is not printable ASCII"
    return None


def parse_settings(raw: Mapping[str, str], interface: Interface = WORKFLOW) -> Settings:
    """Check raw input text (keyed by input name; missing or empty means the default, except that an input with
    `empty_is_value` given as "" means ""). Errors name the input as `interface` does."""
    values: dict[str, Any] = {}
    for spec in INPUT_SPECS:
        given = raw.get(spec.name)
        text = given.strip() if spec.empty_is_value and given is not None else (given or "").strip() or spec.default
        if spec.kind is InputKind.SECRET and (rule := secret_rule_broken(text)) is not None:
            raise InputError(
                f"{interface.subject(spec.name)}: {rule}; "
                "paste the secret again as one line of printable ASCII, nothing else."
            )
        try:
            values[spec.name.replace("-", "_")] = spec.parse(text) if text or spec.empty_is_value else None
        except ValueError as error:
            raise InputError(f"{interface.subject(spec.name)}: {error}.") from None
    return Settings(**values)
