"""The release logic that `.github/workflows/release.yml` runs, kept here so that tests run it locally.

    python3 scripts/release.py plan --tag vX.Y.Z --repository OWNER/REPO   # lines for $GITHUB_OUTPUT
    python3 scripts/release.py verify-public --reference IMAGE@sha256:...   # pull it as a user would
    python3 scripts/release.py pin --image IMAGE --digest sha256:...        # rewrite action.yml

`plan` checks the tag against pyproject.toml's version and names the image, its OCI labels and the tags to move.
`verify-public` pulls the pushed image by digest without credentials (a new GHCR package is private, and a private
image fails every user's run) and, if that fails, says how to make it public. `pin` points action.yml's
`runs.image` at that exact image, by digest, so a release commit always runs the image that was built and checked.
Standard library only: the release job runs it with the runner's Python, before anything is installed.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = "ghcr.io"
TAG = re.compile(r"v(?P<major>0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)")
REPOSITORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
BUILD_IMAGE = re.compile(r"^(?P<indent>  )image: ['\"]?Dockerfile['\"]?[ \t]*$", flags=re.MULTILINE)


class ReleaseError(Exception):
    """One line saying what is wrong and what to do."""


@dataclass(frozen=True)
class Plan:
    version: str
    image: str  # ghcr.io/owner/repo, lower case as GHCR requires
    tags: tuple[str, ...]  # the git tags the release commit gets: vX.Y.Z and vX
    labels: dict[str, str]

    def outputs(self) -> str:
        """Lines for $GITHUB_OUTPUT (the labels as one multi-line value, one label per line)."""
        labels = "\n".join(f"{name}={value}" for name, value in self.labels.items())
        return (
            f"version={self.version}\nimage={self.image}\ntags={' '.join(self.tags)}\n"
            f"labels<<END_OF_LABELS\n{labels}\nEND_OF_LABELS\n"
        )


def plan(tag: str, repository: str, revision: str, server_url: str, root: Path = ROOT) -> Plan:
    match = TAG.fullmatch(tag)
    if not match:
        raise ReleaseError(f"tag {tag!r} is not a release tag: push a tag like v1.2.3")
    if not REPOSITORY.fullmatch(repository):
        raise ReleaseError(f"repository {repository!r} is not owner/name")
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    version = tag.removeprefix("v")
    if project["version"] != version:
        raise ReleaseError(
            f"tag {tag} does not match pyproject.toml's version {project['version']}: "
            f'set version = "{version}" there (and in CHANGELOG.md), commit, and tag that commit'
        )
    labels = {
        "org.opencontainers.image.source": f"{server_url}/{repository}",
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.licenses": str(project["license"]),
        "org.opencontainers.image.title": str(project["name"]),
        "org.opencontainers.image.description": str(project["description"]),
    }
    return Plan(
        version=version,
        image=f"{REGISTRY}/{repository.lower()}",
        tags=(tag, f"v{match['major']}"),
        labels=labels,
    )


def pin(action_yml: str, image: str, digest: str) -> str:
    """action.yml with `runs.image` pointing at image@digest instead of building the Dockerfile."""
    if not DIGEST.fullmatch(digest):
        raise ReleaseError(f"digest {digest!r} is not sha256:<64 hex digits>: pass the build step's digest output")
    if not re.fullmatch(rf"{re.escape(REGISTRY)}/[a-z0-9._/-]+", image):
        raise ReleaseError(f"image {image!r} is not a lower-case {REGISTRY}/owner/name")
    found = BUILD_IMAGE.findall(action_yml)
    if len(found) != 1:
        raise ReleaseError("action.yml must have exactly one `  image: Dockerfile` line under runs: to pin")
    return BUILD_IMAGE.sub(rf"\g<indent>image: docker://{image}@{digest}", action_yml)


def public_pull_error(reference: str) -> str:
    owner, package = reference.split("@", 1)[0].removeprefix(f"{REGISTRY}/").split("/", 1)
    return (
        f"Could not pull {reference} without credentials, so every user's run would fail too. A new GHCR package "
        f"is private: open https://github.com/users/{owner}/packages/container/{package}/settings (for an "
        f"organization: https://github.com/orgs/{owner}/packages/container/{package}/settings), set "
        "'Change visibility' to Public, then re-run this workflow. No tag was moved."
    )


def verify_public(reference: str, docker: str = "docker") -> None:
    """Pull by digest with an empty Docker config (no login), as a user's runner does."""
    if "@" not in reference or not DIGEST.fullmatch(reference.split("@", 1)[1]):
        raise ReleaseError(f"{reference!r} is not IMAGE@sha256:<digest>")
    with tempfile.TemporaryDirectory(prefix="anonymous-docker-") as config:
        environment = {**os.environ, "DOCKER_CONFIG": config}
        pulled = subprocess.run([docker, "pull", reference], env=environment, check=False)
    if pulled.returncode != 0:
        raise ReleaseError(public_pull_error(reference))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    planned = commands.add_parser("plan", help="check the tag, print the image, labels and tags for GITHUB_OUTPUT")
    planned.add_argument("--tag", required=True)
    planned.add_argument("--repository", required=True, help="owner/name")
    planned.add_argument("--revision", default=os.environ.get("GITHUB_SHA", ""))
    planned.add_argument("--server-url", default=os.environ.get("GITHUB_SERVER_URL", "https://github.com"))
    verified = commands.add_parser("verify-public", help="pull IMAGE@DIGEST without credentials")
    verified.add_argument("--reference", required=True)
    verified.add_argument("--docker", default="docker")
    pinned = commands.add_parser("pin", help="point action.yml at IMAGE@DIGEST")
    pinned.add_argument("--image", required=True)
    pinned.add_argument("--digest", required=True)
    pinned.add_argument("--action", type=Path, default=ROOT / "action.yml")
    args = parser.parse_args(argv)
    try:
        if args.command == "plan":
            print(plan(args.tag, args.repository, args.revision, args.server_url).outputs(), end="")
        elif args.command == "verify-public":
            verify_public(args.reference, args.docker)
        else:
            text = args.action.read_text(encoding="utf-8")
            args.action.write_text(pin(text, args.image, args.digest), encoding="utf-8")
    except ReleaseError as error:
        print(f"::error title=Release stopped::{error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
