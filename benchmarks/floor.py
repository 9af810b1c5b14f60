"""The floor of each benchmarked path: the same work with the standard library only.

It reads the event file, makes the same HTTP requests as the action (none for a dry run; the session POST with
comment off; on the update path, a pull request whose comment records a running session: one page of comments,
the session GET and the comment PATCH, over one kept-alive connection per host) and writes the outputs file.
Usage: python floor.py dry-run|comment-off|update (configured by the same INPUT_* and GITHUB_* variables as the
action).
"""

import base64
import http.client
import json
import os
import sys
import uuid
from urllib.parse import urlsplit

MARKER = "<!-- recoup-session-action:recoup-session "


def connect(url: str) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname or "", parts.port), parts.path.rstrip("/")


def request(
    connection: http.client.HTTPConnection, method: str, path: str, body: object, headers: dict[str, str]
) -> object:
    data = json.dumps(body).encode() if body is not None else None
    connection.request(method, path, body=data, headers={"Content-Type": "application/json", **headers})
    response = connection.getresponse()
    return json.loads(response.read() or b"null")


def main(mode: str) -> None:
    env = os.environ
    with open(env["GITHUB_EVENT_PATH"], "rb") as file:
        pull = json.load(file)["pull_request"]
    head = pull["head"]
    body = {
        "title": f"{pull['title']} (#{pull['number']})",
        "repoOwner": head["repo"]["full_name"].split("/")[0],
        "repoName": head["repo"]["name"],
        "branch": head["ref"],
        "cloneUrl": head["repo"]["clone_url"],
        "sandboxType": "vercel",
    }
    outputs = {"repository": head["repo"]["full_name"], "branch": head["ref"]}
    if mode == "comment-off":
        api, prefix = connect(env["INPUT_API-URL"])
        created = request(api, "POST", f"{prefix}/api/sessions", body, {"x-api-key": env["INPUT_API-KEY"]})
        assert isinstance(created, dict)
        outputs["session-id"] = created["session"]["id"]
    if mode == "update":
        github, prefix = connect(env["GITHUB_API_URL"])
        auth = {"Authorization": f"token {env['INPUT_GITHUB-TOKEN']}"}
        issue = f"{prefix}/repos/{env['GITHUB_REPOSITORY']}/issues/{pull['number']}"
        comments = request(github, "GET", f"{issue}/comments?per_page=100", None, auth)
        assert isinstance(comments, list)
        ours = [comment for comment in comments if comment["body"].startswith(MARKER)][-1]
        record = ours["body"].removeprefix(MARKER).split(" ", 1)[0]
        session_id = json.loads(base64.urlsafe_b64decode(record))["s"]
        api, api_prefix = connect(env["INPUT_API-URL"])
        session = request(
            api, "GET", f"{api_prefix}/api/sessions/{session_id}", None, {"x-api-key": env["INPUT_API-KEY"]}
        )
        assert isinstance(session, dict)
        outputs["session-id"] = session_id
        comment_path = f"{prefix}/repos/{env['GITHUB_REPOSITORY']}/issues/comments/{ours['id']}"
        request(github, "PATCH", comment_path, {"body": f"{MARKER}{record} -->\n{outputs}"}, auth)
    with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as file:
        for name, value in outputs.items():
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            file.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


if __name__ == "__main__":
    main(sys.argv[1])
