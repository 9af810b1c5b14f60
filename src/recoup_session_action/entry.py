"""The console script: `recoup-session-action` is the action under a runner, a command-line tool
elsewhere, and `recoup-session-action demo` runs the demo. This module only parses and dispatches."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from . import __version__
from .inputs import BOOLEAN_INPUTS, INPUT_SPECS

if TYPE_CHECKING:
    import argparse

DESCRIPTION = """\
Start a Recoupable agent session (POST /api/sessions) for a repository and branch.

Under GitHub Actions (GITHUB_ACTIONS=true) it is the action: it reads its inputs from INPUT_* variables
(INPUT_API-KEY as the runner passes it, or INPUT_API_KEY), the event from GITHUB_EVENT_PATH, and writes
GITHUB_OUTPUT and GITHUB_STEP_SUMMARY. Flags override inputs.

Elsewhere it is a command-line tool: repository, branch and clone URL default from the git checkout in the
current directory (the 'origin' remote and the current branch), the key from --api-key or RECOUP_API_KEY,
the GitHub token (for --pr-number comments) from --github-token or GITHUB_TOKEN.
"""
EPILOG = """\
commands:
  demo    run the whole flow against local stand-ins of the Recoupable and GitHub APIs
          (no credentials, no network) and show the outputs, summary and comment

exit status: 0 on success or skip, 1 on failure, 2 on a usage error.
"""
HELP = {
    "api-key": "Recoupable API key, sent as x-api-key (default: $RECOUP_API_KEY outside a runner)",
    "api-url": "API base URL (default: https://api.recoupable.com)",
    "app-url": "base of the session link (default: https://chat.recoupable.com)",
    "title": "session title (default: '{PR title} (#{number})' on a pull request, else chosen by the server)",
    "repository": "owner/name (default: from the event, or the origin remote)",
    "branch": "branch (default: from the event, or the current branch)",
    "new-branch": "let the server create a new branch (isNewBranch: true)",
    "clone-url": "clone URL (default: from the event, or the origin remote)",
    "sandbox-type": "sandbox provider (default: vercel, the only one the API accepts)",
    "organization-id": "Recoupable organization UUID",
    "github-token": "GitHub token for the pull-request comment (default: $GITHUB_TOKEN outside a runner)",
    "comment": "update (one sticky comment), create (a new one each run) or off",
    "comment-tag": "tag that identifies this action's comment (default: recoup-session)",
    "comment-template": "Markdown template with {session_url} {session_id} {chat_id} {repository} {branch} "
    "{status} {run_url}",
    "session": "reuse (the session the comment records, while it runs) or new (always create) (default: reuse)",
    "on-close": "archive (PATCH the recorded session to archived) or keep, when a pull request closes",
    "command": "first word an issue_comment must have (default: /recoup; empty: every comment)",
    "pr-number": "pull request (or issue) to comment on, overriding the event",
    "allowed-associations": "comma-separated author associations allowed to trigger on issue_comment "
    "(default: OWNER,MEMBER,COLLABORATOR)",
    "fail-on-comment-error": "exit 1 when the comment fails (the session is kept either way)",
    "dry-run": "resolve and validate everything, print the request and outputs, send nothing",
    "timeout-seconds": "total time for the API call, retries included (default: 30)",
    "max-retries": "retries after the first attempt, only where no session can have been made (default: 3)",
}


def build_parser() -> argparse.ArgumentParser:
    import argparse  # noqa: PLC0415 (a runner passes no arguments, and then the parser is never built)

    parser = argparse.ArgumentParser(
        prog="recoup-session-action",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", nargs="?", choices=["demo"], help=argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--json", action="store_true", help="print the outputs as one JSON object (CLI)")
    parser.add_argument("--verbose", action="store_true", help="also print the request and details (CLI)")
    inputs = parser.add_argument_group("inputs (named like the action's inputs)")
    for spec in INPUT_SPECS:
        flag = f"--{spec.name}"
        if spec.name in BOOLEAN_INPUTS:
            inputs.add_argument(flag, action="store_const", const="true", help=HELP[spec.name])
        else:
            inputs.add_argument(flag, metavar=spec.name.upper().replace("-", "_"), help=HELP[spec.name])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    under_runner = os.environ.get("GITHUB_ACTIONS") == "true"
    if under_runner and not arguments:
        # How a runner starts the image: nothing to parse, so argparse is not even imported.
        return _action({})
    args = build_parser().parse_args(arguments)
    overrides = {
        spec.name: value for spec in INPUT_SPECS if (value := getattr(args, spec.name.replace("-", "_"))) is not None
    }
    if args.command == "demo":
        return _demo()
    if under_runner:
        return _action(overrides)
    from .cli import main as cli_main  # noqa: PLC0415

    return cli_main(overrides, as_json=args.json, verbose=args.verbose)


def _demo() -> int:
    try:
        from .standins.demo import main as demo_main  # noqa: PLC0415 (the stand-ins load only for the demo)
    except ImportError:
        print("The demo is not part of the image: run it from a clone (see the README's quickstart).", file=sys.stderr)
        return 2
    return demo_main()


def _action(overrides: Mapping[str, str]) -> int:
    from .action import main as action_main  # noqa: PLC0415 (the CLI path does not load the runner's modules)

    return action_main(overrides)


if __name__ == "__main__":
    sys.exit(main())
