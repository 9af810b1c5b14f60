"""The stack floor of each benchmarked path: the work of `floor.py`, done with the runtime libraries the project
is built on (pydantic for the event, httpx for the session, PyGithub for the comment) and nothing else.

No input checks, no retries, no summary, no error handling: what is left is the least any program on this stack
pays, so the gap between it and the action is the action's own cost. Usage: python stack_floor.py
dry-run|comment-off|update (configured by the same INPUT_* and GITHUB_* variables as the action).
"""

import os
import ssl
import sys
import uuid

from pydantic import BaseModel

MARKER = "<!-- recoup-session-action:recoup-session -->"


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


def create_session(body: dict[str, str]) -> str:
    import httpx  # noqa: PLC0415 (as in the action: no HTTP client for a dry run)

    env = os.environ
    # The stand-ins speak plain http, so, as in the action, no CA bundle is loaded for a handshake never made.
    with httpx.Client(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)) as client:
        headers = {"x-api-key": env["INPUT_API-KEY"]}
        answer = client.post(f"{env['INPUT_API-URL']}/api/sessions", json=body, headers=headers)
    session_id: str = answer.json()["session"]["id"]
    return session_id


def update_comment(number: int, text: str) -> None:
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
    issue = github.get_repo(env["GITHUB_REPOSITORY"], lazy=True).get_issue(number)
    ours = [comment for comment in issue.get_comments() if MARKER in comment.body][-1]
    ours.edit(f"{MARKER}\n{text}")


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
    if mode != "dry-run":
        outputs["session-id"] = create_session(body)
    if mode == "update":
        update_comment(pull.number, str(outputs))
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as file:
        for name, value in outputs.items():
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            file.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


if __name__ == "__main__":
    main(sys.argv[1])
