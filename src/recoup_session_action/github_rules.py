"""GitHub's own rules, written once: account, repository and branch names, clone URLs, and its limits.

Inputs, event parsing and the local checkout all check names by these rules, so a value passes or fails the
same way wherever it comes from.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import urlsplit

from .text import quoted

COMMENT_LIMIT = 65_536
MAX_ISSUE_NUMBER = 2**31 - 1
"""The largest pull-request or issue number GitHub can hold (a 32-bit signed integer)."""
DEPENDABOT_LOGIN = "dependabot[bot]"
MAX_BRANCH_LENGTH = 255
PULL_REQUEST_EVENTS = frozenset(
    {"pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment"}
)
SCP_LIKE_URL = re.compile(r"^[A-Za-z0-9._-]+@(?P<host>[A-Za-z0-9.-]+):(?P<path>[^\s]+)$")

_OWNER = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,37}[A-Za-z0-9_])?$")
_REPO_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_BRANCH_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_WHITESPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")


class RepoSlug(NamedTuple):
    """`owner/name` of a GitHub repository, checked by GitHub's naming rules (`parse`)."""

    owner: str
    name: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> RepoSlug:
        owner, slash, name = text.partition("/")
        if not slash:
            raise ValueError(f"{quoted(text)} is not of the form owner/name")
        return cls(owner=check_owner(owner), name=check_repo_name(name))


def check_owner(owner: str) -> str:
    if not _OWNER.match(owner):
        raise ValueError(
            f"owner {quoted(owner)} is not a GitHub account name (1-39 letters, digits, '-' or '_', "
            "not starting or ending with '-')"
        )
    return owner


def check_repo_name(name: str) -> str:
    if not _REPO_NAME.match(name) or name in {".", ".."}:
        raise ValueError(
            f"repository name {quoted(name)} is not a GitHub repository name (1-100 letters, digits, '.', '-' or '_')"
        )
    return name


def branch_rule_broken(branch: str) -> str | None:
    """The first `git check-ref-format --branch` rule that `branch` breaks, or None."""
    parts = branch.split("/")
    rules: tuple[tuple[bool, str], ...] = (
        (not branch, "it is empty"),
        (branch == "HEAD", "it is 'HEAD'"),
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
        (any(part.startswith(".") for part in parts), "a path component starts with '.'"),
        (any(part.endswith(".lock") for part in parts), "a path component ends with '.lock'"),
    )
    return next((rule for broken, rule in rules if broken), None)


def check_branch(branch: str) -> str:
    """A branch name by git's rules; a full ref `refs/heads/<name>` (what `github.ref` gives) means `<name>`."""
    branch = branch.removeprefix("refs/heads/")
    rule = branch_rule_broken(branch)
    if rule is not None:
        raise ValueError(f"{quoted(branch)} is not a valid branch name: {rule} (git check-ref-format rules)")
    return branch


def check_clone_url(url: str) -> str:
    if _WHITESPACE_OR_CONTROL.search(url):
        raise ValueError(f"{quoted(url)} contains a space or a control character")
    if SCP_LIKE_URL.match(url):
        return url
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https", "ssh", "git"} or not parts.hostname or not parts.path.strip("/"):
        raise ValueError(
            f"{quoted(url)} is not a clone URL "
            "(https://host/owner/name.git, ssh://..., git://... or git@host:owner/name.git)"
        )
    if parts.password or (parts.username and parts.scheme in {"http", "https"}):
        raise ValueError("the clone URL must not carry credentials")
    return url
