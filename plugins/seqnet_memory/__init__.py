"""The memory cell plugins: `stack_rnn` and `tape_rnn`, registered through the `seqnet` entry
points like any third party's."""

from __future__ import annotations

import seqnet
from seqnet_memory.cells import StackRNNCell, TapeRNNCell

__all__ = ["StackRNNCell", "TapeRNNCell"]


@seqnet.hookimpl
def seqnet_register_cells(register: seqnet.Register) -> None:
    register(StackRNNCell)
    register(TapeRNNCell)
