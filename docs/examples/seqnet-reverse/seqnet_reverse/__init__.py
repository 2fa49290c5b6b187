"""seqnet-reverse: the reverse task and the IndRNN cell, registered with seqnet."""

import seqnet

from seqnet_reverse.cell import IndRNNCell
from seqnet_reverse.task import ReverseTask

__all__ = ["IndRNNCell", "ReverseTask"]


@seqnet.hookimpl
def seqnet_register_tasks(register: seqnet.Register) -> None:
    register(ReverseTask)


@seqnet.hookimpl
def seqnet_register_cells(register: seqnet.Register) -> None:
    register(IndRNNCell)
