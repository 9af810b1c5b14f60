"""Facts from the git checkout in the current directory, for the command line outside a runner."""

from __future__ import annotations

import re
import subprocess
from urllib.parse import urlsplit, urlunsplit

from .context import EventFacts
from .errors import ContextError
from .github_rules import SCP_LIKE_URL
from .interface import COMMAND_LINE
from .text import quoted

_REMOTE_PATH = re.compile(r"^/*(?P<owner>[^/]+)/(?P<name>[^/]+?)(?:\.git)?/*$")


def local_facts(directory: str = ".", server_url: str = "https://github.com") -> EventFacts:
    """Repository and clone URL from the `origin` remote, branch from HEAD. A remote that is not a repository on
    GitHub (or on `server_url`, a GitHub Enterprise Server) names no repository: it is never guessed."""
    remote = _git(directory, "remote", "get-url", "origin")
    branch = _git(directory, "symbolic-ref", "--quiet", "--short", "HEAD")
    repository = repository_from_remote(remote, github_hosts(server_url)) if remote else None
    return EventFacts(
        event_name="",
        source="checkout",
        repository=repository,
        clone_url=without_credentials(remote) if repository else None,
        branch=branch or None,
        no_branch_reason="HEAD is detached or this is not a git checkout" if not branch else None,
        no_repository_reason=None if repository else _no_repository(remote, server_url),
    )


def github_hosts(server_url: str) -> frozenset[str]:
    """The hosts a GitHub remote may name: github.com (and its ssh host), and the server the environment names."""
    return frozenset({"github.com", "ssh.github.com", urlsplit(server_url).hostname or "github.com"})


def repository_from_remote(url: str, hosts: frozenset[str]) -> str | None:
    """`owner/name` of a remote on one of `hosts`; None for a local path or any other host."""
    scp = SCP_LIKE_URL.match(url)
    if scp and "://" not in url:
        host, path = scp.group("host"), scp.group("path")
    else:
        parts = urlsplit(url)
        host, path = parts.hostname or "", parts.path
    match = _REMOTE_PATH.match(path)
    return f"{match.group('owner')}/{match.group('name')}" if match and host.lower() in hosts else None


def _no_repository(remote: str, server_url: str) -> str:
    fix = f"{COMMAND_LINE.set('repository')} and {COMMAND_LINE.ref('clone-url')}"
    if not remote:
        return f"this is not a git checkout with an 'origin' remote; {fix}"
    where = urlsplit(server_url).hostname or "github.com"
    return f"the origin remote {quoted(without_credentials(remote))} is not a repository on {where}; {fix}"


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
