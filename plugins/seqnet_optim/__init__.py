"""The reference optimizers: SGD, Adam, AdamW, RMSProp and Adagrad, with PyTorch's options
(weight decay, momentum, dampening, Nesterov, amsgrad, centered) and learning-rate schedules."""

from __future__ import annotations

import seqnet
from seqnet_optim.adam import Adam, AdamW
from seqnet_optim.optimizers import SGD, Adagrad, RMSProp

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "RMSProp"]


@seqnet.hookimpl
def seqnet_register_optimizers(register: seqnet.Register) -> None:
    for cls in (SGD, Adam, AdamW, RMSProp, Adagrad):
        register(cls)
