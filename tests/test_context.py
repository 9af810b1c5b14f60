"""Context resolution over every real payload in ../shared (read in place) and over payloads we write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from recoup_session_action.context import (
    EventFacts,
    EventPayload,
    RunnerEnv,
    apply_inputs,
    load_event,
    resolve_event,
)
from recoup_session_action.errors import ContextError
from recoup_session_action.inputs import Settings, parse_settings

from .conftest import FIXTURES, shared_file


def _manifest() -> list[dict[str, Any]]:
    path = FIXTURES / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


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


def _settings(**inputs: str) -> Settings:
    return parse_settings({"api-key": "k", **inputs})


MANIFEST = _manifest()


@pytest.mark.skipif(not MANIFEST, reason="../shared/fixtures/github/manifest.json is absent")
@pytest.mark.parametrize("entry", MANIFEST, ids=[entry["file"] for entry in MANIFEST])
def test_every_shared_payload_resolves_as_its_manifest_says(entry: dict[str, Any]) -> None:
    path = shared_file(FIXTURES / entry["file"])
    payload = json.loads(path.read_text(encoding="utf-8"))
    env = _env_for(entry, payload)
    facts = resolve_event(env, load_event(str(path)))
    name = entry["event_name"]
    if "pr_number" in entry:
        _assert_pull_request(entry, facts, env)
    elif (name == "push" and entry["ref"].startswith("refs/tags/")) or name == "release":
        assert facts.branch is None
        with pytest.raises(ContextError, match="set the 'branch' input or new-branch: true"):
            apply_inputs(facts, _settings(), env)
        assert apply_inputs(facts, _settings(branch="main"), env).branch == "main"
        assert apply_inputs(facts, _settings(**{"new-branch": "true"}), env).branch is None
    elif name == "issue_comment":
        _assert_issue_comment(entry, facts, env)
    elif name == "merge_group":
        target = apply_inputs(facts, _settings(), env)
        assert target.branch == entry["merge_group_head_ref"].removeprefix("refs/heads/")
        assert target.pull_request is None
    else:
        target = apply_inputs(facts, _settings(), env)
        assert target.repository.full_name == entry["repository_full_name"]
        assert target.branch == env.ref.removeprefix("refs/heads/")
        assert target.clone_url == entry["repository_clone_url"]
        assert target.pull_request is None


def _assert_pull_request(entry: dict[str, Any], facts: EventFacts, env: RunnerEnv) -> None:
    target = apply_inputs(facts, _settings(), env)
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
    target = apply_inputs(facts, _settings(), env)
    assert target.branch == entry["repository_default_branch"]
    assert target.pull_request is not None
    assert target.pull_request.is_issue
    assert target.pull_request.number == entry["issue_number"]


def test_pull_request_target_from_a_fork_uses_the_forks_branch() -> None:
    path = shared_file(FIXTURES / "events/pull_request/opened.from-fork.json")
    env = RunnerEnv(event_name="pull_request_target", repository="mendersoftware/workflows", ref="refs/heads/master")
    target = apply_inputs(resolve_event(env, load_event(str(path))), _settings(), env)
    assert target.repository.full_name == "tranchitella/workflows"
    assert target.branch == "men-4705"
    assert target.clone_url == "https://github.com/tranchitella/workflows.git"
    assert target.pull_request is not None
    assert target.pull_request.is_fork


def _pull_request_payload(head_repo: dict[str, Any] | None) -> dict[str, Any]:
    base_repo = {"full_name": "acme/app", "clone_url": "https://github.com/acme/app.git"}
    return {
        "repository": base_repo,
        "pull_request": {
            "number": 12,
            "title": "Fix it",
            "head": {"ref": "fix-it", "sha": "abc", "repo": head_repo},
            "base": {"ref": "main", "repo": base_repo},
            "user": {"login": "someone"},
        },
    }


@pytest.mark.parametrize("event_name", ["pull_request_review", "pull_request_review_comment"])
def test_review_events_resolve_like_pull_request(event_name: str) -> None:
    env = RunnerEnv(event_name=event_name, repository="acme/app", ref="refs/pull/12/merge")
    head = {"full_name": "acme/app", "clone_url": "https://github.com/acme/app.git"}
    event = EventPayload.model_validate(_pull_request_payload(head))
    target = apply_inputs(resolve_event(env, event), _settings(), env)
    assert (target.repository.full_name, target.branch) == ("acme/app", "fix-it")
    assert target.pull_request is not None
    assert target.pull_request.number == 12


def test_deleted_fork_needs_the_repository_input() -> None:
    env = RunnerEnv(event_name="pull_request", repository="acme/app")
    facts = resolve_event(env, EventPayload.model_validate(_pull_request_payload(None)))
    assert facts.pull_request is not None
    assert facts.pull_request.is_fork
    with pytest.raises(ContextError, match=r"head repository was deleted \(head.repo is null\)"):
        apply_inputs(facts, _settings(), env)
    target = apply_inputs(facts, _settings(repository="forker/app"), env)
    assert target.repository.full_name == "forker/app"
    assert target.branch == "fix-it"
    assert target.clone_url == "https://github.com/forker/app.git"


def test_a_push_that_deletes_the_branch_is_marked_deleted() -> None:
    env = RunnerEnv(event_name="push", repository="acme/app", ref="refs/heads/gone")
    event = EventPayload.model_validate(
        {"ref": "refs/heads/gone", "deleted": True, "repository": {"full_name": "acme/app"}}
    )
    facts = resolve_event(env, event)
    assert facts.branch_deleted
    assert facts.branch == "gone"


def test_workflow_run_uses_the_head_repository_and_branch() -> None:
    env = RunnerEnv(event_name="workflow_run", repository="acme/app", ref="refs/heads/main")
    event = EventPayload.model_validate(
        {
            "repository": {"full_name": "acme/app", "clone_url": "https://github.com/acme/app.git"},
            "workflow_run": {
                "head_branch": "feature",
                "head_sha": "def",
                "head_repository": {"full_name": "forker/app"},
                "pull_requests": [],
            },
        }
    )
    target = apply_inputs(resolve_event(env, event), _settings(), env)
    assert target.repository.full_name == "forker/app"
    assert target.branch == "feature"
    assert target.clone_url == "https://github.com/forker/app.git"
    assert target.pull_request is None


def test_any_other_event_falls_back_to_the_runner_variables() -> None:
    env = RunnerEnv(event_name="repository_dispatch", repository="acme/app", ref="refs/heads/dev")
    target = apply_inputs(resolve_event(env, EventPayload()), _settings(), env)
    assert (target.repository.full_name, target.branch) == ("acme/app", "dev")
    assert target.clone_url == "https://github.com/acme/app.git"
    empty = RunnerEnv(event_name="repository_dispatch")
    with pytest.raises(ContextError, match="names no repository"):
        apply_inputs(resolve_event(empty, EventPayload()), _settings(branch="x"), empty)


def test_inputs_override_the_event_and_the_clone_url_follows_the_repository() -> None:
    env = RunnerEnv(event_name="pull_request", repository="acme/app", server_url="https://ghe.example.com")
    head = {"full_name": "acme/app", "clone_url": "https://github.com/acme/app.git"}
    facts = resolve_event(env, EventPayload.model_validate(_pull_request_payload(head)))
    target = apply_inputs(facts, _settings(repository="other/repo", branch="topic"), env)
    assert (target.repository.full_name, target.branch) == ("other/repo", "topic")
    assert target.clone_url == "https://ghe.example.com/other/repo.git"


def test_an_invalid_branch_from_the_event_is_refused() -> None:
    env = RunnerEnv(event_name="push", repository="acme/app", ref="refs/heads/bad..name")
    facts = resolve_event(env, EventPayload())
    with pytest.raises(ContextError, match=r"the event's branch is not a valid branch name: it contains '\.\.'"):
        apply_inputs(facts, _settings(), env)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        (b"", "is not JSON"),
        (b"{not json", "is not JSON"),
        (b"\xff\xfe\x00garbage", "is not UTF-8"),
        (b"[1, 2]", "holds JSON list, not an object"),
        (b'{"pull_request": {"number": "twelve"}}', "unexpected shape at pull_request"),
    ],
)
def test_a_bad_event_file_is_a_clear_error(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "event.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ContextError, match=message):
        load_event(str(path))
