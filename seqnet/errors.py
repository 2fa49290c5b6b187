"""The errors seqnet raises on purpose: each carries one line for the user and an exit code."""

from __future__ import annotations


class SeqnetError(Exception):
    """A failure the user can act on. The CLI prints `error: <message>` and exits `exit_code`."""

    exit_code = 1


class SpecError(SeqnetError):
    """A bad run spec, option, override or spec file (a usage error)."""

    exit_code = 2


class DataError(SeqnetError):
    """A data file a task cannot use; the message names the file, the line or row, and why."""

    exit_code = 2


class PluginError(SeqnetError):
    """An unknown, duplicate or broken plugin."""

    exit_code = 2


class NonFiniteError(SeqnetError):
    """Training met a non-finite loss or gradient; the message names the step and parameter."""

    exit_code = 1

    def __init__(self, step: int, what: str) -> None:
        super().__init__(f"non-finite {what} at step {step}; training stopped")
        self.step = step
        self.what = what
