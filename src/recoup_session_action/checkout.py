"""Facts from the git checkout in the current directory, for the command line outside a runner."""

from __future__ import annotations

import re
import subprocess
from urllib.parse import urlsplit, urlunsplit

from .context import EventFacts
from .errors import ContextError
from .github_rules import SCP_LIKE_URL

_REMOTE_PATH = re.compile(r"^/*(?P<owner>[^/]+)/(?P<name>[^/]+?)(?:\.git)?/*$")


def local_facts(directory: str = ".") -> EventFacts:
    """Repository and clone URL from the `origin` remote, branch from HEAD."""
    remote = _git(directory, "remote", "get-url", "origin")
    branch = _git(directory, "symbolic-ref", "--quiet", "--short", "HEAD")
    clone_url = without_credentials(remote) if remote else None
    return EventFacts(
        event_name="",
        repository=repository_from_remote(remote) if remote else None,
        clone_url=clone_url,
        branch=branch or None,
        no_branch_reason="HEAD is detached or this is not a git checkout" if not branch else None,
    )


def repository_from_remote(url: str) -> str | None:
    scp = SCP_LIKE_URL.match(url)
    path = scp.group("path") if scp and "://" not in url else urlsplit(url).path
    match = _REMOTE_PATH.match(path)
    return f"{match.group('owner')}/{match.group('name')}" if match else None


def without_credentials(url: str) -> str:
    """A remote URL without any user or token embedded in it (https://token@host/... is common)."""
    parts = urlsplit(url)
    if parts.scheme in {"http", "https"} and "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    return url


def _git(directory: str, *args: str) -> str:
    try:
        result = subprocess.run(
            ["git", "-C", directory, *args], capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ContextError(
            f"could not run git to read the checkout ({error}); pass --repository and --branch"
        ) from None
    return result.stdout.strip() if result.returncode == 0 else ""
