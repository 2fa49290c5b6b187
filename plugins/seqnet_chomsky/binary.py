"""Numbers written as bit columns, for a whole batch at once.

Up to 62 bits (every training length) the numbers are int64 arrays and each operation is one
numpy call; longer ones (evaluation) are Python ints in an object array, converted one
sequence at a time through bytes.
"""

from __future__ import annotations

import math

import numpy as np

from seqnet import Array

WIDE = 62
"""Widths above this do not fit an int64 with room for a sum or a square: Python ints."""


def nonzero_bits(rng: np.random.Generator, widths: Array, rows: int) -> Array:
    """(rows, B) bits, column b uniform in its first widths[b] rows and 0 below, redrawn until
    it is not all zeros: a number uniform in [1, 2^width − 1], least significant bit first."""
    inside = np.arange(rows)[:, None] < widths  # (rows, B)
    bits = rng.integers(0, 2, size=inside.shape) * inside
    zero = ~bits.any(axis=0)
    while zero.any():
        bits[:, zero] = rng.integers(0, 2, size=(rows, int(zero.sum()))) * inside[:, zero]
        zero = ~bits.any(axis=0)
    return bits


def to_ints(bits: Array) -> Array:
    """The numbers (B,) that bit columns (w, B) spell, least significant bit first."""
    width, batch = bits.shape
    if width <= WIDE:
        weights = np.left_shift(1, np.arange(width, dtype=np.int64))  # (w,)
        return weights @ bits.astype(np.int64)  # (B,)
    packed = np.packbits(bits.astype(np.uint8), axis=0, bitorder="little")  # (⌈w/8⌉, B)
    out = np.empty(batch, dtype=object)
    out[:] = [int.from_bytes(packed[:, i].tobytes(), "little") for i in range(batch)]
    return out


def to_bits(values: Array, width: int) -> Array:
    """(width, B) bits of the numbers (B,), least significant first (higher bits dropped)."""
    if values.dtype != object:
        shifts = np.arange(width, dtype=np.int64)[:, None]  # (w, 1)
        return (values[None, :] >> np.minimum(shifts, 63)) & (shifts < 63)  # (w, B)
    size = (width + 7) // 8
    rows = [
        np.unpackbits(
            np.frombuffer((v % (1 << (8 * size))).to_bytes(size, "little"), dtype=np.uint8),
            bitorder="little",
        )[:width]
        for v in values
    ]
    return np.stack(rows, axis=1).astype(np.int64)


def bit_lengths(values: Array) -> Array:
    """(B,) how many bits each number needs; 1 for zero (it is written `0`)."""
    if values.dtype != object:
        shifts = np.arange(63, dtype=np.int64)[:, None]
        used: Array = (values[None, :] >> shifts > 0).sum(axis=0)  # (B,)
        return np.maximum(used, 1)
    return np.array([max(int(v).bit_length(), 1) for v in values], dtype=np.int64)


def isqrt(values: Array) -> Array:
    """⌊√n⌋ for each number (B,)."""
    if values.dtype == object:
        out = np.empty(values.shape, dtype=object)
        out[:] = [math.isqrt(v) for v in values]
        return out
    root = np.floor(np.sqrt(values.astype(np.float64))).astype(np.int64)
    for _ in range(2):  # the float square root is off by at most one below 2^62
        root = np.where(root * root > values, root - 1, root)
        root = np.where((root + 1) * (root + 1) <= values, root + 1, root)
    return root


def terminated(values: Array, width: int) -> Array:
    """(width, B) outputs: each number's bits without trailing zeros, least significant first,
    then the terminator 2, then 0s (the paper's binary_addition/multiplication targets)."""
    size = bit_lengths(values)  # (B,)
    k = np.arange(width)[:, None]  # (width, 1)
    return np.where(k < size, to_bits(values, width), np.where(k == size, 2, 0))
