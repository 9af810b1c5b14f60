"""The stack floor of each benchmarked path: the work of `floor.py`, done with the runtime libraries the project
is built on (pydantic for the event, httpx for the session, PyGithub for the comment) and nothing else.

No input checks, no retries, no summary, no error handling: what is left is the least any program on this stack
pays, so the gap between it and the action is the action's own cost. It runs under the action's process settings
(the collector's threshold and no collection at exit, pydantic's plugins off), which are not work: a floor
without them would pay costs the action does not. Usage: python stack_floor.py dry-run|comment-off|update
(configured by the same INPUT_* and GITHUB_* variables as the action).
"""

import atexit
import base64
import gc
import json
import os
import ssl
import sys
import uuid
from typing import Any

from pydantic import BaseModel

# The action's process settings (`entry.console` and the package's `__init__`), set before the first model is
# built; tests/test_benchmarks.py fails if they drift apart.
COLLECTOR_THRESHOLD = 200_000
gc.set_threshold(COLLECTOR_THRESHOLD)
atexit.register(gc.freeze)
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

MARKER = "<!-- recoup-session-action:recoup-session "


class Repository(BaseModel):
    full_name: str
    name: str
    clone_url: str


class Head(BaseModel):
    ref: str
    repo: Repository


class PullRequest(BaseModel):
    number: int
    title: str
    head: Head


class Event(BaseModel):
    pull_request: PullRequest


def recoupable(method: str, path: str, body: dict[str, str] | None = None) -> dict[str, Any]:
    import httpx  # noqa: PLC0415 (as in the action: no HTTP client for a dry run)

    env = os.environ
    # The stand-ins speak plain http, so, as in the action, no CA bundle is loaded for a handshake never made.
    with httpx.Client(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)) as client:
        headers = {"x-api-key": env["INPUT_API-KEY"]}
        answer = client.request(method, f"{env['INPUT_API-URL']}{path}", json=body, headers=headers)
    data: dict[str, Any] = answer.json()
    return data


def reuse_session(number: int, outputs: dict[str, str]) -> None:
    """The comment's recorded session, read back (GET) and linked again: the update path of `session: reuse`."""
    from github import Auth, Github  # noqa: PLC0415 (as in the action: PyGithub only when commenting)

    env = os.environ
    github = Github(
        auth=Auth.Token(env["INPUT_GITHUB-TOKEN"]),
        base_url=env["GITHUB_API_URL"],
        per_page=100,
        seconds_between_requests=None,
        seconds_between_writes=None,
        lazy=True,
    )
    issue = github.get_repo(env["GITHUB_REPOSITORY"]).get_issue(number)
    ours = [comment for comment in issue.get_comments() if comment.body.startswith(MARKER)][-1]
    record = ours.body.removeprefix(MARKER).split(" ", 1)[0]
    session_id = json.loads(base64.urlsafe_b64decode(record))["s"]
    outputs["session-id"] = recoupable("GET", f"/api/sessions/{session_id}")["session"]["id"]
    ours.edit(f"{MARKER}{record} -->\n{outputs}")


def main(mode: str) -> None:
    with open(os.environ["GITHUB_EVENT_PATH"], "rb") as file:
        pull = Event.model_validate_json(file.read()).pull_request
    head = pull.head
    body = {
        "title": f"{pull.title} (#{pull.number})",
        "repoOwner": head.repo.full_name.split("/")[0],
        "repoName": head.repo.name,
        "branch": head.ref,
        "cloneUrl": head.repo.clone_url,
        "sandboxType": "vercel",
    }
    outputs = {"repository": head.repo.full_name, "branch": head.ref}
    if mode == "comment-off":
        outputs["session-id"] = recoupable("POST", "/api/sessions", body)["session"]["id"]
    if mode == "update":
        reuse_session(pull.number, outputs)
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as file:
        for name, value in outputs.items():
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            file.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


if __name__ == "__main__":
    main(sys.argv[1])
