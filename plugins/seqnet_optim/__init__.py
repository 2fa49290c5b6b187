"""The reference optimizers (SGD with momentum and Nesterov, Adam, RMSProp, Adagrad)."""

from __future__ import annotations

import seqnet
from seqnet_optim.optimizers import SGD, Adagrad, Adam, RMSProp

__all__ = ["SGD", "Adagrad", "Adam", "RMSProp"]


@seqnet.hookimpl
def seqnet_register_optimizers(register: seqnet.Register) -> None:
    for cls in (SGD, Adam, RMSProp, Adagrad):
        register(cls)
