"""The Recoupable stand-in for CI's integration job, where the action runs as a real runner runs it (`uses: ./`).

The action's container cannot reach the job's 127.0.0.1, so the stand-in listens on all interfaces over
https, with a certificate made here for the Docker bridge's gateway address; the container trusts it through
`SSL_CERT_FILE` pointing at a copy in the workspace. `api-url` stays https, as the action requires off loopback.

    python scripts/ci_standin.py start --state DIR    # starts it in the background, sets step outputs
    python scripts/ci_standin.py check --state DIR    # asserts the action's outputs and the requests seen
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

from recoup_session_action.standins.recoupable import DEMO_API_KEY, RecoupableStandIn

DEFAULT_GATEWAY = "172.17.0.1"


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
    while not (state / "api-url").exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"the stand-in did not start:\n{(state / 'serve.log').read_text()}")
        time.sleep(0.1)
    with Path(os.environ["GITHUB_OUTPUT"]).open("a", encoding="utf-8") as outputs:
        outputs.write(f"api-url={(state / 'api-url').read_text()}\napi-key={DEMO_API_KEY}\n")


def serve(state: Path) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(state / "cert.pem", state / "key.pem")
    with RecoupableStandIn(host="0.0.0.0", ssl_context=context) as api:  # noqa: S104 (the container must reach it)
        port = api.url.rsplit(":", 1)[1]
        (state / "api-url").write_text(f"https://{(state / 'gateway').read_text()}:{port}")
        while True:
            recorded = [{"method": r.method, "path": r.path, "body": r.json()} for r in api.requests]
            (state / "requests.json").write_text(json.dumps(recorded))
            time.sleep(0.2)


def check(state: Path) -> None:
    time.sleep(0.5)
    requests = json.loads((state / "requests.json").read_text())
    env = os.environ
    problems = []
    if len(requests) != 1 or requests[0]["path"] != "/api/sessions":
        problems.append(f"expected one POST /api/sessions, saw {requests}")
    elif requests[0]["body"].get("branch") != "feature/login":
        problems.append(f"unexpected body {requests[0]['body']}")
    if env.get("OUTCOME") != "created":
        problems.append(f"outcome is {env.get('OUTCOME')!r}, not 'created'")
    if not env.get("SESSION_ID") or env["SESSION_ID"] not in env.get("SESSION_URL", ""):
        problems.append(f"session-id {env.get('SESSION_ID')!r} is not in session-url {env.get('SESSION_URL')!r}")
    if env.get("BRANCH") != "feature/login":
        problems.append(f"branch output is {env.get('BRANCH')!r}")
    if problems:
        raise SystemExit("\n".join(problems))
    print(f"The action created session {env['SESSION_ID']} with one request; outputs as expected.")


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
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=recoup-standin", "-addext", f"subjectAltName=IP:{address}",
            "-keyout", str(state / "key.pem"), "-out", str(state / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
