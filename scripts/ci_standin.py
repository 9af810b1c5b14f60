"""The stand-ins for CI's integration job, where the action runs as a real runner runs it (`uses: ./`), the
sticky comment included.

The action's container cannot reach the job's 127.0.0.1, so the Recoupable stand-in listens on all interfaces over
https, with a certificate made here for the Docker bridge's gateway address. The runner's GITHUB_API_URL
(https://api.github.com) cannot be changed, so the action reaches GitHub through a CONNECT proxy that tunnels
api.github.com:443 to the GitHub stand-in, which serves https with the same certificate (it also names
api.github.com). The container trusts it through `SSL_CERT_FILE` pointing at a copy in the workspace, and uses the
proxy through `HTTPS_PROXY`, both standard settings the action honours for both APIs.

    python scripts/ci_standin.py start --state DIR    # starts them in the background, sets step outputs
    python scripts/ci_standin.py check --state DIR    # asserts the action's outputs, requests and comment
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from recoup_session_action.comment_record import has_marker
from recoup_session_action.standins.github import DEMO_TOKEN, GitHubStandIn
from recoup_session_action.standins.proxy import ConnectProxy
from recoup_session_action.standins.recoupable import DEMO_API_KEY, RecoupableStandIn

DEFAULT_GATEWAY = "172.17.0.1"
GITHUB_API = "api.github.com:443"
ISSUE = 1  # the issue of the CI repository the stand-in holds, and the action comments on
TAG = "recoup-session"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "serve", "check"])
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--address", help="address the container reaches the host at (default: Docker's gateway)")
    args = parser.parse_args()
    state: Path = args.state
    if args.command == "start":
        start(state, args.address or _docker_gateway())
    elif args.command == "serve":
        serve(state)
    else:
        check(state)
    return 0


def start(state: Path, gateway: str) -> None:
    state.mkdir(parents=True, exist_ok=True)
    _make_certificate(state, gateway)
    workspace_copy = Path(os.environ.get("GITHUB_WORKSPACE", ".")) / ".standin" / "cert.pem"
    workspace_copy.parent.mkdir(exist_ok=True)
    workspace_copy.write_bytes((state / "cert.pem").read_bytes())
    (state / "gateway").write_text(gateway)
    log = (state / "serve.log").open("w")
    subprocess.Popen(
        [sys.executable, __file__, "serve", "--state", str(state)], stdout=log, stderr=log, start_new_session=True
    )
    deadline = time.monotonic() + 20
    while not (state / "ready.json").exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"the stand-ins did not start:\n{(state / 'serve.log').read_text()}")
        time.sleep(0.1)
    ready = json.loads((state / "ready.json").read_text())
    with Path(os.environ["GITHUB_OUTPUT"]).open("a", encoding="utf-8") as outputs:
        outputs.write(
            f"api-url={ready['api-url']}\napi-key={DEMO_API_KEY}\nproxy={ready['proxy']}\n"
            f"github-token={DEMO_TOKEN}\npr-number={ISSUE}\n"
        )


def serve(state: Path) -> None:
    gateway = (state / "gateway").read_text()
    owner, _, name = os.environ.get("GITHUB_REPOSITORY", "octo-org/demo-app").partition("/")
    with (
        RecoupableStandIn(host="0.0.0.0", ssl_context=_context(state)) as api,  # noqa: S104 (the container must reach it)
        GitHubStandIn(ssl_context=_context(state)) as github,
    ):
        github.add_issue(owner, name, ISSUE, title="CI's integration job comments here")
        github_address = github.url.removeprefix("https://")
        with ConnectProxy({GITHUB_API: github_address}, host="0.0.0.0") as proxy:  # noqa: S104
            api_port, proxy_port = api.url.rsplit(":", 1)[1], proxy.url.rsplit(":", 1)[1]
            ready = {"api-url": f"https://{gateway}:{api_port}", "proxy": f"http://{gateway}:{proxy_port}"}
            (state / "ready.json").write_text(json.dumps(ready))
            while True:
                _dump(state, api, github, proxy, f"{owner}/{name}")
                time.sleep(0.2)


def _dump(state: Path, api: RecoupableStandIn, github: GitHubStandIn, proxy: ConnectProxy, issue: str) -> None:
    owner, _, name = issue.partition("/")
    recorded = {
        "recoupable": [{"method": r.method, "path": r.path, "body": r.body} for r in api.requests],
        "github": [
            {"method": r.method, "path": r.path, "token": r.headers.get("authorization", "").partition(" ")[2]}
            for r in github.requests
        ],
        "comments": github.comments(owner, name, ISSUE),
        "tunnels": proxy.targets,
    }
    (state / "requests.json").write_text(json.dumps(recorded))


def check(state: Path) -> None:
    time.sleep(0.5)
    seen = json.loads((state / "requests.json").read_text())
    env = os.environ
    problems = []
    posts = [request for request in seen["recoupable"] if request["method"] == "POST"]
    if len(posts) != 1 or posts[0]["path"] != "/api/sessions":
        problems.append(f"expected one POST /api/sessions, saw {seen['recoupable']}")
    elif posts[0]["body"].get("branch") != "feature/login":
        problems.append(f"unexpected body {posts[0]['body']}")
    if env.get("OUTCOME") != "created":
        problems.append(f"outcome is {env.get('OUTCOME')!r}, not 'created'")
    if not env.get("SESSION_ID") or env["SESSION_ID"] not in env.get("SESSION_URL", ""):
        problems.append(f"session-id {env.get('SESSION_ID')!r} is not in session-url {env.get('SESSION_URL')!r}")
    if env.get("BRANCH") != "feature/login":
        problems.append(f"branch output is {env.get('BRANCH')!r}")
    problems += _comment_problems(seen, env.get("COMMENT_ID", ""), env.get("SESSION_URL", ""))
    if problems:
        raise SystemExit("\n".join(problems))
    print(
        f"The action created session {env['SESSION_ID']} with one request and keeps comment {env['COMMENT_ID']} on "
        f"#{ISSUE} through {len(seen['github'])} GitHub requests; outputs as expected."
    )


def _comment_problems(seen: dict[str, Any], comment_id: str, session_url: str) -> list[str]:
    ours = [comment for comment in seen["comments"] if has_marker(str(comment["body"]), TAG)]
    if len(ours) != 1:
        return [f"expected one comment of ours on #{ISSUE}, found {len(ours)}: {seen['comments']}"]
    [comment] = ours
    problems = []
    if str(comment["id"]) != comment_id:
        problems.append(f"comment-id output is {comment_id!r}, the comment is {comment['id']}")
    if session_url not in str(comment["body"]):
        problems.append(f"the comment does not link the session {session_url}")
    if any(request["token"] != DEMO_TOKEN for request in seen["github"]):
        problems.append("a GitHub request did not carry the github-token input")
    if GITHUB_API not in seen["tunnels"]:
        problems.append(f"the action did not reach {GITHUB_API} through the proxy: {seen['tunnels']}")
    return problems


def _context(state: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(state / "cert.pem", state / "key.pem")
    return context


def _docker_gateway() -> str:
    try:
        completed = subprocess.run(
            ["docker", "network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return DEFAULT_GATEWAY
    return completed.stdout.strip() or DEFAULT_GATEWAY


def _make_certificate(state: Path, address: str) -> None:
    """One self-signed certificate (its own CA) for the gateway address and for api.github.com."""
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=recoup-standin", "-addext", f"subjectAltName=IP:{address},DNS:api.github.com",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
            "-keyout", str(state / "key.pem"), "-out", str(state / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
