"""The command line outside a runner: facts from the local checkout, results for a person (or --json)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

from .checkout import local_facts
from .console import ConsoleReporter, printable
from .context import RunnerEnv
from .deadline import cancel_on_signals
from .flow import Seams, run
from .interface import COMMAND_LINE, ENVIRONMENT_FALLBACKS


def main(overrides: Mapping[str, str], *, as_json: bool, verbose: bool, seams: Seams | None = None) -> int:
    """Run once; messages name flags (and the environment variables the secrets fall back to), and a bad flag
    value is a usage error (exit 2)."""
    cancel_on_signals()  # Ctrl-C ends the run with what it knows, not a traceback
    raw = {
        **{name: os.environ.get(variable, "") for name, variable in ENVIRONMENT_FALLBACKS.items()},
        "comment": "update" if "pr-number" in overrides else "off",
        **overrides,
    }
    reporter = ConsoleReporter(sys.stderr, verbose=verbose, secrets=(raw["api-key"], raw["github-token"]))
    env = RunnerEnv.from_environ(os.environ)
    exit_code = run(
        raw, env, lambda: local_facts(".", env.server_url), reporter, seams or Seams(), interface=COMMAND_LINE
    )
    if as_json:
        print(json.dumps(reporter.outputs, indent=2, ensure_ascii=False))
    else:
        width = max(map(len, reporter.outputs), default=0)
        for name, value in reporter.outputs.items():
            if value and name != "response":
                print(f"{name:<{width}}  {printable(value)}")
    return exit_code
