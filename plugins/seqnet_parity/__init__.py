"""The running-parity task plugin, registered through the `seqnet` entry points."""

from __future__ import annotations

import seqnet
from seqnet_parity.task import ParityTask

__all__ = ["ParityTask"]


@seqnet.hookimpl
def seqnet_register_tasks(register: seqnet.Register) -> None:
    register(ParityTask)
