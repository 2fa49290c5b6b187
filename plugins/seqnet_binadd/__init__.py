"""The binary addition task plugin, registered through the `seqnet` entry points."""

from __future__ import annotations

import seqnet
from seqnet_binadd.task import BinaryAdditionTask

__all__ = ["BinaryAdditionTask"]


@seqnet.hookimpl
def seqnet_register_tasks(register: seqnet.Register) -> None:
    register(BinaryAdditionTask)
