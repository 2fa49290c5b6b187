"""The head every model ends in: a dense map from each step's features to the task's outputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from seqnet.interfaces import Array, Cache, Carry, Params


class Head:
    """y_t = x_t W + b at every step: (T, B, D) -> (T, B, V). A stateless Layer.

    Initialised uniform in ±1/√D, as PyTorch's nn.Linear. W (D, V), b (V,).
    """

    name = "head"

    def __init__(self, output_size: int) -> None:
        self.size = output_size

    def init(self, rng: np.random.Generator, input_size: int) -> Params:
        bound = 1.0 / np.sqrt(input_size)
        return {
            "W": rng.uniform(-bound, bound, (input_size, self.size)),
            "b": rng.uniform(-bound, bound, self.size),
        }

    def output_size(self, input_size: int) -> int:
        return self.size

    def initial_carry(self, batch: int, dtype: np.dtype[Any]) -> Carry:
        return ()

    def forward(
        self, params: Params, x: Array, carry: Carry, rng: np.random.Generator | None = None
    ) -> tuple[Array, Carry, Cache]:
        W = params["W"]
        flat_x = x.reshape(-1, x.shape[-1])  # (N, D): one GEMM, not one per leading index
        y = flat_x @ W  # (N, V)
        y += params["b"]
        return y.reshape(*x.shape[:-1], W.shape[1]), (), x  # (T, B, V)

    def backward(
        self, params: Params, cache: Cache, dy: Array, dcarry: Carry, input_grad: bool = True
    ) -> tuple[Array | None, Carry, Params]:
        x = cache
        W = params["W"]
        flat_x = x.reshape(-1, x.shape[-1])  # (N, D)
        flat_dy = dy.reshape(-1, dy.shape[-1])  # (N, V)
        # y = x W + b
        grads = {"W": flat_x.T @ flat_dy, "b": np.add.reduce(flat_dy, axis=0)}  # (D, V), (V,)
        if not input_grad:
            return None, (), grads
        if W.shape[1] == 1:  # adding's head: an outer product, where the GEMM call is two to
            # three times slower than the products it computes (+0.0 makes a -0.0 one +0.0,
            # as the GEMM's sum from zero does: the very same floats)
            dx = np.multiply(flat_dy, W.T)  # (N, D)
            dx += 0.0
            return dx.reshape(x.shape), (), grads  # (T, B, D)
        return (flat_dy @ W.T).reshape(x.shape), (), grads  # (T, B, D)
