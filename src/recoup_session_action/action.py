"""The action entry point: inputs from the runner, the event from GITHUB_EVENT_PATH, reports to the runner."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from .context import RunnerEnv, load_event, resolve_event
from .deadline import cancel_on_signals
from .flow import Seams, run
from .inputs import SECRET_INPUTS
from .runner import RunnerReporter, read_inputs


def main(overrides: Mapping[str, str], seams: Seams | None = None) -> int:
    cancel_on_signals()  # as PID 1 in the image, SIGTERM would otherwise do nothing until the runner kills us
    stream = sys.stdout
    raw = read_inputs(os.environ, overrides, stream)
    env = RunnerEnv.from_environ(os.environ)
    reporter = RunnerReporter.from_environ(os.environ, stream, secrets=[raw[name] for name in SECRET_INPUTS])
    return run(raw, env, lambda: resolve_event(env, load_event(env)), reporter, seams or Seams())
