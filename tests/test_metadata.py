"""action.yml, the README, the example workflows, the Dockerfile and the version agree with the code
(`test_shared_contracts.py` also validates action.yml and the workflows against their schemas in ../shared)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from recoup_session_action import __version__
from recoup_session_action.entry import build_parser
from recoup_session_action.inputs import BOOLEAN_INPUTS, INPUT_SPECS
from recoup_session_action.outcome import OUTPUTS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.yml"))


def yaml_file(path: Path) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as True; GitHub reads it as the string "on".
    data: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {("on" if key is True else key): value for key, value in data.items()}


ACTION = yaml_file(ROOT / "action.yml")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _readme_table(heading: str) -> list[list[str]]:
    section = README.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def test_action_yml_runs_the_dockerfile_and_is_described() -> None:
    assert ACTION["runs"] == {"using": "docker", "image": "Dockerfile"}
    assert {"name", "description", "branding"} <= ACTION.keys()


def test_action_inputs_match_the_code_and_are_described() -> None:
    inputs = ACTION["inputs"]
    assert list(inputs) == [spec.name for spec in INPUT_SPECS]
    for spec in INPUT_SPECS:
        declared = inputs[spec.name]
        assert declared["description"] == spec.description, spec.name
        assert declared.get("default", "") == spec.action_default, spec.name
    assert inputs["api-key"]["required"] is True


def test_the_cli_flags_and_the_boolean_inputs_follow_the_input_specs() -> None:
    """One place to add an input: each spec is a flag with the spec's help, a boolean (a bare flag) exactly when
    action.yml gives it a boolean default, and there is no flag that names no input."""
    booleans = {name for name, declared in ACTION["inputs"].items() if declared.get("default") in {"true", "false"}}
    assert booleans == BOOLEAN_INPUTS
    flags = {action.option_strings[-1]: action for action in build_parser()._actions if action.option_strings}
    assert set(flags) - {"--help", "--version", "--json", "--verbose"} == {f"--{spec.name}" for spec in INPUT_SPECS}
    for spec in INPUT_SPECS:
        flag = flags[f"--{spec.name}"]
        assert flag.help == spec.flag_help, spec.name
        assert (flag.nargs == 0) is (spec.name in BOOLEAN_INPUTS), spec.name


def test_action_outputs_match_the_code_and_are_described() -> None:
    assert {name: output["description"] for name, output in ACTION["outputs"].items()} == OUTPUTS


def test_readme_inputs_table_matches_action_yml_exactly() -> None:
    expected = []
    for name, declared in ACTION["inputs"].items():
        default = (
            f"`{declared['default']}`" if declared.get("default") else "required" if declared.get("required") else ""
        )
        expected.append([f"`{name}`", default, declared["description"]])
    assert _readme_table("Inputs") == expected


def test_readme_outputs_table_matches_action_yml_exactly() -> None:
    expected = [[f"`{name}`", declared["description"]] for name, declared in ACTION["outputs"].items()]
    assert _readme_table("Outputs") == expected


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_each_example_workflow_is_in_the_readme(path: Path) -> None:
    assert path.read_text(encoding="utf-8").rstrip("\n") in README


def test_ci_runs_the_readmes_commands_and_its_integration_job_comments() -> None:
    section = README.split("\n## Try it locally, run the tests\n", 1)[1].split("\n## ", 1)[0]
    commands = section.split("```sh\n", 1)[1].split("```", 1)[0].strip()
    ci = yaml_file(ROOT / ".github" / "workflows" / "ci.yml")
    assert commands in [step.get("run", "").strip() for step in ci["jobs"]["test"]["steps"]]
    [action] = [step for step in ci["jobs"]["integration"]["steps"] if step.get("uses", "").startswith("./")]
    assert action["with"]["comment"] == "update"
    assert {"github-token", "pr-number"} <= action["with"].keys()
    assert {"SSL_CERT_FILE", "HTTPS_PROXY"} <= action["env"].keys()


def test_versions_agree() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["version"] == __version__
    # A branch builds the Dockerfile; a release commit (scripts/release.py pin) runs one image, fixed by digest,
    # never a tag that can move.
    image = ACTION["runs"]["image"]
    assert image == "Dockerfile" or re.fullmatch(r"docker://ghcr\.io/[a-z0-9._/-]+@sha256:[0-9a-f]{64}", image), image


def test_dockerfile_follows_the_runner_contract() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    instructions = [
        line.split()[0] for line in lines if line and not line.startswith("#") and line.split()[0].isupper()
    ]
    assert re.fullmatch(r"FROM python:3\.\d+-slim", next(line for line in lines if line.startswith("FROM")))
    assert "USER" not in instructions
    assert "WORKDIR" not in instructions
    [entrypoint] = [line for line in lines if line.startswith("ENTRYPOINT")]
    assert json.loads(entrypoint.removeprefix("ENTRYPOINT"))[0].startswith("/")
    assert "--require-hashes" in "\n".join(lines)


def test_every_row_of_the_what_happens_table_names_existing_tests() -> None:
    section = README.split("\n## What happens when ...\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| when")]
    defined = {
        match
        for path in (ROOT / "tests").glob("test_*.py")
        for match in re.findall(r"^def (test_\w+)\(", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    }
    assert len(rows) >= 25
    for row in rows:
        named = re.findall(r"`(test_\w+)`", row.rsplit(" | ", 1)[1])
        assert named, row
        assert set(named) <= defined, set(named) - defined
