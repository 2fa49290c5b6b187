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


def step_weights(mask: Array) -> Array:
    """Each step's share of the mean: mask / (number of scored steps), (T, B)."""
    return mask / max(float(np.add.reduce(mask, axis=None)), 1.0)


def sigmoid_bce(logits: Array, y: Array, mask: Array) -> tuple[float, Array]:
    """Binary cross-entropy of sigmoid(logits) against y in [0, 1], summed over V."""
    weight = step_weights(mask)  # (T, B)
    # -[y log s + (1-y) log(1-s)] == max(z, 0) - z y + log(1 + e^-|z|)
    per = np.abs(logits)
    np.negative(per, out=per)
    np.exp(per, out=per)
    np.log1p(per, out=per)
    per += np.maximum(logits, 0.0)
    per -= logits * y  # (T, B, V)
    loss = float(np.vdot(np.add.reduce(per, axis=-1), weight))
    # d/dz = sigmoid(z) - y, with sigmoid(z) = (1 + tanh(z/2)) / 2
    dlogits = np.multiply(logits, 0.5, out=per)
    np.tanh(dlogits, out=dlogits)
    dlogits *= 0.5
    dlogits += 0.5
    dlogits -= y
    dlogits *= weight[..., None]
    return loss, dlogits


def softmax_ce(logits: Array, y: Array, mask: Array) -> tuple[float, Array]:
    """Cross-entropy of softmax(logits) against integer classes y (T, B)."""
    weight = step_weights(mask)  # (T, B)
    V = logits.shape[-1]
    shifted = logits - np.maximum.reduce(logits, axis=-1, keepdims=True)  # ≤ 0: exp is safe
    probs = np.exp(shifted)  # (T, B, V), normalised below
    total = np.add.reduce(probs, axis=-1, keepdims=True)  # (T, B, 1), ≥ 1
    rows = np.arange(probs.size // V)
    picked = y.reshape(-1).astype(np.intp)
    # -log softmax(z)_y == log Σ e^(z - max) - (z_y - max)
    log_p = shifted.reshape(-1, V)[rows, picked] - np.log(total).reshape(-1)  # (T·B,)
    loss = -float(np.vdot(log_p, weight.reshape(-1)))
    # d/dz = softmax(z) - onehot(y)
    probs /= total
    flat = probs.reshape(-1, V)
    flat[rows, picked] -= 1.0
    probs *= weight[..., None]
    return loss, probs


def mse(logits: Array, y: Array, mask: Array) -> tuple[float, Array]:
    """Squared error of the raw outputs against y, summed over V, averaged over scored steps."""
    weight = step_weights(mask)  # (T, B)
    diff = logits - y
    dlogits = diff * (2.0 * weight)[..., None]  # d/dz Σ w (z - y)² = 2 w (z - y)
    return 0.5 * float(np.vdot(diff, dlogits)), dlogits  # Σ w (z - y)² == ½ Σ diff · dlogits


LOSSES: dict[LossName, LossFn] = {
    "sigmoid_bce": sigmoid_bce,
    "softmax_ce": softmax_ce,
    "mse": mse,
}


def get_loss(name: LossName) -> LossFn:
    return LOSSES[name]
