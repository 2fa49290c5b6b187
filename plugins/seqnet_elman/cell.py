"""The Elman (simple recurrent) cell, with a step, a whole-sequence path and their backward."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from seqnet import (
    Array,
    Carry,
    InitScheme,
    Params,
    PluginSpec,
    SpecError,
    recurrent_params,
    spec_init,
    torch_loaded,
    torch_weights,
)


class ElmanCell:
    """Elman RNN: h_t = act(x_t W_x + h_{t-1} W_h + b), act tanh (default), sigmoid or relu.

    Shapes: x_t (B, D), h_t (B, H); W_x (D, H), W_h (H, H), b (H,). The carry is (h,).
    Mapping onto torch.nn.RNN: W_x = weight_ih_l0.T, W_h = weight_hh_l0.T,
    b = bias_ih_l0 + bias_hh_l0.
    """

    name: ClassVar[str] = "elman"

    class Spec(PluginSpec):
        hidden: Annotated[int, Field(gt=0, description="hidden units")]
        activation: Literal["tanh", "sigmoid", "relu"] = Field(
            "tanh", description="nonlinearity of the hidden state"
        )
        init: InitScheme = Field(
            "uniform",
            description="uniform ±1/√H (PyTorch) or Glorot W_x with orthogonal W_h (Keras)",
        )

    @spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.hidden = spec.hidden

    def init(self, rng: np.random.Generator, input_size: int) -> Params:
        return recurrent_params(rng, self.spec.init, input_size, self.hidden)

    def initial_carry(self, batch: int, dtype: np.dtype[Any]) -> Carry:
        return (np.zeros((batch, self.hidden), dtype=dtype),)

    # activation(a) written into `out`, and its derivative expressed through the output h
    def _activation(self) -> Any:
        """`act(a, out=...)` itself, looked up once: the time loop calls it T times."""
        return {"tanh": np.tanh, "sigmoid": _sigmoid, "relu": _relu}[self.spec.activation]

    def _slope(self, h: Array) -> Array:
        if self.spec.activation == "tanh":
            return 1.0 - h * h
        if self.spec.activation == "sigmoid":
            return h * (1.0 - h)
        return (h > 0.0).astype(h.dtype)

    def step(self, params: Params, x_t: Array, carry: Carry) -> tuple[Carry, Array, Any]:
        (h_prev,) = carry
        a = x_t @ params["W_x"] + h_prev @ params["W_h"] + params["b"]  # (B, H)
        h = self._activation()(a, out=a)
        return (h,), h, (x_t, h_prev, h)

    def step_backward(
        self, params: Params, cache: Any, dh_t: Array, dcarry: Carry
    ) -> tuple[Array, Carry, Params]:
        x_t, h_prev, h = cache
        # h = act(a): the step's output and the carry are the same h
        da = (dh_t + dcarry[0]) * self._slope(h)  # (B, H)
        # a = x_t W_x + h_prev W_h + b
        grads = {"W_x": x_t.T @ da, "W_h": h_prev.T @ da, "b": da.sum(axis=0)}
        return da @ params["W_x"].T, (da @ params["W_h"].T,), grads

    def _slope_into(self, h: Array, out: Array) -> Array:
        """act'(a) from h = act(a), for a whole sequence at once, written into `out`."""
        if self.spec.activation == "tanh":
            np.multiply(h, h, out=out)  # 1 - h²
            return np.subtract(1.0, out, out=out)
        if self.spec.activation == "sigmoid":
            np.subtract(1.0, h, out=out)  # h (1 - h)
            out *= h
            return out
        return np.greater(h, 0.0, out=out)

    def forward(self, params: Params, x: Array, carry: Carry) -> tuple[Array, Carry, Any]:
        """The whole sequence: all input projections in one GEMM, only h W_h in the loop."""
        T, B, D = x.shape
        H = self.hidden
        # h_0 .. h_T in one buffer, so that backward's dW_h is one GEMM over every h_{t-1}
        states = np.empty((T + 1, B, H), dtype=np.result_type(x, params["W_x"]))
        states[0] = carry[0]
        hs = states[1:]  # (T, B, H): a_t, then h_t
        np.matmul(x.reshape(T * B, D), params["W_x"], out=hs.reshape(T * B, H))
        hs += params["b"]
        # np.dot (cheaper per call than matmul) needs one dtype throughout
        W_h = params["W_h"].astype(hs.dtype, copy=False)
        h = states[0]
        hW = np.empty((B, H), dtype=hs.dtype)
        act = self._activation()
        for a in hs:  # a_t, becomes h_t
            np.dot(h, W_h, out=hW)  # (B, H); dot has less per-call overhead than matmul
            a += hW
            h = act(a, out=a)
        return hs, (h,), (x, states)

    def backward(
        self, params: Params, cache: Any, dh: Array, dcarry: Carry, input_grad: bool = True
    ) -> tuple[Array | None, Carry, Params]:
        """The loop keeps only the recurrent multiply; act' and every weight gradient are
        computed for all steps at once."""
        x, states = cache
        hs = states[1:]
        T, B, D = x.shape
        H = self.hidden
        W_hT = params["W_h"].astype(hs.dtype, copy=False).T
        if B > 1:  # a contiguous copy pays for a matrix product: 10 µs against 19 µs a call at
            # B=32, H=128; at B=1 (a vector product) the copy itself cost more (0.75× vs 0.95×
            # torch at H=512, T=8)
            W_hT = np.ascontiguousarray(W_hT)
        # h_t = act(a_t): da_t = (dh_t + dh_{t+1→t}) ⊙ act'(a_t); act' first, for every t
        da = self._slope_into(hs, np.empty_like(hs))  # (T, B, H)
        total = np.empty((B, H), dtype=da.dtype)
        dh_next = np.array(dcarry[0], dtype=da.dtype)  # a copy: the loop writes into it
        for da_t, dh_t in zip(da[::-1], dh[::-1], strict=True):  # t = T-1, ..., 0
            np.add(dh_t, dh_next, out=total)
            da_t *= total
            # a_t = x_t W_x + h_{t-1} W_h + b
            np.dot(da_t, W_hT, out=dh_next)  # (B, H)
        flat_da = da.reshape(T * B, H)
        # a_t = x_t W_x + h_{t-1} W_h + b, for all t at once
        grads = {
            "W_x": x.reshape(T * B, D).T @ flat_da,  # (D, H)
            "W_h": states[:-1].reshape(T * B, H).T @ flat_da,  # (H, H), over h_0 .. h_{T-1}
            "b": np.add.reduce(flat_da, axis=0),  # (H,)
        }
        if not input_grad:  # the input is data: skip a GEMM as large as dW_x's
            return None, (dh_next,), grads
        dx = (flat_da @ params["W_x"].T).reshape(T, B, D)
        return dx, (dh_next,), grads

    def torch_module(self, params: Params) -> Any:
        """This cell as a torch.nn.RNN (seqnet.to_torch): b goes to bias_ih, bias_hh is 0."""
        import torch

        if self.spec.activation == "sigmoid":
            raise SpecError("elman with activation sigmoid: torch.nn.RNN has only tanh and relu")
        W_x, b = params["W_x"], params["b"]
        rnn = torch.nn.RNN(W_x.shape[0], self.hidden, nonlinearity=self.spec.activation)
        return torch_loaded(
            rnn,
            {"weight_ih_l0": W_x.T, "weight_hh_l0": params["W_h"].T, "bias_ih_l0": b,
             "bias_hh_l0": np.zeros_like(b)},
        )  # fmt: skip

    @classmethod
    def from_torch_module(cls, module: Any) -> tuple[dict[str, Any], Params] | None:
        """The options and params of a one-layer torch.nn.RNN (seqnet.from_torch)."""
        import torch

        if type(module) is not torch.nn.RNN:
            return None
        w = torch_weights(module)
        options = {"hidden": module.hidden_size, "activation": module.nonlinearity}
        params = {"W_x": w["weight_ih_l0"].T.copy(), "W_h": w["weight_hh_l0"].T.copy()}
        return options, params | {"b": w["bias_ih_l0"] + w["bias_hh_l0"]}


def _sigmoid(a: Array, out: Array) -> Array:
    np.multiply(a, 0.5, out=out)  # sigmoid(a) == (1 + tanh(a/2)) / 2, no overflow
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def _relu(a: Array, out: Array) -> Array:
    return np.maximum(a, 0.0, out=out)
