"""The extra layer over `../shared` (the API contract, real GitHub payloads, the REST subset, the schemas), read in
place and never copied into the project.

Where `../shared` is absent, the test files that need it are not collected (the report header says so) and the
checks the stand-in fixtures add at teardown are off: every test of the product still runs on our own fixtures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
GITHUB_FIXTURES = SHARED / "fixtures" / "github"
REST_SUBSET = GITHUB_FIXTURES / "rest" / "github-rest-subset.json"
OPENAPI = SHARED / "api" / "recoupable-sessions.openapi.json"
OPENAPI_LATER = SHARED / "api" / "recoupable-sessions.later.openapi.json"
PRESENT = REST_SUBSET.is_file() and OPENAPI.is_file()
# Test files that exist only to read ../shared: collected only where it is present.
SHARED_TEST_FILES = ("test_shared_contracts.py",)


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def create_session_schema() -> dict[str, Any]:
    """`CreateSessionRequest` of the documented contract, plus `organizationId` from its later revision;
    closed, so a field the docs do not name fails validation."""
    schemas = [load(path)["components"]["schemas"]["CreateSessionRequest"] for path in (OPENAPI, OPENAPI_LATER)]
    properties = {**schemas[0]["properties"], "organizationId": schemas[1]["properties"]["organizationId"]}
    return {"type": "object", "properties": properties, "additionalProperties": False}
