"""The `seqnet` command: parse, build one validated spec, call one library function, show it.

Heavy modules (numpy, pydantic, the plugins) are imported inside the commands, so that
`seqnet --help` starts fast. The app and its error handling are seqnet.cli.app; each command
group is its own module, imported here so that its commands are registered.
"""

import warnings

from seqnet import allocator

# `seqnet --help` lists the commands in the order their modules register them
# isort: off
from seqnet.cli import train, runs, sample, sweep, bench, info

# isort: on
from seqnet.cli.app import app, show_warning
from seqnet.progress import number

__all__ = ["app", "bench", "info", "main", "number", "runs", "sample", "sweep", "train"]


def main() -> None:
    warnings.showwarning = show_warning
    # The seqnet program owns its process: each training step's large arrays reuse the memory
    # the last one freed. A library call never changes this (seqnet.allocator).
    allocator.keep_freed_memory()
    app()
