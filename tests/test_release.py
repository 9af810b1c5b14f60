"""The release: scripts/release.py (run by .github/workflows/release.yml) checks the version, names the image and
the tags to move, proves the pushed image can be pulled without credentials, and pins action.yml by digest."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "release.py"
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = "ghcr.io/recoupable/recoup-session-action"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("release_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


release = _load()


def _release(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, check=False, timeout=60
    )


def _github_output(text: str) -> dict[str, str]:
    """Read $GITHUB_OUTPUT as the runner does: `name=value` lines and `name<<DELIMITER` blocks."""
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        name, marker, delimiter = line.partition("<<")
        if marker and "=" not in name:
            block = []
            for value_line in lines:
                if value_line == delimiter:
                    break
                block.append(value_line)
            values[name] = "\n".join(block)
        else:
            key, _, value = line.partition("=")
            values[key] = value
    return values


def test_plan_names_the_lower_case_image_its_labels_and_the_tags_to_move() -> None:
    completed = _release(
        "plan", "--tag", f"v{VERSION}", "--repository", "Recoupable/Recoup-Session-Action",
        "--revision", "0123abcd", "--server-url", "https://github.com",
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr
    outputs = _github_output(completed.stdout)
    assert outputs["version"] == VERSION
    assert outputs["image"] == IMAGE
    assert outputs["tags"].split() == [f"v{VERSION}", f"v{VERSION.split('.')[0]}"]
    labels = dict(line.split("=", 1) for line in outputs["labels"].splitlines())
    assert labels["org.opencontainers.image.source"] == "https://github.com/Recoupable/Recoup-Session-Action"
    assert labels["org.opencontainers.image.revision"] == "0123abcd"
    assert labels["org.opencontainers.image.version"] == VERSION
    assert labels["org.opencontainers.image.licenses"] == "MIT"


def test_a_tag_that_does_not_match_pyproject_stops_the_release_with_one_line() -> None:
    completed = _release("plan", "--tag", "v9.8.7", "--repository", "acme/app")

    assert completed.returncode == 1
    assert completed.stdout == ""
    [line] = completed.stderr.splitlines()
    assert line.startswith("::error title=Release stopped::tag v9.8.7 does not match pyproject.toml's version")
    assert f"{VERSION}" in line
    assert 'set version = "9.8.7"' in line


@pytest.mark.parametrize("tag", ["v1.2", "1.2.3", "v01.2.3", "v1.2.3-rc.1", "v1.2.3\n"])
def test_only_release_tags_are_released(tag: str) -> None:
    with pytest.raises(release.ReleaseError, match="is not a release tag"):
        release.plan(tag, "acme/app", "0123abcd", "https://github.com")


def test_plan_reads_the_version_of_the_tree_it_releases(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "2.0.1"\nlicense = "MIT"\ndescription = "d"\n', encoding="utf-8"
    )
    planned: Any = release.plan("v2.0.1", "acme/app", "0123abcd", "https://github.com", root=tmp_path)
    assert planned.tags == ("v2.0.1", "v2")
    assert planned.image == "ghcr.io/acme/app"


def test_pin_points_action_yml_at_the_image_by_digest_and_changes_nothing_else(tmp_path: Path) -> None:
    action = tmp_path / "action.yml"
    original = (ROOT / "action.yml").read_text(encoding="utf-8")
    action.write_text(original, encoding="utf-8")

    completed = _release("pin", "--image", IMAGE, "--digest", DIGEST, "--action", str(action))

    assert completed.returncode == 0, completed.stderr
    pinned = action.read_text(encoding="utf-8")
    assert yaml.safe_load(pinned)["runs"] == {"using": "docker", "image": f"docker://{IMAGE}@{DIGEST}"}
    changed = [(a, b) for a, b in zip(original.splitlines(), pinned.splitlines(), strict=True) if a != b]
    assert changed == [("  image: Dockerfile", f"  image: docker://{IMAGE}@{DIGEST}")]


@pytest.mark.parametrize(
    ("image", "digest", "message"),
    [
        (IMAGE, "sha256:abc", "is not sha256:<64 hex digits>"),
        (IMAGE, f"{IMAGE}:0.1.0", "is not sha256:<64 hex digits>"),
        ("ghcr.io/Recoupable/app", DIGEST, "is not a lower-case ghcr.io/owner/name"),
        ("docker.io/acme/app", DIGEST, "is not a lower-case ghcr.io/owner/name"),
    ],
)
def test_pin_refuses_anything_but_a_ghcr_image_and_a_sha256_digest(image: str, digest: str, message: str) -> None:
    with pytest.raises(release.ReleaseError, match=message):
        release.pin((ROOT / "action.yml").read_text(encoding="utf-8"), image, digest)


def test_pin_refuses_an_action_yml_that_is_already_pinned() -> None:
    pinned = release.pin((ROOT / "action.yml").read_text(encoding="utf-8"), IMAGE, DIGEST)
    with pytest.raises(release.ReleaseError, match="exactly one `  image: Dockerfile` line"):
        release.pin(pinned, IMAGE, DIGEST)


def _fake_docker(tmp_path: Path, exit_code: int) -> Path:
    """A `docker` that records its arguments and the Docker config it was given, and exits as told."""
    docker = tmp_path / "docker"
    record = tmp_path / "record"
    docker.write_text(
        "#!/bin/sh\n"
        f'{{ echo "$*"; echo "config=$DOCKER_CONFIG"; ls -A "$DOCKER_CONFIG"; }} > {record}\n'
        f"exit {exit_code}\n",
        encoding="utf-8",
    )
    docker.chmod(0o755)
    return docker


def test_verify_public_pulls_by_digest_with_no_credentials(tmp_path: Path) -> None:
    docker = _fake_docker(tmp_path, 0)
    home_config = tmp_path / "logged-in"
    home_config.mkdir()
    (home_config / "config.json").write_text('{"auths": {"ghcr.io": {"auth": "secret"}}}', encoding="utf-8")

    completed = _release(
        "verify-public", "--reference", f"{IMAGE}@{DIGEST}", "--docker", str(docker),
        env={**os.environ, "DOCKER_CONFIG": str(home_config)},
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr
    arguments, config, *listing = (tmp_path / "record").read_text(encoding="utf-8").splitlines()
    assert arguments == f"pull {IMAGE}@{DIGEST}"
    assert config != f"config={home_config}"
    assert listing == []  # an empty Docker config: no login, as on a user's runner


def test_a_private_image_stops_the_release_saying_how_to_make_it_public(tmp_path: Path) -> None:
    docker = _fake_docker(tmp_path, 1)

    completed = _release("verify-public", "--reference", f"{IMAGE}@{DIGEST}", "--docker", str(docker))

    assert completed.returncode == 1
    [line] = completed.stderr.splitlines()
    assert line.startswith(f"::error title=Release stopped::Could not pull {IMAGE}@{DIGEST} without credentials")
    assert "https://github.com/orgs/recoupable/packages/container/recoup-session-action/settings" in line
    assert "'Change visibility' to Public, then re-run this workflow. No tag was moved." in line


def test_the_workflow_checks_the_pull_before_it_pins_or_moves_any_tag() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    [job] = workflow["jobs"].values()
    steps = job["steps"]
    runs = [step.get("run", "") for step in steps]
    plan = next(i for i, run in enumerate(runs) if "scripts/release.py plan" in run)
    build = next(i for i, step in enumerate(steps) if step.get("id") == "build")
    verify = next(i for i, run in enumerate(runs) if "scripts/release.py verify-public" in run)
    publish = next(i for i, run in enumerate(runs) if "scripts/release.py pin" in run)
    assert plan < build < verify < publish
    assert not any("git tag" in run or "git push" in run for run in runs[:publish])
    assert "${{ steps.build.outputs.digest }}" in steps[verify]["env"]["REFERENCE"]
    assert steps[publish]["env"]["DIGEST"] == "${{ steps.build.outputs.digest }}"
    assert steps[build]["with"]["sbom"] is True
    assert steps[build]["with"]["provenance"] == "mode=max"
    assert steps[build]["with"]["labels"] == "${{ steps.plan.outputs.labels }}"
    assert workflow["permissions"] == {}
    for step in steps:
        if "uses" in step:
            assert len(step["uses"].split("@", 1)[1].split()[0]) == 40, f"not pinned by SHA: {step['uses']}"
