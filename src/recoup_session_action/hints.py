"""What to do about a failure: each fix written once, named, and used wherever that failure is reported."""

from __future__ import annotations

FORK_RECIPE = "see the README's workflow_run recipe to run it for forks with secrets kept safe"
GITHUB_PERMISSION_FIX = (
    "give the job 'permissions: pull-requests: write'; on pull requests from forks or Dependabot the token is "
    "read-only: use the README's workflow_run recipe"
)
GITHUB_AUTH_FIX = "the github-token is invalid or expired"
API_STATUS_FIXES = {
    400: "check the inputs named above",
    401: "check the api-key secret: it is missing, wrong or expired",
    403: "the key may not use this organization: check organization-id",
    404: "check api-url: it should be the API's base URL, such as https://api.recoupable.com",
}
API_STATUS_FIX_OTHERWISE = "check the inputs and api-url"
SET_BRANCH = "set the 'branch' input or new-branch: true"
