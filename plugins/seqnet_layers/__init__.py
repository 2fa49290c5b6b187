"""The built-in layers: embedding, dense, activation, dropout, layernorm, bidirectional and
residual.

Registered through the `seqnet` entry points, exactly as a third party's layers are.
"""

from __future__ import annotations

import seqnet
from seqnet_layers.activation import ActivationLayer
from seqnet_layers.bidirectional import Bidirectional
from seqnet_layers.dense import Dense
from seqnet_layers.dropout import Dropout
from seqnet_layers.embedding import Embedding
from seqnet_layers.layernorm import LayerNorm
from seqnet_layers.residual import Residual

__all__ = [
    "ActivationLayer",
    "Bidirectional",
    "Dense",
    "Dropout",
    "Embedding",
    "LayerNorm",
    "Residual",
]


@seqnet.hookimpl
def seqnet_register_layers(register: seqnet.Register) -> None:
    for layer in (Embedding, Dense, ActivationLayer, Dropout, LayerNorm, Bidirectional, Residual):
        register(layer)
