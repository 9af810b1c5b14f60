"""The GitHub stand-in, driven by PyGithub (`test_shared_contracts.py` also checks it against the REST subset in
../shared where that is present)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from github import Auth, BadCredentialsException, Github, GithubException, GithubRetry, UnknownObjectException

from recoup_session_action.github_rules import COMMENT_LIMIT
from recoup_session_action.standins.github import DEMO_TOKEN, Fault, GitHubStandIn, TokenIdentity

READ_ONLY_TOKEN = "ghs_read_only"
PAT = "ghp_personal"
SHA = "3f786850e387550fdab836ed7e6dc881de23001b"


def _tokens() -> dict[str, TokenIdentity]:
    return {
        DEMO_TOKEN: TokenIdentity("github-actions[bot]", "Bot"),
        READ_ONLY_TOKEN: TokenIdentity("github-actions[bot]", "Bot", read_only=True),
        PAT: TokenIdentity("octocat", "User", can_get_user=True),
    }


def client(standin: GitHubStandIn, token: str = DEMO_TOKEN, retry: GithubRetry | None = None) -> Github:
    return Github(
        auth=Auth.Token(token),
        base_url=standin.api_url,
        per_page=100,
        seconds_between_requests=None,
        seconds_between_writes=None,
        lazy=True,
        retry=retry,
    )


def _raw(url: str, token: str = DEMO_TOKEN) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request) as response:  # noqa: S310
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.load(error)


def seeded_standin() -> GitHubStandIn:
    """A stand-in (not started) with three pull requests (two from a fork, one closed) and an issue on acme/app."""
    server = GitHubStandIn(_tokens())
    server.add_pull("acme", "app", 7, title="Fork PR", head_ref="feature", head_sha=SHA, head_full_name="forker/app")
    server.add_pull("acme", "app", 8, title="Own PR", head_ref="fix", head_sha="b" * 40, head_full_name="acme/app")
    server.add_pull(
        "acme", "app", 5, title="Old PR", head_ref="feature", head_sha=SHA, head_full_name="forker/app", state="closed"
    )
    server.add_issue("acme", "app", 3, title="An issue")
    return server


@pytest.fixture
def standin() -> Iterator[GitHubStandIn]:
    with seeded_standin() as server:
        yield server


def test_lists_250_comments_in_three_requests(standin: GitHubStandIn) -> None:
    for i in range(250):
        standin.add_comment("acme", "app", 7, f"comment {i}", login="someone")
    issue = client(standin).get_repo("acme/app").get_issue(7)
    assert standin.requests == []  # lazy: neither the repository nor the issue is fetched

    bodies = [comment.body for comment in issue.get_comments()]

    assert bodies == [f"comment {i}" for i in range(250)]
    assert [(r.path, r.query) for r in standin.requests] == [
        ("/repos/acme/app/issues/7/comments", {"per_page": "100"}),
        ("/repos/acme/app/issues/7/comments", {"per_page": "100", "page": "2"}),
        ("/repos/acme/app/issues/7/comments", {"per_page": "100", "page": "3"}),
    ]


def test_link_header_is_rfc8288_like_github(standin: GitHubStandIn) -> None:
    for i in range(250):
        standin.add_comment("acme", "app", 7, f"comment {i}", login="someone")
    url = f"{standin.api_url}/repos/acme/app/issues/7/comments"

    status, headers, page = _raw(f"{url}?per_page=100&page=2")

    assert status == 200
    assert len(page) == 100
    assert headers["Link"] == (
        f'<{url}?per_page=100&page=1>; rel="prev", <{url}?per_page=100&page=3>; rel="next", '
        f'<{url}?per_page=100&page=3>; rel="last", <{url}?per_page=100&page=1>; rel="first"'
    )
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    rate_headers = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Used"}
    assert rate_headers <= set(headers)
    assert 'rel="next"' not in _raw(f"{url}?per_page=100&page=3")[1]["Link"]
    assert "Link" not in _raw(f"{standin.api_url}/repos/acme/app/issues/3/comments")[1]


def test_default_page_size_is_30_and_max_is_100(standin: GitHubStandIn) -> None:
    for i in range(150):
        standin.add_comment("acme", "app", 3, f"c{i}", login="someone")
    url = f"{standin.api_url}/repos/acme/app/issues/3/comments"

    assert len(_raw(url)[2]) == 30
    assert len(_raw(f"{url}?per_page=500")[2]) == 100


def test_create_update_delete_comment(standin: GitHubStandIn) -> None:
    seeded = standin.add_comment("acme", "app", 7, "earlier", login="acme")
    issue = client(standin).get_repo("acme/app").get_issue(7)

    created = issue.create_comment("hello")
    created.edit("hello again")
    fetched = issue.get_comment(created.id)

    assert created.id > seeded
    assert created.user.login == "github-actions[bot]"
    assert created.user.type == "Bot"
    assert fetched.body == "hello again"
    assert fetched.updated_at >= fetched.created_at  # whole seconds, as GitHub stamps them
    assert [c["body"] for c in standin.comments("acme", "app", 7)] == ["earlier", "hello again"]
    assert standin.comments("acme", "app", 7)[0]["author_association"] == "OWNER"
    assert fetched.html_url.endswith(f"/acme/app/pull/7#issuecomment-{created.id}")

    fetched.delete()

    assert [c["id"] for c in standin.comments("acme", "app", 7)] == [seeded]
    assert [r.method for r in standin.requests] == ["POST", "PATCH", "GET", "DELETE"]
    assert standin.requests[0].body == {"body": "hello"}


def test_read_only_token_gets_403(standin: GitHubStandIn) -> None:
    issue = client(standin, READ_ONLY_TOKEN).get_repo("acme/app").get_issue(7)

    with pytest.raises(GithubException) as caught:
        issue.create_comment("hello")

    assert caught.value.status == 403
    assert caught.value.data == {
        "message": "Resource not accessible by integration",
        "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
        "status": "403",
    }
    assert standin.comments("acme", "app", 7) == []
    assert len(list(issue.get_comments())) == 0  # reading is still allowed


def test_unknown_token_gets_401(standin: GitHubStandIn) -> None:
    with pytest.raises(BadCredentialsException) as caught:
        client(standin, "ghs_wrong").get_repo("acme/app").get_pull(7).title  # noqa: B018

    assert caught.value.status == 401


def test_comment_body_limit(standin: GitHubStandIn) -> None:
    issue = client(standin).get_repo("acme/app").get_issue(3)
    issue.create_comment("x" * COMMENT_LIMIT)

    with pytest.raises(GithubException) as caught:
        issue.create_comment("x" * (COMMENT_LIMIT + 1))

    assert caught.value.status == 422
    assert caught.value.data["errors"][0]["message"] == "body is too long (maximum is 65536 characters)"
    assert len(standin.comments("acme", "app", 3)) == 1


def test_unknown_issue_is_404(standin: GitHubStandIn) -> None:
    issue = client(standin).get_repo("acme/app").get_issue(99)

    with pytest.raises(UnknownObjectException):
        list(issue.get_comments())
    with pytest.raises(UnknownObjectException):
        issue.create_comment("hello")


def test_enterprise_server_prefix() -> None:
    with GitHubStandIn(path_prefix="/api/v3") as standin:
        standin.add_issue("acme", "app", 3, title="An issue")
        for i in range(101):
            standin.add_comment("acme", "app", 3, f"c{i}", login="someone")
        issue = client(standin).get_repo("acme/app").get_issue(3)

        issue.create_comment("from GHES")
        assert len(list(issue.get_comments())) == 102
        assert standin.api_url.endswith("/api/v3")
        assert all(r.path.startswith("/api/v3/repos/acme/app/") for r in standin.requests)
        assert len(standin.requests) == 3
        assert _raw(f"{standin.server_url}/repos/acme/app/issues/3/comments")[0] == 404


def test_get_pull_from_fork(standin: GitHubStandIn) -> None:
    pull = client(standin).get_repo("acme/app").get_pull(7)

    assert pull.title == "Fork PR"
    assert pull.head.ref == "feature"
    assert pull.head.sha == SHA
    assert pull.head.label == "forker:feature"
    assert pull.head.repo.full_name == "forker/app"
    assert pull.head.repo.fork is True
    assert pull.head.repo.clone_url == f"{standin.server_url}/forker/app.git"
    assert pull.base.repo.full_name == "acme/app"
    assert len(standin.requests) == 1


def test_pull_with_deleted_fork_has_no_head_repo(standin: GitHubStandIn) -> None:
    standin.add_pull("acme", "app", 9, title="Orphan", head_ref="gone", head_sha="c" * 40, head_full_name="")

    pull = client(standin).get_repo("acme/app").get_pull(9)

    assert pull.head.repo is None
    assert pull.head.ref == "gone"


def test_get_pulls_filtered_by_state_and_head(standin: GitHubStandIn) -> None:
    repo = client(standin).get_repo("acme/app")

    assert [p.number for p in repo.get_pulls(state="open", head="forker:feature")] == [7]
    assert [p.number for p in repo.get_pulls(state="all", head="forker:feature")] == [7, 5]
    assert [p.number for p in repo.get_pulls(state="open", head="acme:feature")] == []
    # Like GitHub, a head without "owner:" filters nothing.
    assert [p.number for p in repo.get_pulls(state="open", head="feature")] == [8, 7]
    assert len(standin.requests) == 4


def test_commit_pulls_in_any_state(standin: GitHubStandIn) -> None:
    commit = client(standin).get_repo("acme/app").get_commit(SHA)

    assert [p.number for p in commit.get_pulls()] == [7, 5]
    assert [r.path for r in standin.requests] == [f"/repos/acme/app/commits/{SHA}/pulls"]


def test_get_user_depends_on_token(standin: GitHubStandIn) -> None:
    with pytest.raises(GithubException) as caught:
        client(standin).get_user().login  # noqa: B018

    assert caught.value.status == 403
    assert client(standin, PAT).get_user().login == "octocat"


def test_scripted_faults_then_recovery(standin: GitHubStandIn) -> None:
    standin.faults.append(Fault(502, "<html>Bad Gateway</html>", {"Content-Type": "text/html"}))
    pull = client(standin).get_repo("acme/app").get_pull(7)

    with pytest.raises(GithubException) as caught:
        pull.title  # noqa: B018

    assert caught.value.status == 502
    assert client(standin).get_repo("acme/app").get_pull(7).title == "Fork PR"


def test_secondary_rate_limit_is_retried_by_pygithub(standin: GitHubStandIn) -> None:
    limited = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
    standin.faults.append(Fault(403, limited, {"Retry-After": "0"}))
    standin.faults.append(Fault(500, {"message": "Server Error"}))
    retry = GithubRetry(total=3, backoff_factor=0)

    assert client(standin, retry=retry).get_repo("acme/app").get_pull(7).title == "Fork PR"
    assert len(standin.requests) == 3
    assert standin.faults == []


def test_concurrent_comments_get_distinct_increasing_ids(standin: GitHubStandIn) -> None:
    issue = client(standin).get_repo("acme/app").get_issue(3)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(issue.create_comment, [f"c{i}" for i in range(40)]))

    comments = standin.comments("acme", "app", 3)
    assert len({c["id"] for c in comments}) == 40
    assert [c["id"] for c in comments] == sorted(c["id"] for c in comments)
    assert [c["created_at"] for c in comments] == sorted(c["created_at"] for c in comments)
