"""A local stand-in of the GitHub REST API endpoints the action calls.

Used by the ``demo`` command and by the tests. It listens on 127.0.0.1 and answers like GitHub does (status
codes, error bodies, ``Link`` pagination, rate-limit headers) for issue comments, pull requests, reactions,
collaborator permissions and ``GET /user``. Timestamps and the ``Date`` header follow the stand-in's clock.
Requests are recorded and faults scripted the way every stand-in does (`loopback.StandIn`).
"""

from __future__ import annotations

import hashlib
import math
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from ..github_rules import COMMENT_LIMIT
from .loopback import Answer, Fault, RecordedRequest, StandIn, json_answer

__all__ = ["DEMO_TOKEN", "Fault", "GitHubStandIn", "RecordedRequest", "TokenIdentity"]

DEMO_TOKEN = "ghs_demo_token"  # noqa: S105 - a fake token the stand-in accepts by default
_DOCS = "https://docs.github.com/rest"
_RATE_LIMIT = 5000
_NOT_ACCESSIBLE = "Resource not accessible by integration"
_REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"


@dataclass
class TokenIdentity:
    """Who a token authenticates as, and what it may do."""

    login: str
    user_type: str
    read_only: bool = False
    can_get_user: bool = False
    can_react: bool = True


@dataclass(frozen=True)
class _Call:
    """A routed request: who sent it, the path parameters and the endpoint's documentation URL."""

    request: RecordedRequest
    who: TokenIdentity
    params: dict[str, str]
    doc: str

    @property
    def issue(self) -> tuple[str, str, int]:
        return self.params["owner"], self.params["repo"], int(self.params["number"])

    def error(self, status: int, message: str) -> Answer:
        return _error(status, message, self.doc)


@dataclass
class _Pull:
    owner: str
    repo: str
    number: int
    id: int
    created: int
    title: str
    head_ref: str
    head_sha: str
    head_full_name: str
    base_ref: str
    state: str
    head_clone_url: str | None
    user_login: str

    @property
    def head_owner(self) -> str:
        return self.head_full_name.partition("/")[0] or self.user_login

    @property
    def label(self) -> str:
        return f"{self.head_owner}:{self.head_ref}"


@dataclass
class _Comment:
    owner: str
    repo: str
    number: int
    id: int
    body: str
    login: str
    user_type: str
    created: int
    updated: int


_Endpoint = Callable[[_Call], Answer]


def _error(status: int, message: str, doc: str) -> Answer:
    return json_answer(status, {"message": message, "documentation_url": doc, "status": str(status)})


def _timestamp(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    value = query.get(name, "")
    return int(value) if value.isdecimal() and int(value) > 0 else default


def _token(authorization: str) -> str:
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() in {"token", "bearer"} else ""


def _comment_body(call: _Call) -> str | Answer:
    """The ``body`` of a comment create/update request, or the 422 GitHub answers."""
    body = call.request.body
    text = body.get("body") if isinstance(body, dict) else None
    if not isinstance(text, str):
        return call.error(422, 'Invalid request.\n\n"body" wasn\'t supplied.')
    if len(text) <= COMMENT_LIMIT:
        return text
    error = {
        "resource": "IssueComment",
        "code": "custom",
        "field": "body",
        "message": f"body is too long (maximum is {COMMENT_LIMIT} characters)",
    }
    doc = call.doc
    failed = {"message": "Validation Failed", "errors": [error], "documentation_url": doc, "status": "422"}
    return json_answer(422, failed)


class GitHubStandIn(StandIn):
    """`with GitHubStandIn() as github:` serves GitHub's REST API at `github.api_url` until the block ends."""

    server_header = "github.com"

    def __init__(
        self,
        tokens: dict[str, TokenIdentity] | None = None,
        path_prefix: str = "",
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """`ssl_context` (server side) serves https, as GitHub Enterprise Server behind a private CA does."""
        super().__init__(ssl_context=ssl_context)
        default = {DEMO_TOKEN: TokenIdentity("github-actions[bot]", "Bot")}
        self.tokens = default if tokens is None else tokens
        self.path_prefix = path_prefix.rstrip("/")
        self.permissions: dict[str, str] = {}
        """Each user's role on every repository (admin, maintain, write, triage, read); anyone else: none."""
        self.reactions: list[tuple[int, str, str]] = []
        """(comment id, content, login) of every reaction made."""
        self._last_id = 0
        self._named_ids: dict[str, int] = {}
        self._used = 0
        self._reset = int(time.time()) + 3600
        self._titles: dict[tuple[str, str, int], str] = {}
        self._pulls: dict[tuple[str, str, int], _Pull] = {}
        self._comments: dict[int, _Comment] = {}
        self._routes = self._route_table()

    @property
    def server_url(self) -> str:
        """Web root of the instance (``GITHUB_SERVER_URL``)."""
        return self.url

    @property
    def api_url(self) -> str:
        """API root (``GITHUB_API_URL``), including the GHES path prefix if any."""
        return self.server_url + self.path_prefix

    def add_pull(
        self,
        owner: str,
        repo: str,
        number: int,
        *,
        title: str,
        head_ref: str,
        head_sha: str,
        head_full_name: str,
        base_ref: str = "main",
        state: str = "open",
        head_clone_url: str | None = None,
        user_login: str = "octocat",
    ) -> None:
        """Add a pull request; ``head_full_name=""`` means its head repository (a fork) was deleted."""
        with self._lock:
            self._titles[owner, repo, number] = title
            self._pulls[owner, repo, number] = _Pull(
                owner=owner,
                repo=repo,
                number=number,
                id=self._new_id(),
                created=self._tick(),
                title=title,
                head_ref=head_ref,
                head_sha=head_sha,
                head_full_name=head_full_name,
                base_ref=base_ref,
                state=state,
                head_clone_url=head_clone_url,
                user_login=user_login,
            )

    def add_issue(self, owner: str, repo: str, number: int, *, title: str) -> None:
        """Add a plain issue that can be commented on."""
        with self._lock:
            self._titles[owner, repo, number] = title

    def add_comment(
        self,
        owner: str,
        repo: str,
        number: int,
        body: str,
        *,
        login: str,
        user_type: str = "User",
        comment_id: int | None = None,
    ) -> int:
        """Seed an existing comment on an issue or pull request (with the id of a captured one, if given)."""
        with self._lock:
            return self._store_comment((owner, repo, number), body, TokenIdentity(login, user_type), comment_id).id

    def set_comment(self, comment_id: int, body: str) -> None:
        """Change a comment's body as another client would (its `updated_at` moves on)."""
        with self._lock:
            comment = self._comments[comment_id]
            comment.body, comment.updated = body, self._tick()

    def comments(self, owner: str, repo: str, number: int) -> list[dict[str, Any]]:
        """Current comments of an issue or pull request, oldest first, as the API returns them."""
        with self._lock:
            return [self._comment_json(c) for c in self._comments_of((owner, repo, number))]

    # -- request handling --------------------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Answer:
        """Every answer, a scripted fault included, carries GitHub's rate-limit headers."""
        answer = super().handle(request)
        with self._lock:
            self._used += 1
            rate = {
                "X-RateLimit-Limit": str(_RATE_LIMIT),
                "X-RateLimit-Remaining": str(max(_RATE_LIMIT - self._used, 0)),
                "X-RateLimit-Reset": str(self._reset),
                "X-RateLimit-Used": str(self._used),
                "X-RateLimit-Resource": "core",
            }
        return replace(answer, headers=rate | dict(answer.headers))

    def answer(self, request: RecordedRequest) -> Answer:
        who = self.tokens.get(_token(request.headers.get("authorization", "")))
        if who is None:
            return _error(401, "Bad credentials", _DOCS)
        routed = self._route(request, who)
        if routed is None:
            return _error(404, "Not Found", _DOCS)
        endpoint, call = routed
        if who.read_only and request.method != "GET":
            return call.error(403, _NOT_ACCESSIBLE)
        return endpoint(call)

    def _route_table(self) -> list[tuple[str, re.Pattern[str], _Endpoint, str]]:
        comments, pulls = "issues/comments#", "pulls/pulls#"
        issue_comments = rf"{_REPO}/issues/(?P<number>\d+)/comments"
        comment = rf"{_REPO}/issues/comments/(?P<id>\d+)"
        table: list[tuple[str, str, _Endpoint, str]] = [
            ("GET", issue_comments, self._list_comments, f"{comments}list-issue-comments"),
            ("POST", issue_comments, self._create_comment, f"{comments}create-an-issue-comment"),
            ("GET", comment, self._get_comment, f"{comments}get-an-issue-comment"),
            ("PATCH", comment, self._update_comment, f"{comments}update-an-issue-comment"),
            ("DELETE", comment, self._delete_comment, f"{comments}delete-an-issue-comment"),
            (
                "POST",
                rf"{comment}/reactions",
                self._react,
                "reactions/reactions#create-reaction-for-an-issue-comment",
            ),
            (
                "GET",
                rf"{_REPO}/collaborators/(?P<login>[^/]+)/permission",
                self._permission,
                "collaborators/collaborators#get-repository-permissions-for-a-user",
            ),
            ("GET", rf"{_REPO}/pulls/(?P<number>\d+)", self._get_pull, f"{pulls}get-a-pull-request"),
            ("GET", rf"{_REPO}/pulls", self._list_pulls, f"{pulls}list-pull-requests"),
            (
                "GET",
                rf"{_REPO}/commits/(?P<sha>[^/]+)/pulls",
                self._commit_pulls,
                "commits/commits#list-pull-requests-associated-with-a-commit",
            ),
            ("GET", r"/user", self._get_user, "users/users#get-the-authenticated-user"),
        ]
        return [(verb, re.compile(path), endpoint, f"{_DOCS}/{doc}") for verb, path, endpoint, doc in table]

    def _route(self, request: RecordedRequest, who: TokenIdentity) -> tuple[_Endpoint, _Call] | None:
        if not request.path.startswith(self.path_prefix + "/"):
            return None
        path = request.path[len(self.path_prefix) :]
        for method, pattern, endpoint, doc in self._routes:
            found = pattern.fullmatch(path)
            if found and method == request.method:
                return endpoint, _Call(request, who, found.groupdict(), doc)
        return None

    # -- endpoints ---------------------------------------------------------------------------------------

    def _list_comments(self, call: _Call) -> Answer:
        if call.issue not in self._titles:
            return call.error(404, "Not Found")
        return self._page(call.request, [self._comment_json(c) for c in self._comments_of(call.issue)])

    def _create_comment(self, call: _Call) -> Answer:
        if call.issue not in self._titles:
            return call.error(404, "Not Found")
        text = _comment_body(call)
        if isinstance(text, Answer):
            return text
        created = self._comment_json(self._store_comment(call.issue, text, call.who))
        return json_answer(201, created, {"Location": created["url"]})

    def _get_comment(self, call: _Call) -> Answer:
        comment = self._find_comment(call)
        return call.error(404, "Not Found") if comment is None else json_answer(200, self._comment_json(comment))

    def _update_comment(self, call: _Call) -> Answer:
        comment = self._find_comment(call)
        if comment is None:
            return call.error(404, "Not Found")
        text = _comment_body(call)
        if isinstance(text, Answer):
            return text
        comment.body, comment.updated = text, self._tick()
        return json_answer(200, self._comment_json(comment))

    def _delete_comment(self, call: _Call) -> Answer:
        comment = self._find_comment(call)
        if comment is None:
            return call.error(404, "Not Found")
        del self._comments[comment.id]
        return Answer(204)

    def _react(self, call: _Call) -> Answer:
        comment = self._find_comment(call)
        if comment is None:
            return call.error(404, "Not Found")
        if not call.who.can_react:
            return call.error(403, _NOT_ACCESSIBLE)
        body = call.request.body
        content = body.get("content") if isinstance(body, dict) else None
        if content not in {"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}:
            return call.error(422, "Validation Failed")
        already = (comment.id, content, call.who.login) in self.reactions
        if not already:
            self.reactions.append((comment.id, content, call.who.login))
        reaction = {
            "id": self._named_id(f"reaction:{comment.id}:{content}:{call.who.login}"),
            "user": self._user_json(call.who.login, call.who.user_type),
            "content": content,
            "created_at": _timestamp(self._tick()),
        }
        return json_answer(200 if already else 201, reaction)

    def _permission(self, call: _Call) -> Answer:
        login = call.params["login"]
        role = self.permissions.get(login, "none")
        legacy = {"maintain": "write", "triage": "read"}.get(role, role)
        user = self._user_json(login, "User")
        return json_answer(200, {"permission": legacy, "role_name": role, "user": user})

    def _get_pull(self, call: _Call) -> Answer:
        pull = self._pulls.get(call.issue)
        return call.error(404, "Not Found") if pull is None else json_answer(200, self._pull_json(pull))

    def _list_pulls(self, call: _Call) -> Answer:
        """Filter by ``state`` (default open) and ``head``; like GitHub, ignore a head without ``owner:``."""
        state = call.request.query.get("state", "open")
        head = call.request.query.get("head", "")
        pulls = [
            pull
            for pull in self._pulls_of(call.params["owner"], call.params["repo"])
            if state in {"all", pull.state} and (":" not in head or pull.label == head)
        ]
        return self._page(call.request, [self._pull_json(p) for p in pulls])

    def _commit_pulls(self, call: _Call) -> Answer:
        pulls = self._pulls_of(call.params["owner"], call.params["repo"])
        found = [self._pull_json(p) for p in pulls if p.head_sha == call.params["sha"]]
        return self._page(call.request, found)

    def _get_user(self, call: _Call) -> Answer:
        if not call.who.can_get_user:
            return call.error(403, _NOT_ACCESSIBLE)
        return json_answer(200, self._user_json(call.who.login, call.who.user_type))

    def _page(self, request: RecordedRequest, items: list[dict[str, Any]]) -> Answer:
        """One page of ``items`` with GitHub's ``Link`` header (prev, next, last, first)."""
        per_page = min(_int_param(request.query, "per_page", 30), 100)
        page = _int_param(request.query, "page", 1)
        last = max(math.ceil(len(items) / per_page), 1)
        rels = {"prev": page - 1} if page > 1 else {}
        rels |= {"next": page + 1, "last": last} if page < last else {}
        rels |= {"first": 1} if page > 1 else {}
        link = ", ".join(f'<{self._page_url(request, number)}>; rel="{rel}"' for rel, number in rels.items())
        chunk = items[(page - 1) * per_page : page * per_page]
        return json_answer(200, chunk, {"Link": link} if link else None)

    def _page_url(self, request: RecordedRequest, page: int) -> str:
        return f"{self.server_url}{request.path}?{urlencode(request.query | {'page': str(page)})}"

    # -- storage -----------------------------------------------------------------------------------------

    def _tick(self) -> int:
        """Now in whole seconds, as GitHub stamps comments, on the stand-in's clock."""
        return int(self.now())

    def _new_id(self) -> int:
        self._last_id += 1
        return self._last_id

    def _named_id(self, name: str) -> int:
        if name not in self._named_ids:
            self._named_ids[name] = self._new_id()
        return self._named_ids[name]

    def _store_comment(
        self, issue: tuple[str, str, int], body: str, who: TokenIdentity, comment_id: int | None = None
    ) -> _Comment:
        tick = self._tick()
        new_id = self._new_id() if comment_id is None else comment_id
        comment = _Comment(*issue, new_id, body, who.login, who.user_type, tick, tick)
        self._comments[comment.id] = comment
        return comment

    def _comments_of(self, issue: tuple[str, str, int]) -> list[_Comment]:
        return [c for c in self._comments.values() if (c.owner, c.repo, c.number) == issue]

    def _find_comment(self, call: _Call) -> _Comment | None:
        comment = self._comments.get(int(call.params["id"]))
        if comment is None or (comment.owner, comment.repo) != (call.params["owner"], call.params["repo"]):
            return None
        return comment

    def _pulls_of(self, owner: str, repo: str) -> list[_Pull]:
        """Pull requests of a repository, newest first (GitHub's default order)."""
        found = [p for p in self._pulls.values() if (p.owner, p.repo) == (owner, repo)]
        return sorted(found, key=lambda p: p.number, reverse=True)

    # -- JSON rendering ----------------------------------------------------------------------------------

    def _user_json(self, login: str, user_type: str) -> dict[str, Any]:
        user_id = self._named_id(f"user:{login}")
        api = f"{self.api_url}/users/{login}"
        return {
            "login": login,
            "id": user_id,
            "node_id": f"{'BOT' if user_type == 'Bot' else 'U'}_kgDO{user_id}",
            "avatar_url": f"{self.server_url}/avatars/u/{user_id}",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.server_url}/{login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": user_type,
            "user_view_type": "public",
            "site_admin": False,
        }

    def _comment_json(self, comment: _Comment) -> dict[str, Any]:
        repo_api = f"{self.api_url}/repos/{comment.owner}/{comment.repo}"
        kind = "pull" if (comment.owner, comment.repo, comment.number) in self._pulls else "issues"
        web = f"{self.server_url}/{comment.owner}/{comment.repo}/{kind}/{comment.number}"
        return {
            "id": comment.id,
            "node_id": f"IC_kwDO{comment.id}",
            "url": f"{repo_api}/issues/comments/{comment.id}",
            "html_url": f"{web}#issuecomment-{comment.id}",
            "body": comment.body,
            "user": self._user_json(comment.login, comment.user_type),
            "created_at": _timestamp(comment.created),
            "updated_at": _timestamp(comment.updated),
            "issue_url": f"{repo_api}/issues/{comment.number}",
            "author_association": "OWNER" if comment.login == comment.owner else "NONE",
            "performed_via_github_app": None,
        }

    def _repo_json(self, full_name: str, clone_url: str | None, *, fork: bool) -> dict[str, Any]:
        owner, _, name = full_name.partition("/")
        repo_id = self._named_id(f"repo:{full_name}")
        return {
            "id": repo_id,
            "node_id": f"R_kgDO{repo_id}",
            "name": name,
            "full_name": full_name,
            "owner": self._user_json(owner, "User"),
            "private": False,
            "fork": fork,
            "url": f"{self.api_url}/repos/{full_name}",
            "html_url": f"{self.server_url}/{full_name}",
            "clone_url": clone_url or f"{self.server_url}/{full_name}.git",
            "default_branch": "main",
            "visibility": "public",
        }

    def _head_json(self, pull: _Pull) -> dict[str, Any]:
        repo = None
        if pull.head_full_name:
            fork = pull.head_full_name != f"{pull.owner}/{pull.repo}"
            repo = self._repo_json(pull.head_full_name, pull.head_clone_url, fork=fork)
        user = self._user_json(pull.head_owner, "User")
        return {"label": pull.label, "ref": pull.head_ref, "sha": pull.head_sha, "user": user, "repo": repo}

    def _base_json(self, pull: _Pull) -> dict[str, Any]:
        full_name = f"{pull.owner}/{pull.repo}"
        sha = hashlib.sha1(f"{full_name}:{pull.base_ref}".encode(), usedforsecurity=False).hexdigest()
        repo = self._repo_json(full_name, None, fork=False)
        label = f"{pull.owner}:{pull.base_ref}"
        return {"label": label, "ref": pull.base_ref, "sha": sha, "user": repo["owner"], "repo": repo}

    def _pull_json(self, pull: _Pull) -> dict[str, Any]:
        repo_api = f"{self.api_url}/repos/{pull.owner}/{pull.repo}"
        stamp = _timestamp(pull.created)
        return {
            "id": pull.id,
            "node_id": f"PR_kwDO{pull.id}",
            "number": pull.number,
            "url": f"{repo_api}/pulls/{pull.number}",
            "html_url": f"{self.server_url}/{pull.owner}/{pull.repo}/pull/{pull.number}",
            "issue_url": f"{repo_api}/issues/{pull.number}",
            "comments_url": f"{repo_api}/issues/{pull.number}/comments",
            "state": pull.state,
            "locked": False,
            "draft": False,
            "title": pull.title,
            "body": None,
            "user": self._user_json(pull.user_login, "User"),
            "labels": [],
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "milestone": None,
            "created_at": stamp,
            "updated_at": stamp,
            "closed_at": None if pull.state == "open" else stamp,
            "merged_at": None,
            "merge_commit_sha": None,
            "head": self._head_json(pull),
            "base": self._base_json(pull),
            "author_association": "OWNER" if pull.user_login == pull.owner else "CONTRIBUTOR",
            "auto_merge": None,
        }
