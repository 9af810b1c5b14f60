"""The command line speaks command line: messages name flags and environment variables, `--dry-run` checks and
shows everything, a usage error exits 2, each command's help works, and a checkout that is not on GitHub names
no repository. The console script's entry point runs in this process (`test_cli.py` starts it as a program)."""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from recoup_session_action import USER_AGENT, entry
from recoup_session_action.inputs import INPUT_SPECS
from recoup_session_action.standins.recoupable import RecoupableStandIn

from .conftest import API_KEY, ActionRun, RunAction, git_checkout, keep_signal_handlers, pull_request_event

WORKFLOW_WORDS = ("${{", "secrets.", "Input '", "' input", "api-key secret")


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Runs `recoup-session-action ARGS` outside a runner, in `cwd` (a fresh folder by default)."""

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
        stdout, stderr = io.StringIO(), io.StringIO()
        environ = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **(env or {})}
        with keep_signal_handlers(), monkeypatch.context() as patch, redirect_stdout(stdout), redirect_stderr(stderr):
            patch.setattr(os, "environ", environ)
            patch.chdir(cwd or tmp_path)
            try:
                code = entry.main(list(args))
            except SystemExit as exit_:  # argparse: --help, a usage error
                code = exit_.code if isinstance(exit_.code, int) else 1
        return Result(code, stdout.getvalue(), stderr.getvalue())

    return run


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return git_checkout(tmp_path, "https://github.com/acme/tool.git")


@pytest.fixture
def api() -> Iterator[RecoupableStandIn]:
    with RecoupableStandIn() as server:
        yield server


def assert_speaks_command_line(result: Result) -> None:
    for word in WORKFLOW_WORDS:
        assert word not in result.text, result.text
    assert "Traceback" not in result.text


# -- messages name flags and environment variables --------------------------------------------------------------


def test_a_missing_key_names_the_flag_and_the_variable_even_in_a_dry_run(
    cli: Callable[..., Result], repo: Path, api: RecoupableStandIn
) -> None:
    result = cli("--api-url", api.url, "--dry-run", cwd=repo)

    assert result.code == 1
    assert "error: --api-key or RECOUP_API_KEY is required: pass the Recoupable API key." in result.stderr
    assert_speaks_command_line(result)
    assert api.requests == []


def test_a_refused_key_says_where_the_key_comes_from(
    cli: Callable[..., Result], repo: Path, api: RecoupableStandIn
) -> None:
    result = cli("--api-url", api.url, env={"RECOUP_API_KEY": "recoup_sk_wrong"}, cwd=repo)

    assert result.code == 1
    assert "401: Unauthorized; check --api-key or RECOUP_API_KEY: it is missing, wrong or expired" in result.stderr
    assert_speaks_command_line(result)


def test_retry_and_timeout_limits_are_named_as_flags(cli: Callable[..., Result], repo: Path) -> None:
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens there
    result = cli("--api-url", closed, "--max-retries", "0", env={"RECOUP_API_KEY": API_KEY}, cwd=repo)

    assert result.code == 1
    assert "gave up after 1 attempt (--max-retries 0)" in result.stderr
    assert_speaks_command_line(result)


def test_a_detached_head_asks_for_branch_flags(cli: Callable[..., Result], repo: Path, api: RecoupableStandIn) -> None:
    (repo / ".git" / "HEAD").write_text("0" * 40 + "\n")  # detached: HEAD names a commit, not a branch

    result = cli("--api-url", api.url, env={"RECOUP_API_KEY": API_KEY}, cwd=repo)

    assert result.code == 1
    assert "no branch to start the session on: HEAD is detached or this is not a git checkout; " in result.stderr
    assert "pass --branch or --new-branch" in result.stderr
    assert_speaks_command_line(result)


def test_a_comment_without_a_token_names_the_flag(
    cli: Callable[..., Result], repo: Path, api: RecoupableStandIn
) -> None:
    result = cli("--api-url", api.url, "--pr-number", "5", env={"RECOUP_API_KEY": API_KEY}, cwd=repo)

    assert result.code == 0, result.text
    assert "note: No pull-request comment: --github-token is empty." in result.stderr
    assert_speaks_command_line(result)


def test_the_action_still_names_workflow_inputs(action_in_process: RunAction, tmp_path: Path) -> None:
    with RecoupableStandIn() as server:
        run: ActionRun = action_in_process(
            event_name="pull_request",
            event=pull_request_event(),
            inputs={"api-url": server.url, "comment": "off", "dry-run": "true"},
        )
        assert server.requests == []

    assert run.returncode == 1  # a dry run checks everything a real run would: the key too
    assert "Input 'api-key' is required" in run.outputs["error"]
    assert "${{ secrets.RECOUP_API_KEY }}" in run.outputs["error"]
    bad = action_in_process(event_name="pull_request", event=pull_request_event(), inputs={"timeout-seconds": "abc"})
    assert bad.returncode == 1  # a bad input fails the step; on the command line it is a usage error
    assert bad.outputs["error"].startswith("Input 'timeout-seconds': 'abc' is not a number of seconds")


# -- --dry-run ---------------------------------------------------------------------------------------------------


def test_dry_run_prints_the_request_it_would_send_without_verbose(
    cli: Callable[..., Result], repo: Path, api: RecoupableStandIn
) -> None:
    result = cli("--api-url", api.url, "--dry-run", "--title", "Try it", env={"RECOUP_API_KEY": API_KEY}, cwd=repo)

    assert result.code == 0, result.text
    assert api.requests == []
    lines = result.stderr.splitlines()
    start = lines.index(f"POST {api.url}/api/sessions")
    assert lines[start + 1 : start + 5] == [
        f"User-Agent: {USER_AGENT}",
        "Accept: application/json",
        "x-api-key: ***",
        "Content-Type: application/json",
    ]
    body = json.loads("\n".join(lines[start + 5 : lines.index("}", start) + 1]))
    assert body == {
        "title": "Try it",
        "repoOwner": "acme",
        "repoName": "tool",
        "branch": "topic/cli",
        "cloneUrl": "https://github.com/acme/tool.git",
        "sandboxType": "vercel",
    }
    assert API_KEY not in result.text
    assert re.search(r"^outcome +dry-run$", result.stdout, flags=re.MULTILINE)


def test_json_works_for_a_dry_run_and_a_failure(cli: Callable[..., Result], repo: Path, api: RecoupableStandIn) -> None:
    dry = cli("--api-url", api.url, "--dry-run", "--json", env={"RECOUP_API_KEY": API_KEY}, cwd=repo)
    assert dry.code == 0
    assert json.loads(dry.stdout)["outcome"] == "dry-run"
    assert json.loads(dry.stdout)["repository"] == "acme/tool"

    failed = cli("--api-url", api.url, "--json", cwd=repo)
    assert failed.code == 1
    assert json.loads(failed.stdout)["error"].startswith("--api-key or RECOUP_API_KEY is required")


# -- usage errors exit 2 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--timeout-seconds", "abc"), "--timeout-seconds: 'abc' is not a number of seconds above 0"),
        (("--comment", "sometimes"), "--comment: 'sometimes' is not one of update, create, off."),
        (("--repository", "acme"), "--repository: 'acme' is not of the form owner/name."),
        (("--clone-url", "ftp://github.com/acme/tool.git"), "--clone-url: 'ftp://github.com/acme/tool.git' is not a"),
        (("--bogus",), "unrecognized arguments: --bogus"),
        (("--max-retries",), "argument --max-retries: expected one argument"),
        (("frobnicate",), "invalid choice: 'frobnicate'"),
        (("demo", "--json"), "unrecognized arguments: --json"),
        (("--json", "demo"), "demo takes no options"),
        (("help", "nothing"), "invalid choice: 'nothing'"),
    ],
)
def test_every_usage_error_exits_2(
    cli: Callable[..., Result], repo: Path, api: RecoupableStandIn, args: tuple[str, ...], message: str
) -> None:
    result = cli("--api-url", api.url, *args, env={"RECOUP_API_KEY": API_KEY}, cwd=repo)

    assert result.code == 2, result.text
    assert message in result.stderr
    assert_speaks_command_line(result)
    assert api.requests == []


def test_help_says_how_usage_errors_exit(cli: Callable[..., Result]) -> None:
    assert "2 on a usage error" in cli("--help").stdout


# -- help -------------------------------------------------------------------------------------------------------


def test_help_and_demo_help_work(cli: Callable[..., Result]) -> None:
    main_help = cli("--help")
    assert main_help.code == 0
    assert cli("help") == main_help
    demo_help = cli("demo", "--help")
    assert demo_help.code == 0
    assert demo_help.stdout.startswith("usage: recoup-session-action demo [-h]")
    assert "--json" not in demo_help.stdout  # it lists only what the demo takes
    assert cli("help", "demo") == demo_help


def test_help_says_the_comment_is_off_outside_a_runner_unless_pr_number(cli: Callable[..., Result]) -> None:
    text = " ".join(cli("--help").stdout.split())
    assert "The pull-request comment is off outside a runner unless --pr-number is given" in text


def test_help_offers_a_flag_for_every_input_with_its_spec_help(cli: Callable[..., Result]) -> None:
    text = " ".join(cli("--help").stdout.split())
    for spec in INPUT_SPECS:
        assert f"--{spec.name}" in text
        assert " ".join(spec.flag_help.split()) in text, spec.name


# -- a checkout not on GitHub names no repository ----------------------------------------------------------------


@pytest.mark.parametrize(
    "remote",
    ["/srv/git/tool.git", "../tool", "file:///srv/git/acme/tool.git", "https://gitlab.example.com/acme/tool.git"],
)
def test_a_remote_that_is_not_on_github_names_no_repository(
    cli: Callable[..., Result], tmp_path: Path, api: RecoupableStandIn, remote: str
) -> None:
    repo = git_checkout(tmp_path, remote)

    result = cli("--api-url", api.url, env={"RECOUP_API_KEY": API_KEY}, cwd=repo)

    assert result.code == 1
    assert f"the origin remote {remote!r} is not a repository on github.com" in result.stderr
    assert "pass --repository and --clone-url" in result.stderr
    assert api.requests == []

    given = cli("--api-url", api.url, "--repository", "acme/tool", env={"RECOUP_API_KEY": API_KEY}, cwd=repo)
    assert given.code == 0, given.text
    assert api.posts[0].json()["cloneUrl"] == "https://github.com/acme/tool.git"


def test_a_remote_on_the_enterprise_server_of_the_environment_is_used(
    cli: Callable[..., Result], tmp_path: Path, api: RecoupableStandIn
) -> None:
    repo = git_checkout(tmp_path, "git@ghe.example.com:acme/tool.git")

    result = cli(
        "--api-url",
        api.url,
        env={"RECOUP_API_KEY": API_KEY, "GITHUB_SERVER_URL": "https://ghe.example.com"},
        cwd=repo,
    )

    assert result.code == 0, result.text
    body = api.posts[0].json()
    assert (body["repoOwner"], body["repoName"], body["cloneUrl"]) == (
        "acme",
        "tool",
        "git@ghe.example.com:acme/tool.git",
    )


def test_a_derived_clone_url_passes_the_same_check_as_the_flag(
    cli: Callable[..., Result], tmp_path: Path, api: RecoupableStandIn
) -> None:
    repo = git_checkout(tmp_path, "ftp://github.com/acme/tool.git")

    derived = cli("--api-url", api.url, env={"RECOUP_API_KEY": API_KEY}, cwd=repo)
    given = cli("--api-url", api.url, "--clone-url", "ftp://github.com/acme/tool.git", env={"RECOUP_API_KEY": API_KEY})

    rule = "'ftp://github.com/acme/tool.git' is not a clone URL"
    assert derived.code == 1
    assert f"the checkout's clone URL is not usable: {rule}" in derived.stderr
    assert "pass --clone-url" in derived.stderr
    assert given.code == 2
    assert f"--clone-url: {rule}" in given.stderr
    assert api.requests == []
