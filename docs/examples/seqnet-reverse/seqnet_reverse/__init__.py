"""seqnet-reverse: the reverse task, the IndRNN cell and a causal convolution layer."""

import seqnet

from seqnet_reverse.cell import IndRNNCell
from seqnet_reverse.conv import CausalConv
from seqnet_reverse.task import ReverseTask

__all__ = ["CausalConv", "IndRNNCell", "ReverseTask"]


@seqnet.hookimpl
def seqnet_register_tasks(register: seqnet.Register) -> None:
    register(ReverseTask)


@seqnet.hookimpl
def seqnet_register_cells(register: seqnet.Register) -> None:
    register(IndRNNCell)


@seqnet.hookimpl
def seqnet_register_layers(register: seqnet.Register) -> None:
    register(CausalConv)
