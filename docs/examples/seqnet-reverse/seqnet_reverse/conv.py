"""The causal convolution layer: each step sees itself and the kernel - 1 steps before it."""

from typing import Any, ClassVar

import numpy as np
import seqnet
from pydantic import Field


class CausalConv:
    """Causal 1-D convolution over time: y_t = b + Σ_{k<K} x_{t-k} W_k.

    Shapes: x (T, B, D), y (T, B, C); W (K, D, C), b (C,). Whole sequences, written as
    overlap-add: every input x_t adds x_t W_k to the output k steps later. What the last
    inputs add to the next K - 1 outputs is the carry, (s,) with s (K - 1, B, C), so a long
    sequence cut in pieces gives the same outputs as the whole.
    """

    name: ClassVar[str] = "causalconv"

    class Spec(seqnet.PluginSpec):
        channels: int = Field(gt=0, le=100_000, description="output channels C")
        kernel: int = Field(default=3, ge=2, le=1_000, description="steps each output sees, K")

    @seqnet.spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def init(self, rng: np.random.Generator, input_size: int) -> seqnet.Params:
        K, C = self.spec.kernel, self.spec.channels
        bound = 1.0 / np.sqrt(input_size * K)  # as torch.nn.Conv1d
        return {
            "W": rng.uniform(-bound, bound, (K, input_size, C)),
            "b": rng.uniform(-bound, bound, C),
        }

    def output_size(self, input_size: int) -> int:
        return self.spec.channels

    def initial_carry(self, batch: int, dtype: np.dtype[Any]) -> seqnet.Carry:
        return (np.zeros((self.spec.kernel - 1, batch, self.spec.channels), dtype=dtype),)

    def forward(
        self,
        params: seqnet.Params,
        x: seqnet.Array,
        carry: seqnet.Carry,
        rng: np.random.Generator | None = None,
    ) -> tuple[seqnet.Array, seqnet.Carry, seqnet.Cache]:
        T, B, D = x.shape
        W = params["W"]
        K, C = W.shape[0], W.shape[2]
        # every tap of every step in one product: Z[t, :, k] = x_t W_k
        Z = (x.reshape(T * B, D) @ W.transpose(1, 0, 2).reshape(D, K * C)).reshape(T, B, K, C)
        out = np.zeros((T + K - 1, B, C), dtype=Z.dtype)  # outputs t = 0 .. T + K - 2
        out[: K - 1] += carry[0]  # what earlier inputs add to the first K - 1 outputs
        for k in range(K):
            out[k : k + T] += Z[:, :, k]  # x_t W_k lands on output t + k
        y = out[:T] + params["b"]  # (T, B, C)
        return y, (out[T:],), x

    def backward(
        self,
        params: seqnet.Params,
        cache: seqnet.Cache,
        dy: seqnet.Array,
        dcarry: seqnet.Carry,
        input_grad: bool = True,
    ) -> tuple[seqnet.Array | None, seqnet.Carry, seqnet.Params]:
        x = cache
        T, B, D = x.shape
        W = params["W"]
        K, C = W.shape[0], W.shape[2]
        # y = out[:T] + b and carry_T = out[T:]: the gradient of every output position
        dout = np.concatenate((dy, dcarry[0]))  # (T + K - 1, B, C)
        # out[k : k + T] += Z[:, :, k]
        dZ = np.stack([dout[k : k + T] for k in range(K)], axis=2)  # (T, B, K, C)
        flat_dZ = dZ.reshape(T * B, K * C)
        dW = (x.reshape(T * B, D).T @ flat_dZ).reshape(D, K, C).transpose(1, 0, 2)  # (K, D, C)
        grads = {"W": np.ascontiguousarray(dW), "b": dy.reshape(T * B, C).sum(axis=0)}
        dcarry0 = (dout[: K - 1].copy(),)  # out[: K - 1] += carry
        if not input_grad:
            return None, dcarry0, grads
        dx = (flat_dZ @ W.transpose(1, 0, 2).reshape(D, K * C).T).reshape(T, B, D)
        return dx, dcarry0, grads
