"""The whole flow, once: inputs + event -> target -> request -> response -> outputs, summary, comment.

The action entry point, the command line and the demo all call `run`; each hands it the raw inputs, a way
to learn the event facts, and a `Reporter` that speaks to a runner or to a terminal. `Seams` are where tests
(and the demo) put something else in place of the network: an httpx transport for Recoupable, a `GitHubApi`
for GitHub.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .context import EventFacts, RunnerEnv, Target, apply_inputs
from .errors import ApiFailure, ContextError, GitHubError, InputError
from .github_rules import DEPENDABOT_LOGIN
from .hints import FORK_RECIPE
from .inputs import SECRET_INPUTS, CommentMode, Settings, parse_settings
from .outcome import COMMENT_OUTPUTS, CommentResult, Outcome, State, outputs, session_url
from .recoupable_models import CreateSessionRequest
from .summary import comment_summary, summary
from .text import redact

if TYPE_CHECKING:
    import httpx

    from .github_api import GitHubAccess, GitHubApi, OpenGitHub


class Reporter(Protocol):
    def info(self, text: str) -> None: ...
    def notice(self, text: str, title: str | None = None) -> None: ...
    def warning(self, text: str, title: str | None = None) -> None: ...
    def error(self, text: str, title: str | None = None) -> None: ...
    def group(self, title: str) -> AbstractContextManager[None]: ...
    def set_outputs(self, outputs: Mapping[str, str]) -> None: ...
    def add_summary(self, markdown: str) -> None: ...


FactsReader = Callable[[], EventFacts]


@dataclass(frozen=True)
class Seams:
    """What reaches the two APIs. None means the real thing: httpx's own transport, PyGithub's `GitHubRepo`."""

    recoupable_transport: httpx.BaseTransport | None = None
    open_github: OpenGitHub | None = None

    def github(self, access: GitHubAccess) -> GitHubApi:
        """The `GitHubApi` for `access`; whichever it is, no secret reaches a comment it writes."""
        from .github_api import RedactingGitHub  # noqa: PLC0415 (a dry run never reaches GitHub)

        if self.open_github is not None:
            return RedactingGitHub(self.open_github(access), (access.token, *access.secrets))
        from .github_client import GitHubRepo  # noqa: PLC0415 (PyGithub only when GitHub is called)

        return RedactingGitHub(GitHubRepo(access), (access.token, *access.secrets))


def run(
    raw_inputs: Mapping[str, str],
    env: RunnerEnv,
    read_facts: FactsReader,
    reporter: Reporter,
    seams: Seams = Seams(),
) -> int:
    """Create one session as the inputs and the event say; report it. Returns the exit code."""
    try:
        return _run(raw_inputs, env, read_facts, reporter, seams)
    except Exception as error:  # a bug must still end in one line, outputs and a summary
        first_line = str(error).splitlines()[0] if str(error) else ""
        text = redact(first_line, (raw_inputs.get(name, "").strip() for name in SECRET_INPUTS))
        message = f"Unexpected error ({type(error).__name__}: {text}); please report it with the log."
        return _finish(reporter, Outcome(state=State.FAILED, message=message))


def _run(
    raw_inputs: Mapping[str, str], env: RunnerEnv, read_facts: FactsReader, reporter: Reporter, seams: Seams
) -> int:
    try:
        settings = parse_settings(raw_inputs)
    except InputError as error:
        return _finish(reporter, Outcome(state=State.FAILED, message=str(error)))
    try:
        facts = read_facts()
        skip = _skip_reason(facts, settings)
        if skip is not None:
            return _finish(reporter, Outcome(state=State.SKIPPED, message=skip))
        target = _resolve_target(facts, settings, env, seams)
    except (ContextError, InputError) as error:
        return _finish(reporter, Outcome(state=State.FAILED, message=str(error)))
    request = build_request(settings, target)
    _log_request(reporter, settings, request)
    if settings.dry_run:
        return _finish(reporter, Outcome(state=State.DRY_RUN, target=target, request=request))
    if settings.api_key is None:
        message = (
            "Input 'api-key' is required: pass the Recoupable API key, e.g. api-key: ${{ secrets.RECOUP_API_KEY }}."
        )
        return _finish(reporter, Outcome(state=State.FAILED, message=message, target=target, request=request))
    outcome = _create(reporter, settings, target, request, seams)
    exit_code = _finish(reporter, outcome, comment_outputs_follow=outcome.state is State.CREATED)
    if outcome.state is not State.CREATED:
        return exit_code
    return _comment(reporter, settings, env, outcome, seams)


def _skip_reason(facts: EventFacts, settings: Settings) -> str | None:
    if facts.branch_deleted and settings.branch is None:
        return f"The push deleted branch {facts.branch}: there is nothing to start a session on."
    association = facts.commenter_association
    if association is not None and association not in settings.allowed_associations:
        allowed = ", ".join(sorted(settings.allowed_associations))
        return (
            f"The comment's author ({facts.commenter or 'unknown'}) has association {association}, "
            f"not one of allowed-associations ({allowed}): no session created."
        )
    if settings.api_key is None and not settings.dry_run and _secrets_withheld(facts):
        return (
            "The api-key is empty because GitHub does not give secrets to workflows run for forks or Dependabot; "
            f"no session created. {FORK_RECIPE}."
        )
    return None


def _secrets_withheld(facts: EventFacts) -> bool:
    pull = facts.pull_request
    by_dependabot = DEPENDABOT_LOGIN in {facts.sender, pull.author if pull else ""}
    from_fork = facts.event_name == "pull_request" and pull is not None and pull.is_fork
    return by_dependabot or from_fork


def _resolve_target(facts: EventFacts, settings: Settings, env: RunnerEnv, seams: Seams) -> Target:
    if facts.pull_request_to_fetch is not None:
        facts = _complete_from_pull_request(facts, settings, env, seams)
    return apply_inputs(facts, settings, env)


def _complete_from_pull_request(facts: EventFacts, settings: Settings, env: RunnerEnv, seams: Seams) -> EventFacts:
    assert facts.pull_request_to_fetch is not None
    access = _github_access(settings, env, facts.repository or env.repository)
    if access is None:
        raise ContextError("an issue_comment on a pull request needs github-token to read the pull request's branch")
    try:
        return seams.github(access).complete_facts(facts, facts.pull_request_to_fetch)
    except GitHubError as error:
        raise ContextError(f"could not read pull request #{facts.pull_request_to_fetch}: {error}") from None


def _log_request(reporter: Reporter, settings: Settings, request: CreateSessionRequest) -> None:
    with reporter.group("Request to the Recoupable API"):
        reporter.info(f"POST {settings.api_url}/api/sessions")
        reporter.info("x-api-key: ***")
        reporter.info(json.dumps(request.body(), indent=2, ensure_ascii=False))


def _github_access(settings: Settings, env: RunnerEnv, full_name: str) -> GitHubAccess | None:
    """How to reach GitHub for `full_name`, or None without a token."""
    if settings.github_token is None:
        return None
    from .github_api import GitHubAccess  # noqa: PLC0415 (a dry run never reaches GitHub)

    api_key = settings.api_key.get_secret_value() if settings.api_key else ""
    return GitHubAccess(
        api_url=env.api_url,
        token=settings.github_token.get_secret_value(),
        full_name=full_name,
        timeout_seconds=settings.timeout_seconds,
        secrets=(api_key,),
    )


def build_request(settings: Settings, target: Target) -> CreateSessionRequest:
    """The body to send for this target: only what is set."""
    pull = target.pull_request
    pull_title = f"{pull.title} (#{pull.number})" if pull and not pull.is_issue and pull.title else None
    return CreateSessionRequest(
        title=settings.title or pull_title,
        repoOwner=target.repository.owner,
        repoName=target.repository.name,
        branch=target.branch,
        cloneUrl=target.clone_url,
        isNewBranch=True if settings.new_branch else None,
        sandboxType=settings.sandbox_type,
        organizationId=settings.organization_id,
    )


def _create(
    reporter: Reporter, settings: Settings, target: Target, request: CreateSessionRequest, seams: Seams
) -> Outcome:
    from .recoupable_client import RecoupableClient  # noqa: PLC0415 (no HTTP client for a dry run)

    assert settings.api_key is not None
    api_key = settings.api_key.get_secret_value()

    def log_retry(attempt: int, reason: str, wait: float) -> None:
        reporter.info(f"Attempt {attempt} failed: {reason}; retrying in {wait:.1f}s")

    with RecoupableClient(
        settings.api_url,
        api_key,
        timeout_seconds=settings.timeout_seconds,
        max_retries=settings.max_retries,
        on_retry=log_retry,
        transport=seams.recoupable_transport,
    ) as client:
        try:
            created = client.create_session(request)
            if created.attempts > 1:
                reporter.info(f"The API accepted attempt {created.attempts}.")
        except ApiFailure as failure:
            return Outcome(
                state=State.FAILED,
                message=f"Could not create the session: {failure}.",
                target=target,
                request=request,
                outcome_unknown=failure.outcome_unknown,
            )
    return Outcome(
        state=State.CREATED,
        target=target,
        request=request,
        response=created.response,
        response_body=created.body,
        session_url=session_url(settings.app_url, created.response),
    )


def _finish(reporter: Reporter, outcome: Outcome, *, comment_outputs_follow: bool = False) -> int:
    """Report the outcome: annotations, log, outputs (comment outputs later, if a comment step follows)."""
    if outcome.state is State.FAILED:
        reporter.error(outcome.message, title="Recoupable session not created")
    elif outcome.state is State.SKIPPED:
        reporter.notice(outcome.message, title="Recoupable session skipped")
    for mismatch in outcome.mismatches:
        reporter.warning(f"The session does not match the request: {mismatch}.", title="Session differs")
    if outcome.response is not None:
        reporter.info(f"Session {outcome.response.session.id} created: {outcome.session_url}")
    values = outputs(outcome)
    if comment_outputs_follow:
        values = {name: value for name, value in values.items() if name not in COMMENT_OUTPUTS}
    with reporter.group("Outputs"):
        for name, value in values.items():
            reporter.info(f"{name}: {value}")
    reporter.set_outputs(values)
    reporter.add_summary(summary(outcome))
    return 1 if outcome.state is State.FAILED else 0


def _comment(reporter: Reporter, settings: Settings, env: RunnerEnv, outcome: Outcome, seams: Seams) -> int:
    """Keep the pull request's comment up to date; a failure here never loses the session."""
    result, exit_code = _post_comment(reporter, settings, env, outcome, seams)
    done = outcome.model_copy(update={"comment": result, "comment_note": result.problem})
    comment_values = {name: value for name, value in outputs(done).items() if name in COMMENT_OUTPUTS}
    reporter.set_outputs(comment_values)
    reporter.add_summary(comment_summary(done))
    return exit_code


def _post_comment(
    reporter: Reporter, settings: Settings, env: RunnerEnv, outcome: Outcome, seams: Seams
) -> tuple[CommentResult, int]:
    assert outcome.target is not None
    if settings.comment is CommentMode.OFF:
        reporter.info("No comment: comment is off.")
        return CommentResult(problem="comment is off"), 0
    access = _github_access(settings, env, env.repository or outcome.target.repository.full_name)
    if access is None:
        reporter.notice("No pull-request comment: github-token is empty.", title="No comment")
        return CommentResult(problem="github-token is empty"), 0
    from .comment import never_comments, post_comment  # noqa: PLC0415 (the comment's modules only when commenting)

    if settings.pr_number is None and (reason := never_comments(env)) is not None:
        reporter.info(reason)
        return CommentResult(problem=reason), 0
    try:
        result = post_comment(seams.github(access), settings, env, outcome)
    except GitHubError as error:
        return _comment_failed(reporter, settings, str(error))
    except Exception as error:  # a bug in the comment step must not report a created session as lost
        return _comment_failed(reporter, settings, f"unexpected {type(error).__name__} (please report it)")
    if result.url is None:
        reporter.info(result.problem or "No comment made.")
    else:
        reporter.info(f"Comment {result.action}: {result.url}")
    return result, 0


def _comment_failed(reporter: Reporter, settings: Settings, problem: str) -> tuple[CommentResult, int]:
    message = f"The session was created, but the pull-request comment failed: {problem}"
    if settings.fail_on_comment_error:
        reporter.error(message, title="Comment failed")
        return CommentResult(problem=problem), 1
    reporter.warning(message, title="Comment failed")
    return CommentResult(problem=problem), 0
