"""Weight initialisers shared by the cells: PyTorch's uniform and Keras's Glorot/orthogonal."""

from __future__ import annotations

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
