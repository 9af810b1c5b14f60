"""The console script: `recoup-session-action` is the action under a runner, a command-line tool
elsewhere, and `recoup-session-action demo` runs the demo. This module only parses and dispatches."""

from __future__ import annotations

import atexit
import gc
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:
    import argparse

    from .flow import Seams

PROG = "recoup-session-action"
COLLECTOR_THRESHOLD = 200_000
"""The cyclic collector's first threshold for a run's process (CPython's default: 700, or 2,000 from 3.13). A
run grows by some 80,000 tracked objects, the classes, functions and schemas of the libraries it imports, and
almost none of them is garbage (under 1,000 in a whole run); at the default, the collector walks them dozens of
times in an update run, once in full, for nothing. Above a run's growth, a normal run never collects; a long
wait (a claim polled for minutes) still does, so its memory stays bounded."""
DESCRIPTION = """\
Start a Recoupable agent session (POST /api/sessions) for a repository and branch.

Under GitHub Actions (GITHUB_ACTIONS=true) it is the action: it reads its inputs from INPUT_* variables
(INPUT_API-KEY as the runner passes it, or INPUT_API_KEY), the event from GITHUB_EVENT_PATH, and writes
GITHUB_OUTPUT and GITHUB_STEP_SUMMARY. Flags override inputs.

Elsewhere it is a command-line tool: repository, branch and clone URL default from the git checkout in the
current directory (the 'origin' remote, if it is on GitHub, and the current branch), the key from --api-key or
RECOUP_API_KEY. The pull-request comment is off outside a runner unless --pr-number is given (then the GitHub
token comes from --github-token or GITHUB_TOKEN).
"""
EPILOG = """\
exit status: 0 on success or skip, 1 on failure, 2 on a usage error (a bad flag or flag value).
"""
DEMO_DESCRIPTION = """\
Play the life of a pull request against local stand-ins of the Recoupable and GitHub APIs, on 127.0.0.1: no
credentials and no network. The pull request is opened (a session is created), pushed to (the same session is
reused) and closed (the session is archived); each run's log and outputs are shown, with the pull-request
comment after each. Takes no options.
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line: the run's options (every input is a flag of its name) and the `demo` and `help`
    commands, each with only the options it takes."""
    import argparse  # noqa: PLC0415 (a runner passes no arguments, and then the parser is never built)

    # Not at the top: the inputs load pydantic, and the console script sets the collector (`console`) first.
    from .inputs import BOOLEAN_INPUTS, INPUT_SPECS  # noqa: PLC0415

    parser = argparse.ArgumentParser(
        prog=PROG, description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--json", action="store_true", help="print the outputs as one JSON object (CLI)")
    parser.add_argument("--verbose", action="store_true", help="also print the request and details (CLI)")
    inputs = parser.add_argument_group("inputs (named like the action's inputs)")
    for spec in INPUT_SPECS:
        if spec.name in BOOLEAN_INPUTS:
            inputs.add_argument(f"--{spec.name}", action="store_const", const="true", help=spec.flag_help)
        else:
            inputs.add_argument(f"--{spec.name}", metavar=spec.name.upper().replace("-", "_"), help=spec.flag_help)
    commands = parser.add_subparsers(dest="subcommand", metavar="command", title="commands")
    commands.add_parser(
        "demo",
        help="play a pull request's life against local stand-ins of both APIs (no credentials, no network)",
        description=DEMO_DESCRIPTION,
    )
    helper = commands.add_parser("help", help="show this help, or a command's (help demo)")
    helper.add_argument("topic", nargs="?", choices=["demo"], help="the command to explain")
    return parser


def console() -> int:
    """The console script, and `python -m recoup_session_action`: a process of its own for one run.

    Its collector runs rarely (`COLLECTOR_THRESHOLD`), and not at all at exit: the interpreter's finalization
    would walk every object of the run again, for memory the process is about to give back. `gc.freeze`,
    registered first so that it is the last exit handler, leaves it nothing to walk; reference counting still
    frees objects, files are closed by `with`, streams are flushed. Together these take a sixth to a third off a
    run (`benchmarks/run.py`, the default-collector rows)."""
    gc.set_threshold(COLLECTOR_THRESHOLD)
    atexit.register(gc.freeze)
    return main()


def main(argv: Sequence[str] | None = None, *, seams: Seams | None = None) -> int:
    """`seams`: what a run reaches and how long it pauses (`flow.Seams`), for runs in a test's process."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    under_runner = os.environ.get("GITHUB_ACTIONS") == "true"
    if under_runner and not arguments:
        # How a runner starts the image: nothing to parse, so argparse is not even imported.
        return _action({}, seams)
    parser = build_parser()
    args = parser.parse_args(arguments)
    if args.subcommand == "help":
        parser.parse_args([args.topic, "--help"] if args.topic else ["--help"])
    overrides = _flagged_inputs(args)
    if args.subcommand == "demo":
        if overrides or args.json or args.verbose:
            parser.error("demo takes no options (see: help demo)")
        return _demo()
    if under_runner:
        return _action(overrides, seams)
    from .cli import main as cli_main  # noqa: PLC0415

    return cli_main(overrides, as_json=args.json, verbose=args.verbose, seams=seams)


def _flagged_inputs(args: argparse.Namespace) -> dict[str, str]:
    from .inputs import INPUT_SPECS  # noqa: PLC0415 (see build_parser)

    given = {spec.name: getattr(args, spec.name.replace("-", "_")) for spec in INPUT_SPECS}
    return {name: value for name, value in given.items() if value is not None}


def _demo() -> int:
    try:
        from .standins.demo import main as demo_main  # noqa: PLC0415 (the stand-ins load only for the demo)
    except ImportError:
        print("The demo is not part of the image: run it from a clone (see the README's quickstart).", file=sys.stderr)
        return 2
    return demo_main()


def _action(overrides: Mapping[str, str], seams: Seams | None) -> int:
    from .action import main as action_main  # noqa: PLC0415 (the CLI path does not load the runner's modules)

    return action_main(overrides, seams)


if __name__ == "__main__":
    sys.exit(console())
