"""`recoup-session-action demo`: the life of a pull request against local stand-ins of both APIs.

No credentials and no network: the Recoupable and GitHub stand-ins listen on 127.0.0.1, the events are the bundled
sample `pull_request` (opened, then synchronize for a push, then closed), and the runner's files live in a
temporary folder. The first run creates the session, the second reuses it, the third archives it; the pull
request's one comment is printed after each.
"""

from __future__ import annotations

import io
import json
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

STEPS = (
    ("opened", "the pull request is opened: a session is created"),
    ("synchronize", "a push to the pull request: the same session is reused"),
    ("closed", "the pull request is closed (merged): the session is archived"),
)
SHOWN_OUTPUTS = ("outcome", "reused", "session-id", "chat-id", "session-url", "status", "lifecycle-state", "comment-id")


def main() -> int:
    with sample_world() as world, tempfile.TemporaryDirectory(prefix="recoup-demo-") as folder:
        api, github = world.api, world.github
        _say(f"Stand-ins listening: Recoupable API at {api.url}, GitHub API at {github.api_url}")
        sample = json.loads(Path(world.event_path).read_text(encoding="utf-8"))
        for step, (action, what) in enumerate(STEPS, start=1):
            event_path = Path(folder) / f"event_{step}.json"
            event_path.write_text(json.dumps(_as(sample, action)), encoding="utf-8")
            _say(f"Run {step} ({action}): {what}")
            code = _run_once(step, Path(folder), str(event_path), api.url, github.api_url)
            comments = github.comments(OWNER, REPO, NUMBER)
            _say(f"Run {step}: the pull request's comments ({len(comments)}):")
            for comment in comments:
                print(textwrap.indent(comment["body"], "    "))
            if code != 0:
                return code
        calls = ", ".join(f"{request.method} {request.path}" for request in api.requests)
        _say(f"Requests to the Recoupable API: {len(api.requests)} ({calls})")
        _say(f"Requests to the GitHub API: {len(github.requests)}")
    return 0


def _as(sample: dict[str, object], action: str) -> dict[str, object]:
    """The sample event with another `action` (a closed pull request is merged)."""
    event = {**sample, "action": action}
    if action == "closed" and isinstance(sample.get("pull_request"), dict):
        event["pull_request"] = {**sample["pull_request"], "state": "closed", "merged": True}  # type: ignore[dict-item]
    return event


def _run_once(step: int, folder: Path, event_path: str, api_url: str, github_api_url: str) -> int:
    output_file = folder / f"set_output_{step}"
    summary_file = folder / f"step_summary_{step}"
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
        run_id=str(4242 + step),
    )
    inputs = {"api-key": DEMO_API_KEY, "api-url": api_url, "github-token": DEMO_TOKEN}
    log = io.StringIO()
    reporter = RunnerReporter(log, str(output_file), str(summary_file))
    code = run(inputs, env, lambda: resolve_event(env, load_event(env)), reporter)
    _say(f"Run {step}: exit code {code}. The action's log:")
    print(textwrap.indent(log.getvalue(), "    "))
    _say(f"Run {step}: outputs (GITHUB_OUTPUT; the rest are in the log above):")
    values = parse_output_file(output_file.read_text(encoding="utf-8"))
    for name in SHOWN_OUTPUTS:
        print(f"    {name:<16} {shorten(values.get(name, ''), 100)}")
    return code


def _say(text: str) -> None:
    print(f"==> {text}")
