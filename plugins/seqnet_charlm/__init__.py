"""The character language-model task plugin, registered through the `seqnet` entry points."""

from __future__ import annotations

import seqnet
from seqnet_charlm.task import CharLMTask

__all__ = ["CharLMTask"]


@seqnet.hookimpl
def seqnet_register_tasks(register: seqnet.Register) -> None:
    register(CharLMTask)
