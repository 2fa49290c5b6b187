"""The IndRNN cell: each hidden unit sees only its own past, through one weight of its own."""

from typing import Any, ClassVar

import numpy as np
import seqnet
from pydantic import Field


class IndRNNCell:
    """IndRNN (Li et al., 2018): h_t = tanh(x_t W_x + u ⊙ h_{t-1} + b).

    The recurrent weight u is a vector, so unit j's memory is its own: h_t[j] depends on
    h_{t-1}[j] only. Shapes: x_t (B, D), h_t (B, H); W_x (D, H), u (H,), b (H,). Carry (h,).
    """

    name: ClassVar[str] = "indrnn"

    class Spec(seqnet.PluginSpec):
        hidden: int = Field(gt=0, description="hidden units")

    @seqnet.spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.hidden = spec.hidden

    def init(self, rng: np.random.Generator, input_size: int) -> seqnet.Params:
        bound = 1.0 / np.sqrt(self.hidden)
        return {
            "W_x": rng.uniform(-bound, bound, (input_size, self.hidden)),
            "u": rng.uniform(0.0, 1.0, self.hidden),
            "b": np.zeros(self.hidden),
        }

    def initial_carry(self, batch: int, dtype: np.dtype[Any]) -> seqnet.Carry:
        return (np.zeros((batch, self.hidden), dtype=dtype),)

    def step(
        self, params: seqnet.Params, x_t: seqnet.Array, carry: seqnet.Carry
    ) -> tuple[seqnet.Carry, seqnet.Array, seqnet.Cache]:
        (h_prev,) = carry
        a = x_t @ params["W_x"] + params["u"] * h_prev + params["b"]  # (B, H)
        h = np.tanh(a)
        return (h,), h, (x_t, h_prev, h)

    def step_backward(
        self,
        params: seqnet.Params,
        cache: seqnet.Cache,
        dh_t: seqnet.Array,
        dcarry: seqnet.Carry,
    ) -> tuple[seqnet.Array, seqnet.Carry, seqnet.Params]:
        x_t, h_prev, h = cache
        # h = tanh(a): the step's output and the carry are the same h, so their gradients add
        da = (dh_t + dcarry[0]) * (1.0 - h * h)  # (B, H)
        # a = x_t W_x + u ⊙ h_prev + b
        grads = {
            "W_x": x_t.T @ da,  # (D, H)
            "u": (da * h_prev).sum(axis=0),  # (H,)
            "b": da.sum(axis=0),  # (H,)
        }
        dx_t = da @ params["W_x"].T  # (B, D)
        dh_prev = da * params["u"]  # (B, H)
        return dx_t, (dh_prev,), grads
