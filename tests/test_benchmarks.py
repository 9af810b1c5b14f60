"""The benchmark's stack floor measures the work the action adds, not its process settings: it runs under the
same ones (the collector's threshold, pydantic's plugins off)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from recoup_session_action.entry import COLLECTOR_THRESHOLD

STACK_FLOOR = Path(__file__).resolve().parents[1] / "benchmarks" / "stack_floor.py"
SETTINGS = "import gc, os; print(gc.get_threshold()[0], os.environ.get('PYDANTIC_DISABLE_PLUGINS'))"


def _settings_after(code: str) -> str:
    """The collector threshold and the plugin setting in a fresh Python after `code` (no setting inherited)."""
    command = [sys.executable, "-c", f"{code}\n{SETTINGS}", str(STACK_FLOOR)]
    return subprocess.run(command, env={}, capture_output=True, text=True, check=True).stdout.strip()


def test_the_stack_floor_runs_under_the_actions_process_settings() -> None:
    action = _settings_after("import recoup_session_action.entry as entry\nentry.main = lambda: 0\nentry.console()")
    floor = _settings_after("import runpy, sys\nrunpy.run_path(sys.argv[1])")

    assert action == f"{COLLECTOR_THRESHOLD} __all__"
    assert floor == action
