"""What to do about a failure: each fix written once, named, and used wherever that failure is reported."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .interface import Interface

FORK_RECIPE = "see the README's workflow_run recipe to run it for forks with secrets kept safe"
GITHUB_PERMISSION_FIX = (
    "give the job 'permissions: pull-requests: write'; on pull requests from forks or Dependabot the token is "
    "read-only: use the README's workflow_run recipe"
)
GITHUB_AUTH_FIX = "the github-token is invalid or expired"


def api_status_fix(status: int, interface: Interface) -> str:
    """What to check when the Recoupable API refuses a request with `status`."""
    api_url = interface.ref("api-url")
    fixes = {
        400: "check the inputs named above",
        401: f"check {interface.secret('api-key')}: it is missing, wrong or expired",
        403: f"the key may not use this organization: check {interface.ref('organization-id')}",
        404: f"check {api_url}: it should be the API's base URL, such as https://api.recoupable.com",
    }
    return fixes.get(status, f"check the inputs and {api_url}")


def set_branch(interface: Interface) -> str:
    return f"{interface.set('branch')} or {interface.setting('new-branch', 'true')}"
