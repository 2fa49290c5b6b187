"""The adding-problem task plugin, registered through the `seqnet` entry points."""

from __future__ import annotations

import seqnet
from seqnet_adding.task import AddingTask

__all__ = ["AddingTask"]


@seqnet.hookimpl
def seqnet_register_tasks(register: seqnet.Register) -> None:
    register(AddingTask)
