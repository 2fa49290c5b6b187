"""Fused, overflow-safe output losses over time-major logits, each with a per-step mask.

Each function takes logits (T, B, V), targets and a mask (T, B) and returns the mean loss over
scored steps and d(loss)/d(logits). Nothing here exponentiates a large positive number.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from seqnet.interfaces import Array, LossName

LossFn = Callable[[Array, Array, Array], tuple[float, Array]]


def sigmoid(z: Array) -> Array:
    """The logistic function without overflow: 1/(1+e^-z) == (1 + tanh(z/2)) / 2."""
    return 0.5 * np.tanh(0.5 * z) + 0.5


def sigmoid_bce(logits: Array, y: Array, mask: Array) -> tuple[float, Array]:
    """Binary cross-entropy of sigmoid(logits) against y in [0, 1], summed over V."""
    weight = mask / max(float(mask.sum()), 1.0)  # (T, B)
    # -[y log s + (1-y) log(1-s)] == max(z, 0) - z y + log(1 + e^-|z|)
    per = np.maximum(logits, 0.0) - logits * y + np.log1p(np.exp(-np.abs(logits)))
    loss = float((per.sum(axis=-1) * weight).sum())
    dlogits = (sigmoid(logits) - y) * weight[..., None]
    return loss, dlogits


def softmax_ce(logits: Array, y: Array, mask: Array) -> tuple[float, Array]:
    """Cross-entropy of softmax(logits) against integer classes y (T, B)."""
    weight = mask / max(float(mask.sum()), 1.0)  # (T, B)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    log_p = shifted - log_z  # (T, B, V)
    picked = np.take_along_axis(log_p, y[..., None].astype(np.intp), axis=-1)[..., 0]
    loss = float(-(picked * weight).sum())
    dlogits = np.exp(log_p)
    np.put_along_axis(
        dlogits,
        y[..., None].astype(np.intp),
        np.take_along_axis(dlogits, y[..., None].astype(np.intp), axis=-1) - 1.0,
        axis=-1,
    )
    dlogits *= weight[..., None]
    return loss, dlogits


def mse(logits: Array, y: Array, mask: Array) -> tuple[float, Array]:
    """Squared error of the raw outputs against y, summed over V, averaged over scored steps."""
    weight = mask / max(float(mask.sum()), 1.0)  # (T, B)
    diff = logits - y
    loss = float(((diff * diff).sum(axis=-1) * weight).sum())
    return loss, 2.0 * diff * weight[..., None]


LOSSES: dict[LossName, LossFn] = {
    "sigmoid_bce": sigmoid_bce,
    "softmax_ce": softmax_ce,
    "mse": mse,
}


def get_loss(name: LossName) -> LossFn:
    return LOSSES[name]
