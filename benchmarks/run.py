"""Where a run's time goes: wall time of the console script per path against its stack floor (and, for
reference, its standard-library floor), import time, requests and connections per run, and the size of what
users install.

    .venv/bin/python benchmarks/run.py [--runs 10] [--json] [--image]

With `--image` it also builds the image, reports its runtime layer over the base, and measures the wall times
again inside it (its Python, its installed packages), and inside a copy of the image whose whole standard
library is compiled: the limit of what precompiling can buy.

Both APIs are loopback stand-ins started in this process. Each figure is a median over `--runs` runs, with
our command, both floors and (for reference) ours without its process settings interleaved so that machine
noise hits all alike (the two images take turns); ratios are of medians measured in the same run. The stack
floor (`stack_floor.py`) does the same work with pydantic, httpx and PyGithub and nothing else, under the same
process settings as ours, so ours over it is what the action adds to the libraries it is built on; the floor
(`floor.py`) does it with the standard library only.

Targets: ours at most 1.10x the stack floor on every path, on this machine and in the image; in the image, each
path at most 1.15x of the fully compiled copy; the runtime layer at most 47 MB over the base.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from recoup_session_action.standins.github import DEMO_TOKEN, GitHubStandIn
from recoup_session_action.standins.recoupable import DEMO_API_KEY, RecoupableStandIn
from recoup_session_action.standins.world import OWNER, REPO, sample_world

ROOT = Path(__file__).resolve().parents[1]
FLOOR = Path(__file__).with_name("floor.py")
STACK_FLOOR = Path(__file__).with_name("stack_floor.py")
RUNTIME_VENV = ROOT / ".bench-venv"
CONTAINER_TOOLS = ROOT / "scripts" / "container-tools.sh"
PATHS: dict[str, dict[str, str]] = {
    "update": {},
    "comment-off": {"INPUT_COMMENT": "off"},
    "dry-run": {"INPUT_DRY-RUN": "true"},
}
MAX_OVER_STACK = 1.10
MAX_OVER_FULLY_COMPILED = 1.15
MAX_RUNTIME_LAYER_BYTES = 47 * 1000 * 1000
# The console script's own work without its process settings (`entry.console`: the collector's threshold, the
# objects frozen at exit): `main` called directly, with the collector at CPython's defaults.
DEFAULT_COLLECTOR = "import sys; from recoup_session_action.entry import main; sys.exit(main())"
# The copy of the image with the whole standard library compiled, in the same way as the image's own bytecode.
FULLY_COMPILED = """\
FROM {tag}
RUN python3 -c "import compileall, sys, sysconfig; from py_compile import PycInvalidationMode as M; \\
sys.exit(not compileall.compile_dir(sysconfig.get_path('stdlib'), quiet=1, invalidation_mode=M.UNCHECKED_HASH))"
"""


@dataclass(frozen=True)
class Runtime:
    """Where the measured commands run: the Python and the console script installed beside it."""

    python: str
    console_script: str


HOST = Runtime(str(RUNTIME_VENV / "bin" / "python"), str(RUNTIME_VENV / "bin" / "recoup-session-action"))
IMAGE = Runtime("/opt/venv/bin/python", "/opt/venv/bin/recoup-session-action")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="runs per figure (at least 10)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--image", action="store_true", help="also build the image, report its size, time it")
    parser.add_argument("--inside-image", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    runs = max(10, args.runs)
    if args.inside_image:
        print(json.dumps(measure(runs, IMAGE)))
        return 0
    prepare_runtime_venv()
    results = summarize(measure(runs, HOST))
    results["import_time"] = import_time()
    results["installed_runtime_bytes"] = installed_runtime_bytes()
    if args.image:
        results["image"] = image(runs)
    print(json.dumps(results, indent=2) if args.json else table(results))
    return 0


def prepare_runtime_venv() -> None:
    """A venv with only what the image holds (the hash-locked runtime dependencies and the package), so that
    development tools installed beside httpx (click, rich) do not slow its import here as they would not there."""
    lock = ROOT / "requirements.lock"
    stamp = RUNTIME_VENV / "lock.sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(RUNTIME_VENV)], check=True)
        _pip("install", "--require-hashes", "-r", str(lock))
        stamp.write_text(digest)
    _pip("install", "--no-deps", "--no-build-isolation", "--force-reinstall", str(ROOT))


def _pip(*args: str) -> None:
    command = [HOST.python, "-m", "pip", "--quiet", *args]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"pip {' '.join(args)} failed:\n{completed.stdout}{completed.stderr}")


def measure(runs: int, runtime: Runtime) -> dict[str, Any]:
    with sample_world() as world, tempfile.TemporaryDirectory(prefix="recoup-bench-") as folder:
        api, github = world.api, world.github
        base_env = _runner_env(Path(folder), world.event_path, api.url, github.api_url)
        commands: dict[str, tuple[list[str], dict[str, str]]] = {}
        for name, extra in PATHS.items():
            env = {**base_env, **extra}
            commands[name] = ([runtime.console_script], env)
            commands[f"{name} floor"] = ([runtime.python, str(FLOOR), name], env)
            commands[f"{name} stack floor"] = ([runtime.python, str(STACK_FLOOR), name], env)
            commands[f"{name} default collector"] = ([runtime.python, "-c", DEFAULT_COLLECTOR], env)
        commands["python -c pass"] = ([runtime.python, "-c", "pass"], base_env)
        for command, env in commands.values():
            _run(command, env)
        timings: dict[str, list[float]] = {key: [] for key in commands}
        for _ in range(runs):
            for key, (command, env) in commands.items():
                timings[key].append(_run(command, env))
        traffic = {name: _traffic(api, github, *commands[name]) for name in PATHS}
    return {"timings": timings, "traffic": traffic}


def summarize(measured: Mapping[str, Any]) -> dict[str, Any]:
    timings: dict[str, list[float]] = measured["timings"]
    medians = {name: statistics.median(values) * 1000 for name, values in timings.items()}
    return {
        "runs": min(len(values) for values in timings.values()),
        "median_ms": medians,
        "ratio_to_stack_floor": {name: medians[name] / medians[f"{name} stack floor"] for name in PATHS},
        "ratio_to_floor": {name: medians[name] / medians[f"{name} floor"] for name in PATHS},
        "stack_ratio_to_floor": {name: medians[f"{name} stack floor"] / medians[f"{name} floor"] for name in PATHS},
        "ratio_to_default_collector": {name: medians[name] / medians[f"{name} default collector"] for name in PATHS},
        "max_ratio_to_stack_floor": MAX_OVER_STACK,
        "traffic": measured["traffic"],
    }


def _runner_env(folder: Path, event_path: str, api_url: str, github_api_url: str) -> dict[str, str]:
    output, summary = folder / "set_output", folder / "step_summary"
    output.touch()
    summary.touch()
    # The image sets PYTHONDONTWRITEBYTECODE: a run there can never reuse bytecode an earlier run compiled, so
    # neither may the runs measured there (the warm-up run would otherwise hide every module left uncompiled).
    inherited = {name: os.environ[name] for name in ("PYTHONDONTWRITEBYTECODE",) if name in os.environ}
    return {
        **inherited,
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": event_path,
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_REPOSITORY": f"{OWNER}/{REPO}",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_API_URL": github_api_url,
        "GITHUB_RUN_ID": "1",
        "INPUT_API-KEY": DEMO_API_KEY,
        "INPUT_API-URL": api_url,
        "INPUT_GITHUB-TOKEN": DEMO_TOKEN,
    }


def _run(command: list[str], env: Mapping[str, str]) -> float:
    start = time.perf_counter()
    completed = subprocess.run(command, env=dict(env), capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stdout.decode()}{completed.stderr.decode()}")
    return elapsed


def _traffic(
    api: RecoupableStandIn, github: GitHubStandIn, command: list[str], env: Mapping[str, str]
) -> dict[str, Any]:
    api.requests.clear()
    github.requests.clear()
    connections_before = (api.connections, github.connections)
    _run(command, env)
    calls = [(r.method, r.path) for r in api.requests] + [(r.method, r.path) for r in github.requests]
    endpoints = Counter(f"{method} {_template(path)}" for method, path in calls)
    return {
        "recoupable_requests": len(api.requests),
        "github_requests": len(github.requests),
        "by_endpoint": dict(endpoints),
        "connections": {
            "recoupable": api.connections - connections_before[0],
            "github": github.connections - connections_before[1],
        },
    }


def _template(path: str) -> str:
    without_query = path.split("?", maxsplit=1)[0]
    generic = re.sub(r"/api/sessions/[^/]+", "/api/sessions/{id}", without_query)
    return re.sub(r"/\d+(?=/|$)", "/{n}", generic.replace(f"/{OWNER}/{REPO}/", "/{owner}/{repo}/"))


def import_time() -> dict[str, Any]:
    """`python -X importtime` of the entry module and everything the action path imports before running."""
    code = "import recoup_session_action.entry, recoup_session_action.action"
    command = [HOST.python, "-X", "importtime", "-c", code]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    rows = []
    for line in completed.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if match:
            rows.append((match.group(4), int(match.group(1)), int(match.group(2)), len(match.group(3))))
    total_us = sum(self_us for _, self_us, _, _ in rows)
    top = sorted(rows, key=lambda row: row[1], reverse=True)[:10]
    return {
        "total_ms": total_us / 1000,
        "top_self_ms": {name: self_us / 1000 for name, self_us, _, _ in top},
    }


def installed_runtime_bytes() -> dict[str, int]:
    """Size on disk of each runtime dependency in the lock file (setuptools is removed from the image)."""
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    names = [name for name in re.findall(r"^([A-Za-z0-9_.-]+)==", lock, flags=re.MULTILINE) if name != "setuptools"]
    site_packages = next((RUNTIME_VENV / "lib").glob("python3*/site-packages"))
    sizes = {}
    for name in names:
        distribution = next(iter(metadata.distributions(name=name, path=[str(site_packages)])))
        paths = [Path(file.locate()) for file in distribution.files or []]
        sizes[name] = sum(path.stat().st_size for path in paths if path.is_file())
    return dict(sorted(sizes.items(), key=lambda item: -item[1]))


def image(runs: int) -> dict[str, Any]:
    """The image's runtime layer, and the wall times measured again inside it and inside its fully compiled copy
    (this script run there with `--inside-image`, the benchmarks folder mounted, the stand-ins on the container's
    loopback). The two images take turns (A B B A), half the runs at a time, so that drift on the machine hits both."""
    tag = f"recoup-session-action:bench-{uuid.uuid4().hex[:8]}"
    compiled_tag = f"{tag}-stdlib"
    try:
        built = _tools("build", str(ROOT), tag)
        if built.returncode != 0:
            return {"error": f"no container builder could build the image here:\n{built.stderr[-2000:]}"}
        with tempfile.TemporaryDirectory(prefix="recoup-bench-") as context:
            (Path(context) / "Dockerfile").write_text(FULLY_COMPILED.format(tag=tag), encoding="utf-8")
            compiled = _tools("build", context, compiled_tag)
        if compiled.returncode != 0:
            raise SystemExit(f"building the fully compiled copy failed:\n{compiled.stderr[-2000:]}")
        turns: dict[str, list[dict[str, Any]]] = {tag: [], compiled_tag: []}
        for image_tag in (tag, compiled_tag, compiled_tag, tag):  # ABBA: a steady drift hits both alike
            turns[image_tag].append(_inside(image_tag, (runs + 1) // 2))
    finally:
        for image_tag in (compiled_tag, tag):
            _tools("rmi", image_tag)
    sizes = dict(line.split("=", 1) for line in built.stdout.splitlines() if "=" in line)
    layer = int(sizes["image_bytes"]) - int(sizes["base_bytes"])
    ours, fully = (summarize(_merged(turns[image_tag])) for image_tag in (tag, compiled_tag))
    ours["ratio_to_fully_compiled"] = {name: ours["median_ms"][name] / fully["median_ms"][name] for name in PATHS}
    ours["max_ratio_to_fully_compiled"] = MAX_OVER_FULLY_COMPILED
    return {
        "image_bytes": int(sizes["image_bytes"]),
        "base_bytes": int(sizes["base_bytes"]),
        "runtime_layer_bytes": layer,
        "max_runtime_layer_bytes": MAX_RUNTIME_LAYER_BYTES,
        "build_seconds": float(sizes["build_seconds"]),
        "wall_time": ours,
        "fully_compiled_wall_time": fully,
    }


def _tools(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CONTAINER_TOOLS), *args], capture_output=True, text=True, check=False)


def _inside(tag: str, runs: int) -> dict[str, Any]:
    """This script run inside the image. The stand-ins it starts are not in the image, so the source tree is
    mounted and put on this script's PYTHONPATH; the commands it measures get a runner's environment without it,
    so they run the image's installed package."""
    inside = _tools(
        "run", "--volume", f"{FLOOR.parent}:/benchmarks:ro", "--volume", f"{ROOT / 'src'}:/src:ro",
        "--env", "PYTHONPATH=/src", "--entrypoint", IMAGE.python, tag,
        "/benchmarks/run.py", "--inside-image", "--runs", str(runs),
    )  # fmt: skip
    if inside.returncode != 0:
        raise SystemExit(f"the benchmark failed inside {tag}:\n{inside.stdout}{inside.stderr}")
    measured: dict[str, Any] = json.loads(inside.stdout)
    return measured


def _merged(turns: list[dict[str, Any]]) -> dict[str, Any]:
    timings: dict[str, list[float]] = {}
    for turn in turns:
        for name, values in turn["timings"].items():
            timings.setdefault(name, []).extend(values)
    return {"timings": timings, "traffic": turns[-1]["traffic"]}


def table(results: dict[str, Any]) -> str:
    lines = wall_time_table(results)
    image_results = results.get("image", {})
    if "error" in image_results:
        lines += ["", f"Image: not measured: {image_results['error']}"]
    elif image_results:
        layer, limit = image_results["runtime_layer_bytes"], image_results["max_runtime_layer_bytes"]
        lines += [
            "",
            f"Image: {image_results['image_bytes'] / 1e6:.1f} MB, base {image_results['base_bytes'] / 1e6:.1f} MB,"
            f" runtime layer {layer / 1e6:.1f} MB (target at most {limit / 1e6:.0f} MB: {_verdict(layer <= limit)});"
            f" built in {image_results['build_seconds']:.1f} s",
        ]
    lines += ["", "Requests and connections per run"]
    for name, traffic in results["traffic"].items():
        endpoints = ", ".join(f"{endpoint} x{count}" for endpoint, count in traffic["by_endpoint"].items()) or "none"
        connections = traffic["connections"]
        lines.append(
            f"  {name:<14}recoupable {traffic['recoupable_requests']}, github {traffic['github_requests']}"
            f" (connections: {connections['recoupable']} + {connections['github']}): {endpoints}"
        )
    imports = results["import_time"]
    lines += ["", f"Import time of the action's modules: {imports['total_ms']:.1f} ms; top 10 by self time (ms)"]
    lines += [f"  {name:<48}{ms:>7.1f}" for name, ms in imports["top_self_ms"].items()]
    sizes = results["installed_runtime_bytes"]
    lines += ["", f"Installed runtime dependencies: {sum(sizes.values()) / 1e6:.1f} MB"]
    lines += [f"  {name:<24}{size / 1e6:>7.1f} MB" for name, size in list(sizes.items())[:8]]
    return "\n".join(lines)


def wall_time_table(results: dict[str, Any]) -> list[str]:
    """One row per path and place: ours, the stack floor, the fully compiled image, the floor for reference."""
    places = [("host", results)]
    image_results = results.get("image", {})
    if "wall_time" in image_results:
        places += [("image", image_results["wall_time"]), ("image, all", image_results["fully_compiled_wall_time"])]
    lines = [
        f"Wall time, median of {results['runs']} runs (ms). host: this machine's Python {sys.version.split()[0]};"
        " image: inside the image; image, all: inside a copy of it with the whole standard library compiled.",
        f"Targets: ours/stack at most {MAX_OVER_STACK:.2f}x (host and image);"
        f" image/all at most {MAX_OVER_FULLY_COMPILED:.2f}x. The floor (standard library only) is a reference.",
        "",
        f"  {'path':<16}{'where':<12}{'ours':>8}{'stack':>8}{'ours/stack':>12}"
        f"{'image/all':>11}{'floor':>8}{'ours/floor':>12}",
    ]
    for name in PATHS:
        for where, place in places:
            medians = place["median_ms"]
            over_stack = place["ratio_to_stack_floor"][name]
            stack_cell = f"{over_stack:.2f}x {_mark(over_stack <= MAX_OVER_STACK)}"
            over_full = place.get("ratio_to_fully_compiled", {}).get(name)
            full_cell = "" if over_full is None else f"{over_full:.2f}x {_mark(over_full <= MAX_OVER_FULLY_COMPILED)}"
            over_floor = place["ratio_to_floor"][name]
            lines.append(
                f"  {name:<16}{where:<12}{medians[name]:>8.1f}{medians[name + ' stack floor']:>8.1f}"
                f"{stack_cell:>12}{full_cell:>11}{medians[name + ' floor']:>8.1f}{over_floor:>11.2f}x"
            )
    for where, place in places:
        lines.append(f"  {'python -c pass':<16}{where:<12}{place['median_ms']['python -c pass']:>8.1f}")
    lines += [
        "",
        "The console script's process settings (entry.console: the collector's threshold, objects frozen at exit):",
        "ours against the same run with the collector at CPython's defaults (ms).",
    ]
    for name in PATHS:
        for where, place in places:
            medians = place["median_ms"]
            lines.append(
                f"  {name:<16}{where:<12}{medians[name]:>8.1f}{medians[name + ' default collector']:>8.1f}"
                f"{place['ratio_to_default_collector'][name]:>8.2f}x"
            )
    return lines


def _mark(met: bool) -> str:
    return "ok" if met else "!!"


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
