"""The Docker image, built from the unchanged `Dockerfile` and run the way a GitHub runner runs a Docker action.

`scripts/container-tools.sh` builds with `docker` when a daemon answers, otherwise with Debian's buildah against a
locally built stand-in for `python:3.13-slim` (cached per machine, rebuilt when missing), and runs with
`podman run --rm --network host`, so the container reaches the stand-in APIs on this machine's 127.0.0.1.

Where no builder can run, the tests are skipped and say why; with `RECOUP_REQUIRE_CONTAINER=1` (set by `.ci/run`)
they fail instead. The build time, the image and base sizes and the runtime layer are written to the terminal.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from recoup_session_action.runner import parse_output_file
from recoup_session_action.standins.github import GitHubStandIn
from recoup_session_action.standins.recoupable import RecoupableStandIn

from .conftest import (
    API_KEY,
    GITHUB_TOKEN,
    ActionRun,
    assert_masked_first,
    assert_no_secret,
    created_outputs,
    pull_request_event,
)

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "scripts" / "container-tools.sh"
TAG = os.environ.get("RECOUP_CONTAINER_TAG", "recoup-session-action:test")  # one per worktree when several build
MAX_RUNTIME_LAYER = 47 * 1000 * 1000  # "at most 47 MB" over the base, read strictly (decimal megabytes)
VENV_SITE = "/opt/venv/lib/python3.13/site-packages"
ENTRYPOINT = ["/opt/venv/bin/recoup-session-action"]
RUN_TIMEOUT = 120

PULL_REQUEST_EVENT = pull_request_event()


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    engine: str
    env: dict[str, str]
    build_seconds: float
    image_bytes: int
    base_bytes: int

    @property
    def runtime_layer_bytes(self) -> int:
        return self.image_bytes - self.base_bytes


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB ({size / 2**20:.1f} MiB)"


def _unavailable(reason: str) -> None:
    """Skip (saying why), or fail where the container test is required to run."""
    if os.environ.get("RECOUP_REQUIRE_CONTAINER") == "1":
        pytest.fail(f"container test required (RECOUP_REQUIRE_CONTAINER=1) but cannot run: {reason}", pytrace=False)
    pytest.skip(f"container test skipped: {reason}")


def _tools(*args: str, env: Mapping[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TOOLS), *args],
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return False
    return probe.returncode == 0


def _key_values(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if re.fullmatch(r"[A-Za-z_]+=.*", line))


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _report(config: pytest.Config, lines: list[str]) -> None:
    """Write lines to the terminal even while output is captured (as `capsys.disabled()` does, but module-wide)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    disabled = getattr(capture, "global_and_fixture_disabled", contextlib.nullcontext)
    for line in lines:
        print(line)  # also lands in the captured output of the test that triggered the build
    if isinstance(reporter, pytest.TerminalReporter):
        with disabled():
            reporter.ensure_newline()
            for line in lines:
                reporter.write_line(line)


@pytest.fixture(scope="module")
def image(request: pytest.FixtureRequest) -> BuiltImage:
    """Install the tools if needed, make sure the base exists, build the image once per module and report it."""
    if not TOOLS.exists():
        _unavailable(f"{TOOLS} is missing")
    if not _docker_answers():
        have_tools = all(shutil.which(tool) for tool in ("buildah", "podman"))
        if not have_tools and os.environ.get("RECOUP_REQUIRE_CONTAINER") != "1":
            # A plain test run never installs system packages; .ci/run installs them and requires this test.
            _unavailable(
                "no Docker daemon answers and buildah/podman are absent: run scripts/container-tools.sh install"
            )
        if not have_tools and (shutil.which("apt-get") is None or os.geteuid() != 0):
            _unavailable(
                "no Docker daemon answers, buildah/podman are absent and cannot be installed (needs root + apt)"
            )
        if have_tools and os.geteuid() != 0:
            _unavailable("no Docker daemon answers and buildah/podman are set up here for root only")
    installed = _tools("install")
    if installed.returncode != 0:
        _unavailable(f"`container-tools.sh install` failed:\n{_tail(installed.stderr)}")
    env = {**os.environ, **_key_values(installed.stdout)}
    engine = env.get("CONTAINER_ENGINE", "podman")
    base = _tools("base", env=env)
    if base.returncode != 0:  # the base stand-in needs debootstrap and a Debian mirror: the machine, not the project
        _unavailable(f"the base image python:3.13-slim cannot be made here:\n{_tail(base.stderr)}")
    built = _tools("build", str(ROOT), TAG, env=env)
    assert built.returncode == 0, f"building the Dockerfile failed:\n{_tail(built.stderr, 80)}"  # a project failure
    figures = _key_values(built.stdout)
    result = BuiltImage(
        tag=TAG,
        engine=engine,
        env=env,
        build_seconds=float(figures["build_seconds"]),
        image_bytes=int(figures["image_bytes"]),
        base_bytes=int(figures["base_bytes"]),
    )
    lines = [
        f"container image {TAG} built with {engine} in {result.build_seconds:.1f} s"
        f" (base: {base.stderr.strip().splitlines()[-1] if base.stderr.strip() else 'docker pulls it'})",
        f"container image size {_megabytes(result.image_bytes)}, base python:3.13-slim {_megabytes(result.base_bytes)},"
        f" runtime layer {_megabytes(result.runtime_layer_bytes)} (limit {_megabytes(MAX_RUNTIME_LAYER)})",
    ]
    _report(request.config, lines)
    return result


def _in_image(image: BuiltImage, script: str) -> subprocess.CompletedProcess[str]:
    """Run a shell script inside the image, bypassing the entrypoint."""
    return _tools("run", "--entrypoint", "/bin/sh", image.tag, "-c", script, env=image.env, timeout=RUN_TIMEOUT)


def _action_inputs(overrides: Mapping[str, str]) -> dict[str, str]:
    """Every input of action.yml with its default, as the runner applies them (github.token for github-token)."""
    metadata = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    inputs: dict[str, str] = {}
    for name, spec in metadata["inputs"].items():
        default = str(spec.get("default", ""))
        inputs[name] = GITHUB_TOKEN if default == "${{ github.token }}" else default
    unknown = set(overrides) - set(inputs)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    return {**inputs, **overrides}


def run_like_a_runner(
    image: BuiltImage,
    tmp_path: Path,
    *,
    event_name: str,
    event: Mapping[str, Any],
    inputs: Mapping[str, str],
    github: GitHubStandIn,
    around: Sequence[str] = (),
) -> ActionRun:
    """`docker run` as the runner does it: its folders mounted under /github, `-e NAME` for each variable with the
    value in the calling process's environment (hyphenated `INPUT_*` names included), the workspace as workdir.
    `around` is a command run instead of the entrypoint, which it gets as its last arguments."""
    temp, workspace = tmp_path / "_temp", tmp_path / "workspace"
    home, workflow, commands = temp / "_github_home", temp / "_github_workflow", temp / "_runner_file_commands"
    for folder in (home, workflow, commands, workspace):
        folder.mkdir(parents=True)
    (workflow / "event.json").write_text(json.dumps(event), encoding="utf-8")
    (workspace / "README.md").write_text("checked-out repository\n", encoding="utf-8")
    suffix = uuid.uuid4()
    files = {
        "GITHUB_OUTPUT": f"set_output_{suffix}",
        "GITHUB_STEP_SUMMARY": f"step_summary_{suffix}",
        "GITHUB_ENV": f"set_env_{suffix}",
        "GITHUB_STATE": f"save_state_{suffix}",
        "GITHUB_PATH": f"add_path_{suffix}",
    }
    for name in files.values():
        (commands / name).touch()
    container_env = {
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": "/github/workflow/event.json",
        "GITHUB_WORKSPACE": "/github/workspace",
        **{variable: f"/github/file_commands/{name}" for variable, name in files.items()},
        "GITHUB_REPOSITORY": "acme/app",
        "GITHUB_REPOSITORY_OWNER": "acme",
        "GITHUB_REF": "refs/pull/42/merge",
        "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
        "GITHUB_ACTOR": "mona",
        "GITHUB_RUN_ID": "5741279673",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_API_URL": github.api_url,
        "RUNNER_OS": "Linux",
        **{f"INPUT_{name.replace(' ', '_').upper()}": value for name, value in inputs.items()},
    }
    caller_env = {
        name: value
        for name, value in image.env.items()
        if not name.startswith(("INPUT_", "GITHUB_", "RUNNER_")) and name not in ("CI", "ACTIONS_STEP_DEBUG")
    }
    command = ["run", "--workdir", "/github/workspace"]
    for name in container_env:
        command += ["-e", name]
    # HOME is given a value inline: the engine reads HOME itself, so it is not changed in the caller's environment.
    command += ["-e", "HOME=/github/home", "-e", "CI=true", "-e", "GITHUB_ACTIONS=true"]
    for source, target in (
        (home, "/github/home"),
        (workflow, "/github/workflow"),
        (commands, "/github/file_commands"),
        (workspace, "/github/workspace"),
    ):
        command += ["-v", f"{source}:{target}"]
    if around:
        command += ["--entrypoint", around[0], image.tag, *around[1:], *ENTRYPOINT]
    else:
        command.append(image.tag)
    completed = _tools(*command, env={**caller_env, **container_env}, timeout=RUN_TIMEOUT)
    output_text = (commands / files["GITHUB_OUTPUT"]).read_text(encoding="utf-8")
    return ActionRun(
        returncode=completed.returncode,
        stdout=completed.stdout,
        stderr=completed.stderr,
        outputs=parse_output_file(output_text),
        summary=(commands / files["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8"),
        output_file_text=output_text,
    )


@pytest.fixture
def seeded_github(github: GitHubStandIn) -> GitHubStandIn:
    github.add_pull(
        "acme", "app", 42, title="Add search", head_ref="feat/search", head_sha="1234abcd", head_full_name="acme/app"
    )
    return github


def test_pull_request_run_in_the_container_creates_the_session_and_the_comment(
    image: BuiltImage, tmp_path: Path, recoupable: RecoupableStandIn, seeded_github: GitHubStandIn
) -> None:
    github = seeded_github
    run = run_like_a_runner(
        image,
        tmp_path,
        event_name="pull_request",
        event=PULL_REQUEST_EVENT,
        inputs=_action_inputs({"api-key": API_KEY, "api-url": recoupable.url}),
        github=github,
    )

    assert run.returncode == 0, run.log
    assert_masked_first(run, API_KEY)
    assert_no_secret(run, API_KEY, GITHUB_TOKEN)
    assert "Traceback" not in run.log
    assert "::error" not in run.stdout, run.stdout
    assert "::warning" not in run.stdout, run.stdout

    [post] = recoupable.posts
    assert post.path == "/api/sessions"
    assert post.json() == {
        "title": "Add search (#42)",
        "repoOwner": "acme",
        "repoName": "app",
        "branch": "feat/search",
        "cloneUrl": "https://github.com/acme/app.git",
        "sandboxType": "vercel",
    }
    assert post.headers["x-api-key"] == API_KEY
    assert post.headers["content-type"] == "application/json"

    [comment] = github.comments("acme", "app", 42)
    response = json.loads(run.outputs["response"])
    session_id, chat_id = response["session"]["id"], response["chat"]["id"]
    session_url = f"https://chat.recoupable.com/sessions/{session_id}/chats/{chat_id}"
    assert run.outputs == created_outputs(run, comment_id=str(comment["id"]), comment_url=comment["html_url"])
    assert session_url in comment["body"]
    assert comment["user"]["login"] == "github-actions[bot]"
    assert API_KEY not in comment["body"]
    assert GITHUB_TOKEN not in comment["body"]
    assert all(API_KEY not in json.dumps(request.body) for request in github.requests)
    assert all(request.headers.get("authorization", "").endswith(GITHUB_TOKEN) for request in github.requests)

    assert "### Recoupable session created" in run.summary
    assert f"({session_url})" in run.summary
    assert "| Lifecycle state | provisioning |" in run.summary


def test_bad_input_in_the_container_fails_with_one_error(
    image: BuiltImage, tmp_path: Path, recoupable: RecoupableStandIn, seeded_github: GitHubStandIn
) -> None:
    run = run_like_a_runner(
        image,
        tmp_path,
        event_name="pull_request",
        event=PULL_REQUEST_EVENT,
        inputs=_action_inputs({"api-key": API_KEY, "api-url": recoupable.url, "branch": "a..b"}),
        github=seeded_github,
    )

    assert run.returncode == 1, run.log
    assert_masked_first(run, API_KEY)
    errors = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, run.stdout
    assert "Input 'branch': 'a..b' is not a valid branch name: it contains '..'" in errors[0]
    assert "Traceback" not in run.log
    assert run.outputs["outcome"] == "failed"
    assert "'a..b' is not a valid branch name" in run.outputs["error"]
    assert "Recoupable session not created" in run.summary
    assert recoupable.requests == []
    assert seeded_github.comments("acme", "app", 42) == []
    assert_no_secret(run, API_KEY, GITHUB_TOKEN)


def test_runtime_layer_is_at_most_47_mb(image: BuiltImage, record_property: Callable[[str, object], None]) -> None:
    record_property("build_seconds", image.build_seconds)
    record_property("image_bytes", image.image_bytes)
    record_property("base_bytes", image.base_bytes)
    record_property("runtime_layer_bytes", image.runtime_layer_bytes)
    print(f"runtime layer {_megabytes(image.runtime_layer_bytes)}, build {image.build_seconds:.1f} s")
    assert 0 < image.runtime_layer_bytes <= MAX_RUNTIME_LAYER, _megabytes(image.runtime_layer_bytes)


def test_no_compiler_in_the_image(image: BuiltImage) -> None:
    probe = _in_image(image, "command -v gcc cc c++ g++ clang x86_64-linux-gnu-gcc aarch64-linux-gnu-gcc || true")
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == ""


def test_bytecode_compiled_at_build_time(image: BuiltImage) -> None:
    package = f"{VENV_SITE}/recoup_session_action"
    listing = _in_image(image, f"ls {package}/__pycache__")
    assert listing.returncode == 0, listing.stderr
    assert "entry.cpython-313.pyc" in listing.stdout.split()
    # PYTHONDONTWRITEBYTECODE=1 in the image: bytecode can only come from the build, and it must be current.
    imports = _in_image(image, "/opt/venv/bin/python -v -c 'import recoup_session_action.entry' 2>&1")
    assert imports.returncode == 0, imports.stdout
    assert f"code object from '{package}/__pycache__/entry.cpython-313.pyc'" in imports.stdout
    assert "bytecode is stale" not in imports.stdout
    assert f"code object from '{package}/entry.py'" not in imports.stdout


def test_no_tests_docs_build_files_or_pip_in_the_image(image: BuiltImage) -> None:
    # The project's own tests, docs and build inputs; third-party wheels' bundled tests are not the project's.
    project_files = [path.name for path in (ROOT / "tests").glob("*.py") if path.name != "__init__.py"]
    project_files += ["runner-contract.md", "requirements.lock", "requirements.in", "pyproject.toml", "'*.egg-info'"]
    names = " -o ".join(f"-name {name}" for name in project_files)
    package = f"{VENV_SITE}/recoup_session_action"
    probe = _in_image(
        image,
        "test -e /opt/recoup && echo build-dir-left; "
        f"find /opt \\( {names} \\) -print; "
        f"find {package} -mindepth 1 -type d \\( -name tests -o -name docs \\) -print; "
        "ls /opt/venv/bin; "
        "/opt/venv/bin/python -c 'import pip' 2>/dev/null && echo pip-importable; "
        "/opt/venv/bin/python -c 'import setuptools' 2>/dev/null && echo setuptools-importable; true",
    )
    assert probe.returncode == 0, probe.stderr
    words = probe.stdout.split()
    assert "build-dir-left" not in words
    assert not [word for word in words if word.startswith("/opt/")], probe.stdout
    assert not [word for word in words if word.startswith(("pip", "setuptools", "easy_install"))], probe.stdout
    assert "recoup-session-action" in words


def test_entrypoint_is_the_console_script(image: BuiltImage) -> None:
    inspected = subprocess.run(
        [image.engine, "image", "inspect", "--format", "{{json .Config.Entrypoint}}", image.tag],
        env=image.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout) == ENTRYPOINT
    shebang = _in_image(image, f"head -n 1 {ENTRYPOINT[0]}")
    assert re.fullmatch(r"#!/opt/venv/bin/python(3(\.\d+)?)?", shebang.stdout.strip()), shebang.stdout


# Runs the command given as arguments with bytecode writing on (the image turns it off), then names every .pyc
# written since it started: Python writes one only when it had to compile a module, for want of valid bytecode.
# (Python, not a shell: dash drops the runner's hyphenated INPUT_* variables from the environment it passes on.)
COMPILES_NOTHING = """
import os, subprocess, sys, time
started = time.time_ns()
environment = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
status = subprocess.run(sys.argv[1:], env=environment, check=False).returncode
for top in ("/usr", "/opt"):
    for folder, _, names in os.walk(top):
        for name in names:
            path = os.path.join(folder, name)
            if name.endswith(".pyc") and os.stat(path).st_mtime_ns >= started:
                print("compiled at run time:", path)
sys.exit(status)
"""
WATCH_COMPILING = ["/usr/local/bin/python3", "-c", COMPILES_NOTHING]


@pytest.mark.parametrize("path_inputs", [{}, {"comment": "off"}, {"dry-run": "true"}], ids=["update", "off", "dry"])
def test_a_run_compiles_nothing(
    image: BuiltImage,
    tmp_path: Path,
    recoupable: RecoupableStandIn,
    seeded_github: GitHubStandIn,
    path_inputs: dict[str, str],
) -> None:
    """python:3.13-slim ships no standard-library bytecode: the image must bring it for every module a run imports,
    and the venv's must still be valid after `COPY --from` (hash-based), or each run would compile them anew."""
    inputs = _action_inputs({"api-key": API_KEY, "api-url": recoupable.url, **path_inputs})
    run = run_like_a_runner(
        image,
        tmp_path,
        event_name="pull_request",
        event=PULL_REQUEST_EVENT,
        inputs=inputs,
        github=seeded_github,
        around=WATCH_COMPILING,
    )

    assert run.returncode == 0, run.log
    assert run.outputs["outcome"] == ("dry-run" if path_inputs.get("dry-run") else "created")
    assert len(seeded_github.comments("acme", "app", 42)) == (0 if path_inputs else 1)
    assert "compiled at run time" not in run.log, run.log


def test_the_probe_sees_a_module_compiled_at_run_time(image: BuiltImage) -> None:
    """The probe above can fail: importing a standard-library module the action does not use compiles it."""
    probe = _tools(
        "run", "--entrypoint", WATCH_COMPILING[0], image.tag, *WATCH_COMPILING[1:], "/opt/venv/bin/python", "-c",
        "import wave", env=image.env, timeout=RUN_TIMEOUT,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert "compiled at run time: " in probe.stdout
    assert "/wave.cpython-313.pyc" in probe.stdout, probe.stdout


PRODUCT_PROBE = """
import importlib.util, json, pkgutil
import recoup_session_action as package
from importlib.resources import files

modules = [module.name for module in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
entries = [entry.name for entry in files(package).iterdir()]
strays = [name for name in ("tests", "recoup_session_action.standins") if importlib.util.find_spec(name)]
print(json.dumps({"modules": sorted(modules), "files": sorted(entries), "strays": strays}))
"""


def test_the_image_holds_only_the_product(image: BuiltImage) -> None:
    """Every module the image can import from the package is a product module: no stand-ins, no demo, no samples;
    and nothing but the package and its dependencies' own packages (no stray top-level `tests`)."""
    package_dir = ROOT / "src" / "recoup_session_action"
    expected_modules = sorted(
        f"recoup_session_action.{path.stem}" for path in package_dir.glob("*.py") if path.stem != "__init__"
    )
    expected_files = sorted([*(path.name for path in package_dir.glob("*.py")), "py.typed", "__pycache__"])
    probe = _tools(
        "run",
        "--entrypoint",
        "/opt/venv/bin/python",
        image.tag,
        "-c",
        PRODUCT_PROBE,
        env=image.env,
        timeout=RUN_TIMEOUT,
    )
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    assert found["modules"] == expected_modules
    assert found["files"] == expected_files
    assert found["strays"] == []
    assert not any("standins" in name or "demo" in name or "sample" in name for name in found["modules"])


def test_the_demo_is_not_in_the_image_and_says_so(image: BuiltImage) -> None:
    completed = _tools("run", image.tag, "demo", env=image.env, timeout=RUN_TIMEOUT)
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert completed.stdout == ""
    assert completed.stderr.splitlines() == [
        "The demo is not part of the image: run it from a clone (see the README's quickstart)."
    ]


def test_sigterm_to_the_container_ends_the_run_within_a_second(
    image: BuiltImage, tmp_path: Path, recoupable: RecoupableStandIn, seeded_github: GitHubStandIn
) -> None:
    """A cancelled workflow run: SIGTERM to the container (its entrypoint is PID 1) while the API holds the POST."""
    import threading  # noqa: PLC0415 (only this test runs the container in the background)
    import time  # noqa: PLC0415

    from recoup_session_action.standins.recoupable import Fault  # noqa: PLC0415

    recoupable.faults.append(Fault(behaviour="hang"))
    runs: list[ActionRun] = []
    inputs = _action_inputs({"api-key": API_KEY, "api-url": recoupable.url, "comment": "off", "timeout-seconds": "60"})

    def in_background() -> None:
        runs.append(
            run_like_a_runner(
                image,
                tmp_path,
                event_name="pull_request",
                event=PULL_REQUEST_EVENT,
                inputs=inputs,
                github=seeded_github,
            )
        )

    runner = threading.Thread(target=in_background, daemon=True)
    runner.start()
    until = time.monotonic() + RUN_TIMEOUT
    while not recoupable.posts and runner.is_alive() and time.monotonic() < until:
        time.sleep(0.1)
    assert recoupable.posts, "the request never arrived"
    ps = [image.engine, "ps", "--format", "{{.ID}} {{.Image}}"]
    listed = subprocess.run(ps, env=image.env, capture_output=True, text=True, check=True).stdout.splitlines()
    [container] = [line.split()[0] for line in listed if line.split()[1].endswith(image.tag)]
    killed_at = time.monotonic()
    subprocess.run(
        [image.engine, "kill", "--signal", "TERM", container], env=image.env, capture_output=True, check=True
    )
    runner.join(timeout=30)
    elapsed = time.monotonic() - killed_at
    [run] = runs

    assert elapsed < 3, f"{elapsed:.1f}s from SIGTERM to the engine's return (the run itself must end within 1 s)"
    assert "Traceback" not in run.log
    [error] = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert "before it was cancelled (SIGTERM) after the request was sent" in error
    assert "a session may exist" in run.outputs["error"]
    assert run.outputs["outcome"] == "failed"
    assert "> [!CAUTION]" in run.summary
    assert len(recoupable.posts) == 1
