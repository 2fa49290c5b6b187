"""The LSTM cell in PyTorch's gate order and layout: a step, a whole sequence, their backward."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from types import ModuleType
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import Field

from seqnet import (
    Array,
    Carry,
    InitScheme,
    Params,
    PluginSpec,
    SpecError,
    params_from_torch,
    params_to_torch,
    recurrent_params,
    spec_init,
    torch_loaded,
    torch_weights,
)

CHUNK_ELEMENTS = 2**18
"""Elements of dz per backward chunk (1 MiB in float32): measured best of 2^16 and 2^18."""


KERNEL_ENV = "SEQNET_KERNEL"
"""numpy forces the numpy gate code, numba the compiled one; unset (auto): numba when installed."""


def available_kernels() -> tuple[str, ...]:
    """The gate-code paths this installation has, the reference (numpy) first."""
    return ("numpy", "numba") if importlib.util.find_spec("numba") is not None else ("numpy",)


def default_kernel() -> str:
    """The path $SEQNET_KERNEL asks for; auto (unset or empty) takes the compiled one if any."""
    wanted = os.environ.get(KERNEL_ENV, "") or "auto"
    if wanted not in ("auto", "numpy", "numba"):
        raise SpecError(f"{KERNEL_ENV}={wanted!r}: expected numpy, numba or auto")
    if wanted == "auto":
        return available_kernels()[-1]
    if wanted not in available_kernels():
        raise SpecError(
            f"{KERNEL_ENV}=numba but numba is not installed: pip install 'seqnet[fast]'"
        )
    return wanted


def fused_module(kernel: str) -> ModuleType | None:
    """The compiled kernels, imported (with numba) only when an LSTM first runs on them."""
    if kernel == "numpy":
        return None
    from seqnet_lstm import fused

    return fused


def gate_affine(H: int, dtype: np.dtype[Any]) -> tuple[Array, Array]:
    """scale, shift (4H,) so that gate(z) = tanh(z·scale)·scale + shift for all four blocks.

    σ(z) = ½ tanh(½ z) + ½ (no overflow) and tanh(z) = tanh(z), so one tanh covers [i|f|g|o].
    """
    scale = np.full(4 * H, 0.5, dtype=dtype)
    shift = np.full(4 * H, 0.5, dtype=dtype)
    scale[2 * H : 3 * H] = 1.0
    shift[2 * H : 3 * H] = 0.0
    return scale, shift


def per_step_operand(W: Array, rows: int) -> Array:
    """W (K, N) as the right operand of a time step's product (rows, K) @ W, in the memory order
    numpy's OpenBLAS multiplies it fastest (`python benchmarks/gemm_kernels.py`). float64:
    column by column; under OpenBLAS's Haswell kernels (which $OPENBLAS_CORETYPE selects on this
    project's machines) (32, 128) @ (128, 512) took 109 -> 77 µs and (32, 512) @ (512, 128)
    102 -> 76 µs; under its SkylakeX ones 5-15 % more. float32: row by row (column order gains
    0-5 % under Haswell and costs ~50 % under SkylakeX). Under Haswell the sums are the very
    same once rows > 1; one row is a matrix-vector product, whose transposed form sums in
    another order, so it keeps the row order.
    """
    if W.dtype == np.float64 and rows > 1:
        return np.asfortranarray(W)
    return np.ascontiguousarray(W)


class LSTMCell:
    """LSTM: gates i, f, g, o in PyTorch's order, with backprop through time through h and c.

        z_t = x_t W_x + h_{t-1} W_h + b_x + b_h      (B, 4H), column blocks [i | f | g | o]
        i = σ(z_i)   f = σ(z_f)   g = tanh(z_g)   o = σ(z_o)      each (B, H)
        c_t = f ⊙ c_{t-1} + i ⊙ g                                  (B, H)
        h_t = o ⊙ tanh(c_t)                                        (B, H)

    Shapes: x_t (B, D); the carry is (h, c), each (B, H); W_x (D, 4H), W_h (H, 4H), b_x (4H,),
    b_h (4H,). Whole sequences: x (T, B, D) -> h (T, B, H). The step's output is h_t.

    One to one with torch.nn.LSTM (layer k): W_x = weight_ih_lk.T, W_h = weight_hh_lk.T,
    b_x = bias_ih_lk, b_h = bias_hh_lk; `from_torch` and `to_torch` convert. The two biases
    are redundant (they always get the same gradient), kept so the mapping is exact.

    Init: `uniform` draws all four from U(±1/√H) (PyTorch); `glorot_orthogonal` uses Glorot
    W_x, four orthogonal blocks in W_h and zero biases (Keras). Then, unless `forget_bias` is
    None, the forget block of b_x is set to `forget_bias` and that of b_h to 0.
    """

    name: ClassVar[str] = "lstm"

    class Spec(PluginSpec):
        hidden: Annotated[int, Field(gt=0, description="hidden units (the size of h and of c)")]
        init: InitScheme = Field(
            "uniform",
            description="uniform ±1/√H (PyTorch) or Glorot W_x with orthogonal W_h (Keras)",
        )
        forget_bias: float | None = Field(
            1.0,
            allow_inf_nan=False,
            description="initial forget-gate bias (b_x block; b_h block 0); null keeps the draw",
        )

    @spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.hidden = spec.hidden
        # not a spec option: the paths agree to rounding, and a run's spec must not depend on
        # what is installed; `kernel` may be set to any of `available_kernels()`
        self.kernel = default_kernel()

    @staticmethod
    def kernels() -> tuple[str, ...]:
        """The gate-code paths installed, reference first: what `kernel` may be set to."""
        return available_kernels()

    def init(self, rng: np.random.Generator, input_size: int) -> Params:
        H = self.hidden
        params = recurrent_params(
            rng, self.spec.init, input_size, H, blocks=4, biases=("b_x", "b_h")
        )
        if self.spec.forget_bias is not None:
            params["b_x"][H : 2 * H] = self.spec.forget_bias
            params["b_h"][H : 2 * H] = 0.0
        return params

    def initial_carry(self, batch: int, dtype: np.dtype[Any]) -> Carry:
        return tuple(np.zeros((batch, self.hidden), dtype=dtype) for _ in range(2))

    # ---- one step ---------------------------------------------------------------------------

    def step(self, params: Params, x_t: Array, carry: Carry) -> tuple[Carry, Array, Any]:
        h_prev, c_prev = carry
        H = self.hidden
        scale, shift = gate_affine(H, x_t.dtype)
        z = x_t @ params["W_x"] + h_prev @ params["W_h"] + params["b_x"] + params["b_h"]  # (B, 4H)
        gates = np.tanh(z * scale) * scale + shift  # [i | f | g | o], (B, 4H)
        i, f, g, o = (gates[:, k * H : (k + 1) * H] for k in range(4))
        c = f * c_prev + i * g
        tanh_c = np.tanh(c)
        h = o * tanh_c
        return (h, c), h, (x_t, h_prev, c_prev, gates, tanh_c)

    def step_backward(
        self, params: Params, cache: Any, dh_t: Array, dcarry: Carry
    ) -> tuple[Array, Carry, Params]:
        x_t, h_prev, c_prev, gates, tanh_c = cache
        H = self.hidden
        i, f, g, o = (gates[:, k * H : (k + 1) * H] for k in range(4))
        dh = dh_t + dcarry[0]  # h_t is both the step's output and the carry
        # h_t = o ⊙ tanh(c_t)
        do = dh * tanh_c
        dc = dcarry[1] + dh * o * (1.0 - tanh_c * tanh_c)
        # c_t = f ⊙ c_{t-1} + i ⊙ g
        di, df, dg, dc_prev = dc * g, dc * c_prev, dc * i, dc * f
        # i, f, o = σ(z_i, z_f, z_o), g = tanh(z_g)
        dz = np.concatenate(
            [di * i * (1.0 - i), df * f * (1.0 - f), dg * (1.0 - g * g), do * o * (1.0 - o)],
            axis=1,
        )  # (B, 4H)
        # z_t = x_t W_x + h_{t-1} W_h + b_x + b_h
        db = dz.sum(axis=0)
        grads = {"W_x": x_t.T @ dz, "W_h": h_prev.T @ dz, "b_x": db, "b_h": db.copy()}
        return dz @ params["W_x"].T, (dz @ params["W_h"].T, dc_prev), grads

    # ---- the whole sequence -----------------------------------------------------------------

    def forward(self, params: Params, x: Array, carry: Carry) -> tuple[Array, Carry, Any]:
        """All input projections in one GEMM; the loop does h W_h, one tanh and the cell update."""
        T, B, D = x.shape
        H = self.hidden
        scale, shift = gate_affine(H, x.dtype)
        # σ's halving folded into the weights and biases (×½ and ×1 are exact)
        W_x = params["W_x"] * scale  # (D, 4H)
        gates = (x.reshape(T * B, D) @ W_x).reshape(T, B, 4 * H)  # becomes the gates
        gates += (params["b_x"] + params["b_h"]) * scale
        dtype = gates.dtype
        # np.dot (less per-call overhead than matmul) needs one dtype throughout
        W_h = per_step_operand((params["W_h"] * scale).astype(dtype, copy=False), B)  # (H, 4H)
        # h_0 .. h_T in one buffer, so that backward's dW_h is one GEMM over every h_{t-1};
        # c_0 .. c_T likewise, so that backward finds every c_{t-1} in one slice
        states = np.empty((T + 1, B, H), dtype=dtype)
        states[0] = carry[0]
        h, hs = states[0], states[1:]
        cells = np.empty((T + 1, B, H), dtype=dtype)
        cells[0] = carry[1]
        c, cs = cells[0], cells[1:]
        tanh_cs = np.empty_like(cs)
        hz = np.empty((B, 4 * H), dtype=dtype)
        ig = np.empty((B, H), dtype=dtype)
        fused = fused_module(self.kernel)
        if fused is not None:
            for z, c_t, tanh_c, h_t in zip(gates, cs, tanh_cs, hs, strict=True):
                np.dot(h, W_h, out=hz)  # (B, 4H)
                z += hz
                np.tanh(z, out=z)
                fused.forward_step(z, scale, shift, c, c_t)
                np.tanh(c_t, out=tanh_c)
                fused.output_step(z, tanh_c, h_t)
                h, c = h_t, c_t
            return hs, (h, c), (x, gates, cells, tanh_cs, states)
        i, f, g, o = (gates[..., k * H : (k + 1) * H] for k in range(4))  # (T, B, H) views
        for z, i_t, f_t, g_t, o_t, c_t, tanh_c, h_t in zip(
            gates, i, f, g, o, cs, tanh_cs, hs, strict=True
        ):
            np.dot(h, W_h, out=hz)  # (B, 4H)
            z += hz
            np.tanh(z, out=z)
            z *= scale
            z += shift
            np.multiply(f_t, c, out=c_t)
            np.multiply(i_t, g_t, out=ig)
            c_t += ig
            np.tanh(c_t, out=tanh_c)
            np.multiply(o_t, tanh_c, out=h_t)
            h, c = h_t, c_t
        return hs, (h, c), (x, gates, cells, tanh_cs, states)

    def backward(
        self, params: Params, cache: Any, dh: Array, dcarry: Carry, input_grad: bool = True
    ) -> tuple[Array | None, Carry, Params]:
        """Backprop through time in chunks of steps that fit in cache: for each chunk, every factor
        of dz_t that does not depend on the incoming gradient in a few vectorised passes, then
        per step only the products with dh_t and dc_t and dz_t W_h^T. The weight gradients and
        dx are one GEMM each over all steps."""
        x, gates, cells, tanh_cs, states = cache
        T, B, _ = x.shape
        H = self.hidden
        dtype = gates.dtype

        W_hT = per_step_operand(params["W_h"].astype(dtype, copy=False).T, B)  # (4H, H)
        dh_next = np.array(dcarry[0], dtype=dtype)  # copies: the loop writes into them
        dc_next = np.array(dcarry[1], dtype=dtype)
        dh_t = np.empty_like(dh_next)
        dc_t = np.empty_like(dc_next)
        dz = np.empty_like(gates)  # (T, B, 4H)
        fused = fused_module(self.kernel)
        if fused is not None:
            one = np.ones(1, dtype=dtype)
            for t in reversed(range(T)):
                fused.backward_step(
                    gates[t], cells[t], tanh_cs[t], dh[t], dh_next, dc_next, dz[t], one
                )
                np.dot(dz[t], W_hT, out=dh_next)  # (B, H)
            return self.param_grads(params, x, states, dz, dh_next, dc_next, input_grad)
        dz4 = dz.reshape(T, B, 4, H)
        i, f, g, o = (gates.reshape(T, B, 4, H)[:, :, k] for k in range(4))  # (T, B, H) views
        # Chunks of ~1 MiB of float32 dz: many steps when B·H is small (fewer, larger numpy
        # calls), one step when it is large (then everything stays in cache, as in a plain loop).
        steps = max(1, CHUNK_ELEMENTS // (B * 4 * H))
        keep_chunk = np.empty((steps, B, H), dtype=dtype)
        for stop in range(T, 0, -steps):
            span = slice(max(0, stop - steps), stop)
            # dz_t = [dc ⊙ g σ'(i) | dc ⊙ c_{t-1} σ'(f) | dc ⊙ i (1 − g²) | dh ⊙ tanh c σ'(o)],
            # with σ' = σ(1 − σ) and tanh' = 1 − g²; here every factor but dc and dh
            z, z4 = dz[span], dz4[span]
            np.subtract(1.0, gates[span], out=z)
            z *= gates[span]
            z4[:, :, 0] *= g[span]
            z4[:, :, 1] *= cells[span]  # c_{t-1}: cells[t] for step t
            dg = z4[:, :, 2]
            np.multiply(g[span], g[span], out=dg)
            np.subtract(1.0, dg, out=dg)
            dg *= i[span]
            z4[:, :, 3] *= tanh_cs[span]
            # h_t = o ⊙ tanh(c_t): dc_t = dc_{t+1→t} + dh_t ⊙ keep_t, keep = o ⊙ (1 − tanh² c)
            keep = keep_chunk[: stop - span.start]
            np.multiply(tanh_cs[span], tanh_cs[span], out=keep)
            np.subtract(1.0, keep, out=keep)
            keep *= o[span]
            for t in reversed(range(span.start, stop)):
                dz4_t = dz4[t]
                np.add(dh[t], dh_next, out=dh_t)  # h_t is both the output and the carry
                np.multiply(dh_t, keep[t - span.start], out=dc_t)
                dc_t += dc_next
                dz4_t[:, :3] *= dc_t[:, None, :]  # the i, f and g blocks
                dz4_t[:, 3] *= dh_t  # the o block
                # c_t = f ⊙ c_{t-1} + i ⊙ g: dc_{t-1} = dc_t ⊙ f
                np.multiply(dc_t, f[t], out=dc_next)
                # z_t = ... + h_{t-1} W_h
                np.dot(dz[t], W_hT, out=dh_next)  # (B, H)
        return self.param_grads(params, x, states, dz, dh_next, dc_next, input_grad)

    @staticmethod
    def param_grads(
        params: Params,
        x: Array,
        states: Array,
        dz: Array,
        dh_next: Array,
        dc_next: Array,
        input_grad: bool,
    ) -> tuple[Array | None, Carry, Params]:
        """The weight gradients and dx from every step's dz (T, B, 4H), after the time loop."""
        T, B, D = x.shape
        H = states.shape[-1]
        # z_t = x_t W_x + h_{t-1} W_h + b_x + b_h, for all t at once
        flat_dz = dz.reshape(T * B, 4 * H)
        db = np.add.reduce(flat_dz, axis=0)  # (4H,)
        grads = {
            "W_x": x.reshape(T * B, D).T @ flat_dz,  # (D, 4H)
            "W_h": states[:-1].reshape(T * B, H).T @ flat_dz,  # (H, 4H), over h_0 .. h_{T-1}
            "b_x": db,
            "b_h": db.copy(),
        }
        if not input_grad:  # the input is data: skip a GEMM as large as dW_x's
            return None, (dh_next, dc_next), grads
        dx = (flat_dz @ params["W_x"].T).reshape(T, B, D)
        return dx, (dh_next, dc_next), grads

    # ---- PyTorch ----------------------------------------------------------------------------

    @staticmethod
    def from_torch(weights: Mapping[str, Array], layer: int = 0) -> Params:
        """Params from a torch.nn.LSTM's state_dict (as numpy arrays) for one layer."""
        return params_from_torch(weights, layer)

    @staticmethod
    def to_torch(params: Mapping[str, Array], layer: int = 0) -> dict[str, Array]:
        """The torch.nn.LSTM state_dict entries (numpy arrays) of one layer's params."""
        return params_to_torch(params, layer)

    def torch_module(self, params: Params) -> Any:
        """This cell as a torch.nn.LSTM (seqnet.to_torch)."""
        import torch

        rnn = torch.nn.LSTM(params["W_x"].shape[0], self.hidden)
        return torch_loaded(rnn, params_to_torch(params))

    @classmethod
    def from_torch_module(cls, module: Any) -> tuple[dict[str, Any], Params] | None:
        """The options and params of a one-layer torch.nn.LSTM (seqnet.from_torch)."""
        import torch

        if type(module) is not torch.nn.LSTM or module.proj_size:
            return None
        return {"hidden": module.hidden_size}, params_from_torch(torch_weights(module))
