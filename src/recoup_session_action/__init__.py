"""recoup-session-action: start a Recoupable agent session from a GitHub workflow or a terminal."""

import os

__version__ = "0.1.0"
USER_AGENT = f"recoup-session-action/{__version__}"

# pydantic looks for plugins through every installed distribution's entry points at its first model
# (tens of milliseconds on each run); this application uses none.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
