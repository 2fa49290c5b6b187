"""The Elman cell plugin: a plain recurrent layer, registered through the `seqnet` entry points."""

from __future__ import annotations

import seqnet
from seqnet_elman.cell import ElmanCell

__all__ = ["ElmanCell"]


@seqnet.hookimpl
def seqnet_register_cells(register: seqnet.Register) -> None:
    register(ElmanCell)
