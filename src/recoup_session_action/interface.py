"""How a message names an input, and what a bad one costs: the caller's interface, handed to the flow.

Under a runner the inputs are a workflow's `with:` keys and a bad value fails the step (exit 1); on the command
line they are flags (or environment variables, for the two secrets) and a bad value is a usage error (exit 2).
Every message that tells a person which input to fix names it through an `Interface`, so the same rule reads
"set the 'branch' input" in a workflow log and "pass --branch" in a terminal.
"""

from __future__ import annotations

from typing import NamedTuple

# Where the command line looks for a secret input that no flag gave.
ENVIRONMENT_FALLBACKS = {"api-key": "RECOUP_API_KEY", "github-token": "GITHUB_TOKEN"}


class Interface(NamedTuple):
    command_line: bool
    bad_input_exit: int

    def subject(self, name: str) -> str:
        """The input as the subject of an error line: "Input 'branch'" or "--branch"."""
        return f"--{name}" if self.command_line else f"Input '{name}'"

    def ref(self, name: str) -> str:
        """The input in running text: "api-url" or "--api-url"."""
        return f"--{name}" if self.command_line else name

    def setting(self, name: str, value: object) -> str:
        """An input with its value: "max-retries: 3" or "--max-retries 3" ("--new-branch" for a flag's true)."""
        if not self.command_line:
            return f"{name}: {value}"
        return f"--{name}" if value == "true" else f"--{name} {value}"

    def set(self, name: str) -> str:
        """The instruction to give the input: "set the 'branch' input" or "pass --branch"."""
        return f"pass --{name}" if self.command_line else f"set the '{name}' input"

    def secret(self, name: str) -> str:
        """Where a secret input comes from: "the api-key secret" or "--api-key or RECOUP_API_KEY"."""
        if not self.command_line:
            return f"the {name} secret"
        fallback = ENVIRONMENT_FALLBACKS.get(name)
        return f"--{name} or {fallback}" if fallback else f"--{name}"

    def key_required(self) -> str:
        if self.command_line:
            return f"{self.secret('api-key')} is required: pass the Recoupable API key."
        return (
            f"{self.subject('api-key')} is required: pass the Recoupable API key, "
            "e.g. api-key: ${{ secrets.RECOUP_API_KEY }}."
        )


WORKFLOW = Interface(command_line=False, bad_input_exit=1)
COMMAND_LINE = Interface(command_line=True, bad_input_exit=2)
