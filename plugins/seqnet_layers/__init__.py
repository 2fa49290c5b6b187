"""The built-in layers: embedding, dense, dropout, layernorm, bidirectional and residual.

Registered through the `seqnet` entry points, exactly as a third party's layers are.
"""

from __future__ import annotations

import seqnet
from seqnet_layers.dense import Dense
from seqnet_layers.dropout import Dropout
from seqnet_layers.embedding import Embedding
from seqnet_layers.layernorm import LayerNorm

__all__ = ["Dense", "Dropout", "Embedding", "LayerNorm"]


@seqnet.hookimpl
def seqnet_register_layers(register: seqnet.Register) -> None:
    for layer in (Embedding, Dense, Dropout, LayerNorm):
        register(layer)
