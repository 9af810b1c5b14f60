"""Context resolution over our own event fixtures and payloads written here (`test_shared_contracts.py` adds
every real payload of ../shared where it is present)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from recoup_session_action.context import (
    EventFacts,
    RunnerEnv,
    apply_inputs,
    load_event,
    resolve_event,
)
from recoup_session_action.errors import ContextError
from recoup_session_action.event_payload import EventPayload
from recoup_session_action.inputs import Settings, parse_settings

from .events import EVENTS


def settings(**inputs: str) -> Settings:
    return parse_settings({"api-key": "k", **inputs})


def assert_needs_a_branch(facts: EventFacts, env: RunnerEnv) -> None:
    """An event that names no branch (a tag, a release): an error, unless `branch` or `new-branch` is set."""
    assert facts.branch is None
    with pytest.raises(ContextError, match="set the 'branch' input or new-branch: true"):
        apply_inputs(facts, settings(), env)
    assert apply_inputs(facts, settings(branch="main"), env).branch == "main"
    assert apply_inputs(facts, settings(**{"new-branch": "true"}), env).branch is None


@pytest.mark.parametrize("name", EVENTS, ids=list(EVENTS))
def test_each_of_our_event_fixtures_resolves_as_expected(name: str, tmp_path: Path) -> None:
    fixture = EVENTS[name]
    path = tmp_path / "event.json"
    path.write_text(json.dumps(fixture.payload()), encoding="utf-8")
    env = RunnerEnv.from_environ(fixture.runner_env())
    expected = fixture.expected

    facts = resolve_event(env, load_event(env._replace(event_path=str(path))))

    assert facts.pull_request_to_fetch == expected.pull_request_to_fetch
    assert facts.branch_deleted is expected.branch_deleted
    if expected.pull_request_to_fetch is not None or expected.branch_deleted:
        return
    if expected.branch is None:
        assert_needs_a_branch(facts, env)
        return
    target = apply_inputs(facts, settings(), env)
    assert (target.repository.full_name, target.branch, target.clone_url) == (
        expected.repository,
        expected.branch,
        expected.clone_url,
    )
    pull = target.pull_request
    assert (pull.number if pull else None) == expected.pr_number
    assert (pull.is_fork if pull else False) is expected.is_fork
    assert (pull.is_issue if pull else False) is expected.is_issue


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
    target = apply_inputs(resolve_event(env, event), settings(), env)
    assert (target.repository.full_name, target.branch) == ("acme/app", "fix-it")
    assert target.pull_request is not None
    assert target.pull_request.number == 12


def test_deleted_fork_needs_the_repository_input() -> None:
    env = RunnerEnv(event_name="pull_request", repository="acme/app")
    facts = resolve_event(env, EventPayload.model_validate(_pull_request_payload(None)))
    assert facts.pull_request is not None
    assert facts.pull_request.is_fork
    with pytest.raises(ContextError, match=r"head repository was deleted \(head.repo is null\)"):
        apply_inputs(facts, settings(), env)
    target = apply_inputs(facts, settings(repository="forker/app"), env)
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
    target = apply_inputs(resolve_event(env, event), settings(), env)
    assert target.repository.full_name == "forker/app"
    assert target.branch == "feature"
    assert target.clone_url == "https://github.com/forker/app.git"
    assert target.pull_request is None


def test_any_other_event_falls_back_to_the_runner_variables() -> None:
    env = RunnerEnv(event_name="repository_dispatch", repository="acme/app", ref="refs/heads/dev")
    target = apply_inputs(resolve_event(env, EventPayload()), settings(), env)
    assert (target.repository.full_name, target.branch) == ("acme/app", "dev")
    assert target.clone_url == "https://github.com/acme/app.git"
    empty = RunnerEnv(event_name="repository_dispatch")
    with pytest.raises(ContextError, match="names no repository"):
        apply_inputs(resolve_event(empty, EventPayload()), settings(branch="x"), empty)


def test_inputs_override_the_event_and_the_clone_url_follows_the_repository() -> None:
    env = RunnerEnv(event_name="pull_request", repository="acme/app", server_url="https://ghe.example.com")
    head = {"full_name": "acme/app", "clone_url": "https://github.com/acme/app.git"}
    facts = resolve_event(env, EventPayload.model_validate(_pull_request_payload(head)))
    target = apply_inputs(facts, settings(repository="other/repo", branch="topic"), env)
    assert (target.repository.full_name, target.branch) == ("other/repo", "topic")
    assert target.clone_url == "https://ghe.example.com/other/repo.git"


def test_an_invalid_branch_from_the_event_is_refused() -> None:
    env = RunnerEnv(event_name="push", repository="acme/app", ref="refs/heads/bad..name")
    facts = resolve_event(env, EventPayload())
    with pytest.raises(ContextError, match=r"the event's branch is not a valid branch name: it contains '\.\.'"):
        apply_inputs(facts, settings(), env)


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
        load_event(RunnerEnv(event_name="pull_request", event_path=str(path)))


@pytest.mark.parametrize(
    ("event_name", "payload", "where"),
    [
        (
            "pull_request",
            {"pull_request": {"number": 0, "head": {"ref": "a"}, "base": {"ref": "b"}}},
            "pull_request.number",
        ),
        ("pull_request_target", {"pull_request": "opened"}, "pull_request"),
        ("issue_comment", {"issue": {"number": "twelve"}}, "issue.number"),
        ("issue_comment", {"issue": {"number": 1}, "comment": {"id": "x"}}, "comment.id"),
        ("push", {"deleted": "maybe"}, "deleted"),
        ("workflow_run", {"workflow_run": {"pull_requests": [{"number": -1}]}}, "workflow_run.pull_requests.0.number"),
        ("merge_group", {"merge_group": {}}, "merge_group.head_ref"),
        ("release", {"repository": {"full_name": 1}}, "repository.full_name"),
        ("schedule", {"sender": "octocat"}, "sender"),
    ],
)
def test_each_event_checks_the_payload_fields_it_is_read_for(
    tmp_path: Path, event_name: str, payload: dict[str, Any], where: str
) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(ContextError, match=rf"has an unexpected shape at {where}: "):
        load_event(RunnerEnv(event_name=event_name, event_path=str(path)))


def test_an_event_leaves_unread_the_payload_fields_only_other_events_are_read_for(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    payload = {"ref": "refs/heads/main", "pull_request": "not a pull request", "issue": [], "merge_group": 1}
    path.write_text(json.dumps(payload), encoding="utf-8")
    event = load_event(RunnerEnv(event_name="push", event_path=str(path)))
    assert (event.ref, event.pull_request, event.issue, event.merge_group) == ("refs/heads/main", None, None, None)
    with pytest.raises(ContextError, match="unexpected shape at pull_request: "):
        load_event(RunnerEnv(event_name="pull_request", event_path=str(path)))
