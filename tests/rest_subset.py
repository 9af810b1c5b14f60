"""GitHub's REST description (the subset in ../shared this action touches), and a check of recorded requests.
Part of the extra layer over ../shared (see `shared.py`): used only where it is present.

`check_requests` validates what the GitHub stand-in received: each request's method and path are one of the
subset's operations (or one of the few the action calls that the subset leaves out), its path and query
parameters are declared there and match their schemas, and its JSON body matches the request body schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import jsonschema

from recoup_session_action.standins.loopback import RecordedRequest

from .shared import REST_SUBSET, load

# Called by the action but not in the subset's operationIds, with the JSON body each takes (None: no body).
NOT_IN_SUBSET: dict[tuple[str, str], dict[str, Any] | None] = {
    ("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}"): None,
    ("GET", "/user"): None,
    ("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission"): None,
    ("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"): {
        "type": "object",
        "properties": {"content": {"enum": ["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"]}},
        "required": ["content"],
        "additionalProperties": False,
    },
}


def load_rest_subset() -> dict[str, Any]:
    """The subset, read in place."""
    subset: dict[str, Any] = load(REST_SUBSET)
    return subset


def operations(subset: dict[str, Any]) -> list[tuple[str, re.Pattern[str], str]]:
    """(method, path pattern, path template) of every operation, the subset's and `NOT_IN_SUBSET`."""
    templates = {(method.upper(), path) for path, item in subset["paths"].items() for method in item}
    return [
        (method, re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path))), path)
        for method, path in templates | NOT_IN_SUBSET.keys()
    ]


def allow_null(schema: Any) -> Any:
    """Translate OpenAPI 3.0 ``nullable: true`` into JSON Schema."""
    if isinstance(schema, list):
        return [allow_null(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: allow_null(value) for key, value in schema.items() if key != "nullable"}
    return {"anyOf": [converted, {"type": "null"}]} if schema.get("nullable") else converted


def template_of(request: RecordedRequest, prefix: str, subset: dict[str, Any]) -> str | None:
    path = request.path.removeprefix(prefix)
    for method, pattern, template in operations(subset):
        if method == request.method and pattern.fullmatch(path):
            return template
    return None


def _resolve(subset: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in item:
        node: Any = subset
        for part in item["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        item = node
    return item


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    """A query or path value (always text on the wire) as the type its schema declares."""
    if schema.get("type") == "integer" and value.lstrip("-").isdigit():
        return int(value)
    return value


def check_request(request: RecordedRequest, subset: dict[str, Any], prefix: str = "") -> str:
    """Assert that one recorded request is a valid call of a documented operation; returns "METHOD template"."""
    template = template_of(request, prefix, subset)
    assert template is not None, f"{request.method} {request.path} is not an operation of the REST subset"
    signature = f"{request.method} {template}"
    operation = subset["paths"].get(template, {}).get(request.method.lower())
    if operation is None:  # one of NOT_IN_SUBSET: no query, and the body written out above
        assert request.query == {}, signature
        body_schema = NOT_IN_SUBSET[request.method, template]
        if body_schema is None:
            assert request.body is None, signature
        else:
            jsonschema.validate(request.body, body_schema)
        return signature
    parameters = [_resolve(subset, item) for item in operation.get("parameters", [])]
    path = request.path.removeprefix(prefix)
    names = re.findall(r"\{([^}]+)\}", template)
    pattern = re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template))
    found = re.fullmatch(pattern, path)
    assert found is not None, signature
    path_values = dict(zip(names, found.groups(), strict=True))
    declared = {(item["in"], item["name"]): item for item in parameters}
    for name, value in path_values.items():
        schema = allow_null(declared[("path", name)]["schema"])
        jsonschema.validate(_coerce(value, schema), schema)
    for name, value in request.query.items():
        assert ("query", name) in declared, f"{signature}: query parameter {name!r} is not documented"
        schema = allow_null(declared[("query", name)]["schema"])
        if schema.get("format") == "date-time":
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value), f"{signature}: {name}={value!r}"
        jsonschema.validate(_coerce(value, schema), schema)
    body = operation.get("requestBody")
    if body is None:
        assert request.body is None, f"{signature} takes no body"
    else:
        assert request.headers.get("content-type", "").startswith("application/json"), signature
        schema = {
            **allow_null(body["content"]["application/json"]["schema"]),
            "components": allow_null(subset["components"]),
        }
        jsonschema.validate(request.body, schema)
    return signature


def check_requests(requests: Iterable[RecordedRequest], subset: dict[str, Any], prefix: str = "") -> list[str]:
    """Check every request; returns their "METHOD template" signatures, in order."""
    return [check_request(request, subset, prefix) for request in requests]
