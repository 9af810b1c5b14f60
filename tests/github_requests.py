"""The GitHub endpoints the action calls, named as GitHub's REST description names them, so a test can say which
calls a run made ("METHOD template") without ../shared. Where ../shared is present, `rest_subset` also checks
each recorded request against GitHub's own description (parameters, query, body)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from recoup_session_action.standins.loopback import RecordedRequest

LIST = "GET /repos/{owner}/{repo}/issues/{issue_number}/comments"
CREATE = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"
UPDATE = "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}"
DELETE = "DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}"
GET_PULL = "GET /repos/{owner}/{repo}/pulls/{pull_number}"
LIST_PULLS = "GET /repos/{owner}/{repo}/pulls"
COMMIT_PULLS = "GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls"
GET_USER = "GET /user"
GET_COMMENT = "GET /repos/{owner}/{repo}/issues/comments/{comment_id}"
REACT = "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"
PERMISSION = "GET /repos/{owner}/{repo}/collaborators/{username}/permission"
ENDPOINTS = (
    LIST,
    CREATE,
    UPDATE,
    DELETE,
    GET_COMMENT,
    GET_PULL,
    LIST_PULLS,
    COMMIT_PULLS,
    GET_USER,
    REACT,
    PERMISSION,
)


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)))


_PATTERNS = [(endpoint.split(" ", 1)[0], _pattern(endpoint.split(" ", 1)[1]), endpoint) for endpoint in ENDPOINTS]


def signature(request: RecordedRequest, prefix: str = "") -> str:
    """ "METHOD template" of one request; an assertion error for a call the action is not known to make."""
    path = request.path.removeprefix(prefix)
    for method, pattern, endpoint in _PATTERNS:
        if method == request.method and pattern.fullmatch(path):
            return endpoint
    raise AssertionError(f"{request.method} {request.path} is not an endpoint the action calls")


def signatures(requests: Iterable[RecordedRequest], prefix: str = "") -> list[str]:
    return [signature(request, prefix) for request in requests]
