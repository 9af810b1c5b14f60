"""The benchmark's stack floor measures the work the action adds, not its process settings: it runs under the
same ones (the collector's threshold, the objects frozen at exit, pydantic's plugins off)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from recoup_session_action.entry import COLLECTOR_THRESHOLD

STACK_FLOOR = Path(__file__).resolve().parents[1] / "benchmarks" / "stack_floor.py"
# Registered before `code` runs, so run after its own exit handlers.
SETTINGS = """\
import atexit, gc, os
frozen = gc.get_freeze_count()  # 3.12 starts with some objects frozen
def report():
    print(gc.get_threshold()[0], gc.get_freeze_count() > frozen, os.environ.get("PYDANTIC_DISABLE_PLUGINS"))
atexit.register(report)
"""


def _settings_after(code: str) -> str:
    """The collector threshold, whether objects were frozen at exit, and the plugin setting of a fresh Python that
    ran `code` (no setting inherited)."""
    command = [sys.executable, "-c", f"{SETTINGS}\n{code}", str(STACK_FLOOR)]
    return subprocess.run(command, env={}, capture_output=True, text=True, check=True).stdout.strip()


def test_the_stack_floor_runs_under_the_actions_process_settings() -> None:
    action = _settings_after("import recoup_session_action.entry as entry\nentry.main = lambda: 0\nentry.console()")
    floor = _settings_after("import runpy, sys\nrunpy.run_path(sys.argv[1])")

    assert action == f"{COLLECTOR_THRESHOLD} True __all__"
    assert floor == action
