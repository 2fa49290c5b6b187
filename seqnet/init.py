"""Weight initialisers shared by the cells: PyTorch's uniform and Keras's Glorot/orthogonal."""

from __future__ import annotations

from typing import Literal

import numpy as np

from seqnet.interfaces import Array


def uniform(rng: np.random.Generator, shape: tuple[int, ...], hidden: int) -> Array:
    """U(-1/√H, 1/√H), PyTorch's default for its recurrent layers."""
    bound = 1.0 / np.sqrt(hidden)
    return rng.uniform(-bound, bound, shape)


def glorot_uniform(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    """U(-√(6/(fan_in+fan_out)), +...), Keras's default for input weights."""
    bound = np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-bound, bound, shape)


def orthogonal(rng: np.random.Generator, size: int, blocks: int = 1) -> Array:
    """(size, blocks·size): `blocks` independent orthogonal matrices side by side (Keras)."""
    parts = []
    for _ in range(blocks):
        q, r = np.linalg.qr(rng.standard_normal((size, size)))
        parts.append(q * np.sign(np.diag(r)))  # sign fix makes the draw uniform (Haar)
    return np.concatenate(parts, axis=1)


InitScheme = Literal["uniform", "glorot_orthogonal"]


def recurrent_params(
    rng: np.random.Generator,
    scheme: InitScheme,
    input_size: int,
    hidden: int,
    blocks: int = 1,
    biases: tuple[str, ...] = ("b",),
) -> dict[str, Array]:
    """W_x (D, blocks·H), W_h (H, blocks·H) and each named bias (blocks·H,), in that order.

    `uniform`: every array U(±1/√H) (PyTorch). `glorot_orthogonal`: Glorot W_x, an orthogonal
    W_h per gate block, zero biases (Keras).
    """
    width = blocks * hidden
    if scheme == "uniform":
        params = {
            "W_x": uniform(rng, (input_size, width), hidden),
            "W_h": uniform(rng, (hidden, width), hidden),
        }
        params.update({name: uniform(rng, (width,), hidden) for name in biases})
        return params
    params = {
        "W_x": glorot_uniform(rng, (input_size, width)),
        "W_h": orthogonal(rng, hidden, blocks),
    }
    params.update({name: np.zeros(width) for name in biases})
    return params
