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
from .flow import run


def main(overrides: Mapping[str, str], *, as_json: bool, verbose: bool) -> int:
    cancel_on_signals()  # Ctrl-C ends the run with what it knows, not a traceback
    raw = {
        "api-key": os.environ.get("RECOUP_API_KEY", ""),
        "github-token": os.environ.get("GITHUB_TOKEN", ""),
        "comment": "update" if "pr-number" in overrides else "off",
        **overrides,
    }
    reporter = ConsoleReporter(sys.stderr, verbose=verbose)
    exit_code = run(raw, RunnerEnv.from_environ(os.environ), local_facts, reporter)
    if as_json:
        print(json.dumps(reporter.outputs, indent=2, ensure_ascii=False))
    else:
        width = max(map(len, reporter.outputs), default=0)
        for name, value in reporter.outputs.items():
            if value and name != "response":
                print(f"{name:<{width}}  {printable(value)}")
    return exit_code
