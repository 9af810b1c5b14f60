"""The sample world the demo and the benchmark run in: the bundled `pull_request` event and both stand-ins,
seeded with its pull request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources

from .github import GitHubStandIn
from .recoupable import RecoupableStandIn

OWNER, REPO, NUMBER = "octo-org", "demo-app", 7


@dataclass(frozen=True)
class SampleWorld:
    """The event file and both stand-ins, running."""

    event_path: str
    api: RecoupableStandIn
    github: GitHubStandIn


@contextmanager
def sample_world() -> Iterator[SampleWorld]:
    sample = resources.files(__package__).joinpath("samples/pull_request.json")
    with resources.as_file(sample) as event_path, RecoupableStandIn() as api, GitHubStandIn() as github:
        github.add_pull(
            OWNER,
            REPO,
            NUMBER,
            title="Add a login page",
            head_ref="feature/login",
            head_sha="4f1b2c3d4e5f60718293a4b5c6d7e8f901234567",
            head_full_name=f"{OWNER}/{REPO}",
        )
        yield SampleWorld(str(event_path), api, github)
