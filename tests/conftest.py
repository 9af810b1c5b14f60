"""Shared test harness: run the console script exactly as a GitHub runner runs the action's container.

`action_runner` gives a function that lays out the runner's folders (event file, file commands, home,
workspace), sets the environment a runner gives a Docker action (hyphenated `INPUT_*` names, `GITHUB_*`
defaults, `CI`, `HOME`), runs `recoup-session-action` as a subprocess and reads back the outputs file
and the job summary. `action_in_process` does the same through the same entry point in this process, for the
many runs that test a decision rather than the runner's contract; there a run's own pauses (between retries,
between looks at another run's claim) are milliseconds (`IN_PROCESS_SEAMS`), while every run as a program keeps
the real ones.

Where ../shared is present (`shared.py`), the stand-in fixtures also check at teardown that every request the
action sent matches the documented contracts: each session body the Recoupable API's schema, each GitHub
request GitHub's REST description. `RECOUP_NO_SKIPS=1` (set by `.ci/run`) fails a run in which any test skipped.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from recoup_session_action import entry
from recoup_session_action.flow import Seams
from recoup_session_action.pacing import Pacing
from recoup_session_action.runner import parse_output_file
from recoup_session_action.standins.github import GitHubStandIn, TokenIdentity
from recoup_session_action.standins.recoupable import DEMO_API_KEY, RecoupableStandIn

from . import shared
from .rest_subset import check_requests, load_rest_subset

CONSOLE_SCRIPT = str(Path(sys.executable).parent / "recoup-session-action")
API_KEY = DEMO_API_KEY
GITHUB_TOKEN = "ghs_demo_token"
BASE_REPO = {"full_name": "acme/app", "clone_url": "https://github.com/acme/app.git", "default_branch": "main"}
IN_PROCESS_SEAMS = Seams(
    pacing=Pacing(claim_poll_seconds=0.02, github_backoff_factor=0.01, recoupable_backoff_seconds=0.01)
)
"""A run in this process pauses milliseconds where a real run pauses seconds of its own choosing; waits a server
asks for (`Retry-After`) and timeouts are unchanged."""


collect_ignore = [] if shared.PRESENT else list(shared.SHARED_TEST_FILES)
_skipped: list[str] = []


def pytest_report_header() -> str:
    if shared.PRESENT:
        return f"../shared: present at {shared.SHARED}, its contracts and real payloads checked as well"
    return (
        f"../shared: absent ({shared.SHARED}); every product test runs on tests/fixtures, the extra layer over the "
        f"shared contracts and real payloads is off ({', '.join(shared.SHARED_TEST_FILES)} not collected)"
    )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("RECOUP_NO_SKIPS") == "1" and _skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if os.environ.get("RECOUP_NO_SKIPS") == "1" and _skipped:
        terminalreporter.write_line(
            f"RECOUP_NO_SKIPS=1: {len(_skipped)} test(s) skipped, so this run fails: {', '.join(_skipped)}", red=True
        )


def needs_command(name: str) -> None:
    """Skip (saying why) a test that needs a system command that is not installed."""
    if shutil.which(name) is None:
        pytest.skip(f"needs the {name} command, which is not installed")


@dataclass
class ActionRun:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    output_file_text: str

    @property
    def log(self) -> str:
        return self.stdout + self.stderr


RunAction = Callable[..., ActionRun]


def check_session_bodies(api: RecoupableStandIn) -> None:
    """Every session the action asked for is a valid `CreateSessionRequest` of the documented contract."""
    schema = shared.create_session_schema()
    for post in api.posts:
        jsonschema.validate(post.json(), schema)


@pytest.fixture
def recoupable() -> Iterator[RecoupableStandIn]:
    with RecoupableStandIn() as api:
        yield api
    if shared.PRESENT:
        check_session_bodies(api)


GitHubFactory = Callable[..., GitHubStandIn]


@pytest.fixture
def github_standin() -> Iterator[GitHubFactory]:
    """Starts GitHub stand-ins (`tokens`, `path_prefix` as `GitHubStandIn` takes them, or a subclass as `kind`);
    where ../shared is present, every request each one received is checked against GitHub's REST description."""
    started: list[GitHubStandIn] = []
    with ExitStack() as stack:

        def start(
            tokens: dict[str, TokenIdentity] | None = None,
            path_prefix: str = "",
            kind: type[GitHubStandIn] = GitHubStandIn,
        ) -> GitHubStandIn:
            server = stack.enter_context(kind(tokens, path_prefix))
            started.append(server)
            return server

        yield start
    if shared.PRESENT:
        subset = load_rest_subset()
        for server in started:
            check_requests(server.requests, subset, server.path_prefix)


@pytest.fixture
def github(github_standin: GitHubFactory) -> GitHubStandIn:
    return github_standin()


def git_checkout(tmp_path: Path, remote: str, branch: str = "topic/cli") -> Path:
    """A git checkout in `tmp_path` on `branch`, whose `origin` remote is `remote`."""
    needs_command("git")
    repo = tmp_path / "checkout"
    repo.mkdir()
    for args in (["init", "-q", "-b", branch], ["remote", "add", "origin", remote]):
        subprocess.run(["git", "-C", str(repo), *args], check=True)
    return repo


@dataclass(frozen=True)
class RunnerFolders:
    """The files and environment a runner lays out for one step."""

    environ: dict[str, str]
    workspace: Path
    output_file: Path
    summary_file: Path

    def result(self, returncode: int, stdout: str, stderr: str) -> ActionRun:
        output_text = self.output_file.read_bytes().decode("utf-8")
        return ActionRun(
            returncode=returncode,
            stdout=stdout,
            stderr=stderr,
            outputs=parse_output_file(output_text),
            summary=self.summary_file.read_bytes().decode("utf-8"),
            output_file_text=output_text,
        )


def runner_folders(
    tmp_path: Path,
    event_name: str,
    event: Mapping[str, Any] | bytes | None,
    inputs: Mapping[str, str],
    env: Mapping[str, str] | None,
) -> RunnerFolders:
    temp = tmp_path / f"run-{uuid.uuid4().hex[:8]}"
    workflow, commands, home, workspace = (temp / name for name in ("workflow", "commands", "home", "workspace"))
    for folder in (workflow, commands, home, workspace):
        folder.mkdir(parents=True)
    event_path = workflow / "event.json"
    if event is not None:
        event_path.write_bytes(event if isinstance(event, bytes) else json.dumps(event).encode())
    suffix = uuid.uuid4()
    output_file, summary_file = commands / f"set_output_{suffix}", commands / f"step_summary_{suffix}"
    output_file.touch()
    summary_file.touch()
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_OUTPUT": str(output_file),
        "GITHUB_STEP_SUMMARY": str(summary_file),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_API_URL": "https://api.github.invalid",
        "GITHUB_RUN_ID": "5741279673",
        "RUNNER_TEMP": str(temp),
        **{f"INPUT_{name.upper()}": value for name, value in inputs.items()},
        **(env or {}),
    }
    return RunnerFolders(environ, workspace, output_file, summary_file)


Watch = Callable[[str], None]
Execute = Callable[[RunnerFolders, tuple[str, ...], float, Watch | None], tuple[int, str, str]]


def _runner(tmp_path: Path, execute: Execute) -> RunAction:
    """A `RunAction` that lays out the runner's folders for each run and has `execute` run the console script
    there (with `args` and a `timeout`), returning its exit code, stdout and stderr. `watch` (in this process
    only) sees each piece of text the run prints as it prints it: a test acts at a point of the run's own telling."""

    def run(
        *,
        event_name: str,
        event: Mapping[str, Any] | bytes | None,
        inputs: Mapping[str, str],
        env: Mapping[str, str] | None = None,
        args: tuple[str, ...] = (),
        timeout: float = 60,
        watch: Watch | None = None,
    ) -> ActionRun:
        folders = runner_folders(tmp_path, event_name, event, inputs, env)
        return folders.result(*execute(folders, args, timeout, watch))

    return run


@pytest.fixture
def action_runner(tmp_path: Path) -> RunAction:
    """Runs the console script as a subprocess, exactly as the runner starts the image's entry point."""

    def execute(
        folders: RunnerFolders, args: tuple[str, ...], timeout: float, watch: Watch | None
    ) -> tuple[int, str, str]:
        assert watch is None, "a program's output is read when it ends"
        completed = subprocess.run(
            [CONSOLE_SCRIPT, *args],
            env=folders.environ,
            cwd=folders.workspace,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return completed.returncode, completed.stdout, completed.stderr

    return _runner(tmp_path, execute)


@pytest.fixture
def action_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunAction:
    """The same run as `action_runner`, with the same environment, folders and entry point, but in this process:
    no interpreter start, so it is fast enough for the many runs that test decisions rather than the runner's
    contract (which `action_runner` keeps proving). The run's own timeout-seconds bounds it; its own pauses are
    short (`IN_PROCESS_SEAMS`)."""

    def execute(
        folders: RunnerFolders, args: tuple[str, ...], timeout: float, watch: Watch | None
    ) -> tuple[int, str, str]:
        del timeout
        stdout, stderr = _Printed(watch), io.StringIO()
        with keep_signal_handlers(), monkeypatch.context() as patch, redirect_stdout(stdout), redirect_stderr(stderr):
            patch.setattr(os, "environ", folders.environ)
            patch.chdir(folders.workspace)
            returncode = entry.main(list(args), seams=IN_PROCESS_SEAMS)
        return returncode, stdout.getvalue(), stderr.getvalue()

    return _runner(tmp_path, execute)


class _Printed(io.StringIO):
    """What a run in this process prints; `watch` sees each piece as it is printed."""

    def __init__(self, watch: Watch | None) -> None:
        super().__init__()
        self._watch = watch

    def write(self, text: str) -> int:
        written = super().write(text)
        if self._watch is not None:
            self._watch(text)
        return written


@contextmanager
def keep_signal_handlers() -> Iterator[None]:
    """A run in this process takes over SIGTERM and SIGINT, as it does in its own; give them back afterwards."""
    kept = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in kept.items():
            signal.signal(signum, handler)


def assert_no_secret(run: ActionRun, *secrets: str) -> None:
    """No secret in stdout, stderr, the outputs file or the summary, except inside the mask command itself."""
    for secret in secrets:
        log_without_masks = "\n".join(line for line in run.log.splitlines() if not line.startswith("::add-mask::"))
        assert secret not in log_without_masks
        assert secret not in run.output_file_text
        assert secret not in run.summary


def assert_masked_first(run: ActionRun, secret: str) -> None:
    """The first thing printed is the mask of the secret."""
    assert run.stdout.splitlines()[0] == f"::add-mask::{secret}"


def pull_request_event(
    *,
    title: str = "Add search",
    ref: str = "feat/search",
    head_repo: dict[str, Any] | None = None,
    author: str = "mona",
    sender: str | None = None,
) -> dict[str, Any]:
    """A small pull_request payload (written by us) with the fields the action reads: PR #42 on acme/app."""
    return {
        "action": "opened",
        "repository": BASE_REPO,
        "pull_request": {
            "number": 42,
            "title": title,
            "head": {"ref": ref, "sha": "1234abcd", "repo": head_repo or BASE_REPO},
            "base": {"ref": "main", "sha": "feedbeef", "repo": BASE_REPO},
            "user": {"login": author},
        },
        "sender": {"login": sender or author},
    }


def created_outputs(run: ActionRun, *, comment_id: str = "", comment_url: str = "") -> dict[str, str]:
    """Every output of a created session for `pull_request_event()`, ids taken from the `response` output."""
    response = json.loads(run.outputs["response"])
    session_id, chat_id = response["session"]["id"], response["chat"]["id"]
    return {
        "session-id": session_id,
        "chat-id": chat_id,
        "session-url": f"https://chat.recoupable.com/sessions/{session_id}/chats/{chat_id}",
        "status": "running",
        "lifecycle-state": "provisioning",
        "repository": "acme/app",
        "branch": "feat/search",
        "clone-url": "https://github.com/acme/app.git",
        "pr-number": "42",
        "skipped": "false",
        "reused": "false",
        "outcome": "created",
        "error": "",
        "response": run.outputs["response"],
        "comment-id": comment_id,
        "comment-url": comment_url,
    }
