"""The LSTM cell plugin, registered through the `seqnet` entry points like any third party's."""

from __future__ import annotations

import seqnet
from seqnet_lstm.cell import LSTMCell

__all__ = ["LSTMCell"]


@seqnet.hookimpl
def seqnet_register_cells(register: seqnet.Register) -> None:
    register(LSTMCell)
