"""The copy (delayed recall) task plugin, registered through the `seqnet` entry points."""

from __future__ import annotations

import seqnet
from seqnet_copy.task import CopyTask

__all__ = ["CopyTask"]


@seqnet.hookimpl
def seqnet_register_tasks(register: seqnet.Register) -> None:
    register(CopyTask)
