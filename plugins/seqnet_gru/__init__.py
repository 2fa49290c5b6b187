"""The GRU cell plugin, registered through the `seqnet` entry points like any third party's."""

from __future__ import annotations

import seqnet
from seqnet_gru.cell import GRUCell

__all__ = ["GRUCell"]


@seqnet.hookimpl
def seqnet_register_cells(register: seqnet.Register) -> None:
    register(GRUCell)
