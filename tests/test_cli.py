"""The console script outside a runner (a git checkout, RECOUP_API_KEY), `--help` and the demo."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from recoup_session_action.standins.recoupable import RecoupableStandIn

from .conftest import API_KEY, CONSOLE_SCRIPT, git_checkout


def _cli(cwd: Path, *args: str, key: str = API_KEY) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd), "RECOUP_API_KEY": key}
    return subprocess.run([CONSOLE_SCRIPT, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def test_cli_reads_the_checkout_and_prints_json(tmp_path: Path) -> None:
    repo = git_checkout(tmp_path, "https://x-access-token:ghp_secret@github.com/acme/tool.git", "topic/cli")
    with RecoupableStandIn() as api:
        result = _cli(repo, "--api-url", api.url, "--json")
        [post] = api.posts
    assert result.returncode == 0, result.stderr
    assert post.json() == {
        "repoOwner": "acme",
        "repoName": "tool",
        "branch": "topic/cli",
        "cloneUrl": "https://github.com/acme/tool.git",
        "sandboxType": "vercel",
    }
    outputs = json.loads(result.stdout)
    assert outputs["outcome"] == "created"
    assert outputs["session-url"].startswith("https://chat.recoupable.com/sessions/")
    assert "ghp_secret" not in result.stdout + result.stderr
    assert API_KEY not in result.stdout + result.stderr


def test_cli_prints_a_readable_result_and_flags_override(tmp_path: Path) -> None:
    repo = git_checkout(tmp_path, "git@github.com:acme/tool.git", "main")
    with RecoupableStandIn() as api:
        result = _cli(repo, "--api-url", api.url, "--branch", "release/2", "--title", "From the terminal")
        body = api.posts[0].json()
    assert result.returncode == 0, result.stderr
    assert (body["branch"], body["title"], body["cloneUrl"]) == (
        "release/2",
        "From the terminal",
        "git@github.com:acme/tool.git",
    )
    assert "session-url" in result.stdout
    assert "Session " in result.stderr


def test_cli_outside_a_checkout_says_what_to_pass(tmp_path: Path) -> None:
    result = _cli(tmp_path, "--dry-run")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "pass --repository and --clone-url" in result.stderr
    assert "'repository' input" not in result.stderr
    assert "Traceback" not in result.stderr


def test_help_documents_every_input_and_the_demo(tmp_path: Path) -> None:
    result = _cli(tmp_path, "--help")
    assert result.returncode == 0
    for flag in (
        "--api-key",
        "--repository",
        "--branch",
        "--new-branch",
        "--dry-run",
        "--json",
        "demo",
        "RECOUP_API_KEY",
    ):
        assert flag in result.stdout


def test_demo_shows_a_pull_requests_life_created_reused_archived(tmp_path: Path) -> None:
    result = _cli(tmp_path, "demo", key="")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for step in (1, 2, 3):
        assert f"Run {step}: exit code 0" in out
        assert f"Run {step}: the pull request's comments (1):" in out
    assert [line.split()[-1] for line in out.splitlines() if line.startswith("    outcome ")] == [
        "created",
        "reused",
        "archived",
    ]
    assert len({line.split()[-1] for line in out.splitlines() if line.startswith("    session-id ")}) == 1
    assert "https://chat.recoupable.com/sessions/" in out
    assert "Comment created" in out
    assert "Comment updated" in out
    assert "The pull request was closed: the session was archived." in out
    assert "Requests to the Recoupable API: 3 (POST /api/sessions, GET /api/sessions/" in out
    assert ", PATCH /api/sessions/" in out
