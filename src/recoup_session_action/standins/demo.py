"""`recoup-session-action demo`: the whole flow, twice, against local stand-ins of both APIs.

No credentials and no network: the Recoupable and GitHub stand-ins listen on 127.0.0.1, the event is the
bundled sample `pull_request`, and the runner's files live in a temporary folder. The second run shows
the sticky comment being updated rather than duplicated.
"""

from __future__ import annotations

import io
import tempfile
import textwrap
from pathlib import Path

from ..context import RunnerEnv, load_event, resolve_event
from ..flow import run
from ..runner import RunnerReporter, parse_output_file
from ..text import shorten
from .github import DEMO_TOKEN
from .recoupable import DEMO_API_KEY
from .world import NUMBER, OWNER, REPO, sample_world


def main() -> int:
    with sample_world() as world, tempfile.TemporaryDirectory(prefix="recoup-demo-") as folder:
        api, github = world.api, world.github
        _say(f"Stand-ins listening: Recoupable API at {api.url}, GitHub API at {github.api_url}")
        for attempt in (1, 2):
            code = _run_once(attempt, Path(folder), world.event_path, api.url, github.api_url)
            if code != 0:
                return code
        comments = github.comments(OWNER, REPO, NUMBER)
        _say(f"Comments on pull request #{NUMBER} after two runs: {len(comments)} (updated in place, not duplicated)")
        _say("Comment body:")
        print(textwrap.indent(comments[-1]["body"], "    "))
        _say(f"Requests: {len(api.posts)} to the Recoupable API, {len(github.requests)} to the GitHub API")
    return 0


def _run_once(attempt: int, folder: Path, event_path: str, api_url: str, github_api_url: str) -> int:
    output_file = folder / f"set_output_{attempt}"
    summary_file = folder / f"step_summary_{attempt}"
    output_file.touch()
    summary_file.touch()
    env = RunnerEnv(
        event_name="pull_request",
        event_path=event_path,
        repository=f"{OWNER}/{REPO}",
        ref=f"refs/pull/{NUMBER}/merge",
        sha="5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f",
        server_url="https://github.com",
        api_url=github_api_url,
        run_id=str(4242 + attempt),
    )
    inputs = {"api-key": DEMO_API_KEY, "api-url": api_url, "github-token": DEMO_TOKEN}
    log = io.StringIO()
    reporter = RunnerReporter(log, str(output_file), str(summary_file))
    code = run(inputs, env, lambda: resolve_event(env, load_event(env.event_path)), reporter)
    _say(f"Run {attempt}: exit code {code}. The action's log:")
    print(textwrap.indent(log.getvalue(), "    "))
    _say(f"Run {attempt}: outputs (GITHUB_OUTPUT):")
    for name, value in parse_output_file(output_file.read_text(encoding="utf-8")).items():
        shown = shorten(value, 100)
        print(f"    {name:<16} {shown}")
    _say(f"Run {attempt}: job summary (GITHUB_STEP_SUMMARY):")
    print(textwrap.indent(summary_file.read_text(encoding="utf-8"), "    "))
    return code


def _say(text: str) -> None:
    print(f"==> {text}")
