"""Plain (non-recurrent) layers. The dense head maps every step's hidden state to outputs."""

from __future__ import annotations

import numpy as np

from seqnet.interfaces import Array, Cache, Params


class Dense:
    """y = x W + b on the last axis, for any leading shape: (..., D) -> (..., V).

    Initialised uniform in ±1/√D, as PyTorch's nn.Linear.
    """

    def __init__(self, output_size: int) -> None:
        self.output_size = output_size

    def init(self, rng: np.random.Generator, input_size: int) -> Params:
        bound = 1.0 / np.sqrt(input_size)
        return {
            "W": rng.uniform(-bound, bound, (input_size, self.output_size)),
            "b": rng.uniform(-bound, bound, self.output_size),
        }

    def forward(self, params: Params, x: Array) -> tuple[Array, Cache]:
        W = params["W"]
        flat_x = x.reshape(-1, x.shape[-1])  # (N, D): one GEMM, not one per leading index
        y = flat_x @ W  # (N, V)
        y += params["b"]
        return y.reshape(*x.shape[:-1], W.shape[1]), x  # (..., V)

    def backward(self, params: Params, cache: Cache, dy: Array) -> tuple[Array, Params]:
        x = cache
        W = params["W"]
        flat_x = x.reshape(-1, x.shape[-1])  # (N, D)
        flat_dy = dy.reshape(-1, dy.shape[-1])  # (N, V)
        grads = {"W": flat_x.T @ flat_dy, "b": np.add.reduce(flat_dy, axis=0)}  # (D, V), (V,)
        return (flat_dy @ W.T).reshape(x.shape), grads  # (..., D)
