"""The extra layer over ../shared, collected only where it is present (see `shared.py`): every real payload
resolves as its manifest says, the GitHub stand-in covers GitHub's REST subset and answers in its schemas,
action.yml and the workflows validate against SchemaStore's schemas. (The stand-in fixtures add the contract
checks of every request a test makes, in `conftest.py`.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest

from recoup_session_action.context import EventFacts, RunnerEnv, apply_inputs, load_event, resolve_event
from recoup_session_action.standins.github import GitHubStandIn

from . import shared
from .rest_subset import allow_null, load_rest_subset, operations, template_of
from .test_context import assert_needs_a_branch, settings
from .test_github_standin import PAT, SHA, client, seeded_standin
from .test_metadata import ACTION, EXAMPLES, yaml_file

MANIFEST: list[dict[str, Any]] = shared.load(shared.GITHUB_FIXTURES / "manifest.json")


def _env_for(entry: dict[str, Any], payload: dict[str, Any]) -> RunnerEnv:
    recorded = entry.get("env", {})
    ref = recorded.get("GITHUB_REF") or entry.get("ref") or payload.get("ref") or ""
    if entry["event_name"] == "release":
        ref = f"refs/tags/{entry['release_tag_name']}"
    return RunnerEnv(
        event_name=entry["event_name"],
        repository=recorded.get("GITHUB_REPOSITORY", entry["repository_full_name"]),
        ref=ref,
        server_url="https://github.com",
    )


@pytest.mark.parametrize("entry", MANIFEST, ids=[entry["file"] for entry in MANIFEST])
def test_every_shared_payload_resolves_as_its_manifest_says(entry: dict[str, Any]) -> None:
    path = shared.GITHUB_FIXTURES / entry["file"]
    env = _env_for(entry, shared.load(path))
    facts = resolve_event(env, load_event(env._replace(event_path=str(path))))
    name = entry["event_name"]
    if "pr_number" in entry:
        _assert_pull_request(entry, facts, env)
    elif (name == "push" and entry["ref"].startswith("refs/tags/")) or name == "release":
        assert_needs_a_branch(facts, env)
    elif name == "issue_comment":
        _assert_issue_comment(entry, facts, env)
    elif name == "merge_group":
        target = apply_inputs(facts, settings(), env)
        assert target.branch == entry["merge_group_head_ref"].removeprefix("refs/heads/")
        assert target.pull_request is None
    else:
        target = apply_inputs(facts, settings(), env)
        assert target.repository.full_name == entry["repository_full_name"]
        assert target.branch == env.ref.removeprefix("refs/heads/")
        assert target.clone_url == entry["repository_clone_url"]
        assert target.pull_request is None


def _assert_pull_request(entry: dict[str, Any], facts: EventFacts, env: RunnerEnv) -> None:
    target = apply_inputs(facts, settings(), env)
    assert target.repository.full_name == entry["head_repo_full_name"]
    assert target.branch == entry["head_ref"]
    assert target.clone_url == entry["head_repo_clone_url"]
    assert target.pull_request is not None
    assert target.pull_request.number == entry["pr_number"]
    assert target.pull_request.is_fork is entry["head_repo_differs_from_base_repo"]


def _assert_issue_comment(entry: dict[str, Any], facts: EventFacts, env: RunnerEnv) -> None:
    if entry["issue_is_pull_request"]:
        assert facts.pull_request_to_fetch == entry["issue_number"]
        return
    target = apply_inputs(facts, settings(), env)
    assert target.branch == entry["repository_default_branch"]
    assert target.pull_request is not None
    assert target.pull_request.is_issue
    assert target.pull_request.number == entry["issue_number"]


def test_a_real_pull_request_target_from_a_fork_uses_the_forks_branch() -> None:
    path = shared.GITHUB_FIXTURES / "events/pull_request/opened.from-fork.json"
    env = RunnerEnv(event_name="pull_request_target", repository="mendersoftware/workflows", ref="refs/heads/master")
    target = apply_inputs(resolve_event(env, load_event(env._replace(event_path=str(path)))), settings(), env)
    assert target.repository.full_name == "tranchitella/workflows"
    assert target.branch == "men-4705"
    assert target.clone_url == "https://github.com/tranchitella/workflows.git"
    assert target.pull_request is not None
    assert target.pull_request.is_fork


@pytest.fixture
def standin() -> Any:
    with seeded_standin() as server:
        yield server


def test_the_github_stand_in_serves_every_operation_of_the_rest_subset(standin: GitHubStandIn) -> None:
    subset = load_rest_subset()
    repo = client(standin).get_repo("acme/app")
    issue = repo.get_issue(7)
    comment = issue.create_comment("hello")
    comment.edit("edited")
    issue.get_comment(comment.id).body  # noqa: B018
    comment.create_reaction("eyes")
    issue.get_comment(comment.id).delete()
    list(issue.get_comments())
    repo.get_pull(7).title  # noqa: B018
    list(repo.get_pulls(state="open", head="forker:feature"))
    list(repo.get_commit(SHA).get_pulls())
    repo.get_collaborator_permission("octocat")
    client(standin, PAT).get_user().login  # noqa: B018

    called = {(r.method, template_of(r, "", subset)) for r in standin.requests}

    assert called == {(method, path) for method, _, path in operations(subset)}


def test_comment_json_matches_the_subset_schema(standin: GitHubStandIn) -> None:
    subset = load_rest_subset()
    standin.add_comment("acme", "app", 7, "hi", login="github-actions[bot]", user_type="Bot")
    schema = {"$ref": "#/components/schemas/issue-comment", "components": allow_null(subset["components"])}

    for comment in standin.comments("acme", "app", 7):
        jsonschema.validate(comment, schema)


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = shared.load(shared.GITHUB_FIXTURES / "schemas" / name)
    return schema


def test_action_yml_validates_against_the_schemastore_schema() -> None:
    schema = _schema("github-action.json")
    jsonschema.validate(ACTION, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**ACTION, "runs": {"using": "docker"}}, schema)


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_each_example_workflow_validates_against_the_schemastore_schema(path: Path) -> None:
    schema = _schema("github-workflow.json")
    workflow = yaml_file(path)
    jsonschema.validate(workflow, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**workflow, "on": 42}, schema)
