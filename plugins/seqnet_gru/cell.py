"""The GRU cell: PyTorch's equations and weight layout, a step, a whole-sequence path, backward."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import Field

from seqnet import (
    Array,
    Carry,
    InitScheme,
    Params,
    PluginSpec,
    params_from_torch,
    params_to_torch,
    recurrent_params,
    spec_init,
    torch_loaded,
    torch_weights,
)


def gate_scale(H: int, dtype: np.dtype[Any]) -> Array:
    """(3H,): ½ on the r and z blocks, 1 on n, for σ(a) = ½ tanh(½ a) + ½ (no overflow)."""
    scale = np.full(3 * H, 0.5, dtype=dtype)
    scale[2 * H :] = 1.0
    return scale


class GRUCell:
    """GRU with PyTorch's equations: the reset gate multiplies h W_hn + b_hn.

        a_t = x_t W_x + b_x      u_t = h_{t-1} W_h + b_h      (B, 3H), column blocks [r | z | n]
        r = σ(a_r + u_r)   z = σ(a_z + u_z)   n = tanh(a_n + r ⊙ u_n)     each (B, H)
        h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}                                   (B, H)

    Shapes: x_t (B, D); the carry is (h,), (B, H); W_x (D, 3H), W_h (H, 3H), b_x (3H,),
    b_h (3H,). Whole sequences: x (T, B, D) -> h (T, B, H). The step's output is h_t.

    One to one with torch.nn.GRU (layer k): W_x = weight_ih_lk.T, W_h = weight_hh_lk.T,
    b_x = bias_ih_lk, b_h = bias_hh_lk; `from_torch` and `to_torch` convert.

    Init: `uniform` draws all four from U(±1/√H) (PyTorch); `glorot_orthogonal` uses Glorot
    W_x, three orthogonal blocks in W_h and zero biases (Keras).
    """

    name: ClassVar[str] = "gru"

    class Spec(PluginSpec):
        hidden: Annotated[int, Field(gt=0, description="hidden units")]
        init: InitScheme = Field(
            "uniform",
            description="uniform ±1/√H (PyTorch) or Glorot W_x with orthogonal W_h (Keras)",
        )

    @spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.hidden = spec.hidden

    def init(self, rng: np.random.Generator, input_size: int) -> Params:
        return recurrent_params(
            rng, self.spec.init, input_size, self.hidden, blocks=3, biases=("b_x", "b_h")
        )

    def initial_carry(self, batch: int, dtype: np.dtype[Any]) -> Carry:
        return (np.zeros((batch, self.hidden), dtype=dtype),)

    # ---- one step ---------------------------------------------------------------------------

    def step(self, params: Params, x_t: Array, carry: Carry) -> tuple[Carry, Array, Any]:
        (h_prev,) = carry
        H = self.hidden
        a = x_t @ params["W_x"] + params["b_x"]  # (B, 3H)
        u = h_prev @ params["W_h"] + params["b_h"]  # (B, 3H)
        rz = np.tanh((a[:, : 2 * H] + u[:, : 2 * H]) * 0.5) * 0.5 + 0.5  # σ, (B, 2H)
        r, z = rz[:, :H], rz[:, H:]
        u_n = u[:, 2 * H :]
        n = np.tanh(a[:, 2 * H :] + r * u_n)
        h = n + z * (h_prev - n)  # == (1 − z) ⊙ n + z ⊙ h_prev
        return (h,), h, (x_t, h_prev, r, z, n, u_n)

    def step_backward(
        self, params: Params, cache: Any, dh_t: Array, dcarry: Carry
    ) -> tuple[Array, Carry, Params]:
        x_t, h_prev, r, z, n, u_n = cache
        dh = dh_t + dcarry[0]  # h_t is both the step's output and the carry
        # h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}
        dn, dz, dh_prev = dh * (1.0 - z), dh * (h_prev - n), dh * z
        # n = tanh(a_n + r ⊙ u_n)
        da_n = dn * (1.0 - n * n)
        dr, du_n = da_n * u_n, da_n * r
        # r = σ(a_r + u_r), z = σ(a_z + u_z)
        da_r, da_z = dr * r * (1.0 - r), dz * z * (1.0 - z)
        da = np.concatenate([da_r, da_z, da_n], axis=1)  # (B, 3H)
        du = np.concatenate([da_r, da_z, du_n], axis=1)  # (B, 3H)
        # u_t = h_{t-1} W_h + b_h;  a_t = x_t W_x + b_x
        grads = {
            "W_x": x_t.T @ da,
            "W_h": h_prev.T @ du,
            "b_x": da.sum(axis=0),
            "b_h": du.sum(axis=0),
        }
        return da @ params["W_x"].T, (dh_prev + du @ params["W_h"].T,), grads

    # ---- the whole sequence -----------------------------------------------------------------

    def forward(self, params: Params, x: Array, carry: Carry) -> tuple[Array, Carry, Any]:
        """All input projections in one GEMM; the loop does h W_h, the gates and the update."""
        T, B, D = x.shape
        H = self.hidden
        scale = gate_scale(H, x.dtype)
        # σ's halving folded into the weights and biases (×½ and ×1 are exact)
        W_x = params["W_x"] * scale  # (D, 3H)
        gates = (x.reshape(T * B, D) @ W_x).reshape(T, B, 3 * H)  # a_t, becomes [r|z|n]
        b = params["b_x"] * scale  # (3H,); b_h's r and z blocks join it, its n block cannot
        b[: 2 * H] += params["b_h"][: 2 * H] * 0.5
        gates += b
        dtype = gates.dtype
        # np.dot (less per-call overhead than matmul) needs one dtype throughout
        W_h = (params["W_h"] * scale).astype(dtype, copy=False)  # (H, 3H)
        b_hn = params["b_h"][2 * H :].astype(dtype)  # (H,)
        u_n = np.empty((T, B, H), dtype=dtype)  # h_{t-1} W_hn + b_hn
        # h_0 .. h_T in one buffer, so that backward's dW_h is one GEMM over every h_{t-1}
        states = np.empty((T + 1, B, H), dtype=dtype)
        states[0] = carry[0]
        h, hs = states[0], states[1:]
        hW = np.empty((B, 3 * H), dtype=dtype)
        hW_rz, hW_n = hW[:, : 2 * H], hW[:, 2 * H :]
        tmp = np.empty((B, H), dtype=dtype)
        rz, r, z, n = (
            gates[..., : 2 * H],
            gates[..., :H],
            gates[..., H : 2 * H],
            gates[..., 2 * H :],
        )
        for rz_t, r_t, z_t, n_t, un_t, h_t in zip(rz, r, z, n, u_n, hs, strict=True):
            np.dot(h, W_h, out=hW)  # (B, 3H)
            rz_t += hW_rz
            np.add(hW_n, b_hn, out=un_t)
            np.tanh(rz_t, out=rz_t)
            rz_t *= 0.5
            rz_t += 0.5
            np.multiply(r_t, un_t, out=tmp)
            n_t += tmp
            np.tanh(n_t, out=n_t)
            np.subtract(h, n_t, out=h_t)  # h_t = n + z ⊙ (h_{t-1} − n)
            h_t *= z_t
            h_t += n_t
            h = h_t
        return hs, (h,), (x, gates, u_n, states)

    def backward(
        self, params: Params, cache: Any, dh: Array, dcarry: Carry, input_grad: bool = True
    ) -> tuple[Array | None, Carry, Params]:
        """The loop does the gate maths of one step and du_t W_h^T; the weight gradients and dx
        are GEMMs over all steps."""
        x, gates, u_n, states = cache
        T, B, D = x.shape
        H = self.hidden
        dtype = gates.dtype
        r, z, n = gates[..., :H], gates[..., H : 2 * H], gates[..., 2 * H :]  # (T, B, H) views

        # grad (T, B, 4H), blocks [r | z | u_n | n]: the gradients of a_r + u_r, a_z + u_z, u_n
        # and a_n; du_t is blocks [:3], da_t blocks [:2] and [3]. All of a step's gate maths is
        # done in the loop, where its gates are still in cache.
        grad = np.empty((T, B, 4 * H), dtype=dtype)
        du = grad[..., : 3 * H]  # (T, B, 3H), rows 4H apart
        W_hT = np.ascontiguousarray(params["W_h"].T, dtype=dtype)  # (3H, H)
        dh_next = np.array(dcarry[0], dtype=dtype)  # a copy: the loop writes into it
        dh_t = np.empty_like(dh_next)
        tmp = np.empty_like(dh_next)
        slope = np.empty((B, 2 * H), dtype=dtype)
        for t in reversed(range(T)):
            rz_t, r_t, z_t, n_t, un_t = gates[t, :, : 2 * H], r[t], z[t], n[t], u_n[t]
            g_rz, g_r, g_z, g_un, g_n = (
                grad[t, :, : 2 * H],
                grad[t, :, :H],
                grad[t, :, H : 2 * H],
                grad[t, :, 2 * H : 3 * H],
                grad[t, :, 3 * H :],
            )
            np.add(dh[t], dh_next, out=dh_t)  # h_t is both the output and the carry
            # h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}: dn = dh ⊙ (1 − z), dz = dh ⊙ (h_{t-1} − n)
            np.subtract(1.0, z_t, out=tmp)
            np.multiply(dh_t, tmp, out=g_n)
            np.subtract(states[t], n_t, out=g_z)  # states[t] is h_{t-1}
            g_z *= dh_t
            # n = tanh(a_n + r ⊙ u_n): da_n = dn ⊙ (1 − n²), du_n = da_n ⊙ r, dr = da_n ⊙ u_n
            np.multiply(n_t, n_t, out=tmp)
            np.subtract(1.0, tmp, out=tmp)
            g_n *= tmp
            np.multiply(g_n, r_t, out=g_un)
            np.multiply(g_n, un_t, out=g_r)
            # r = σ(a_r + u_r), z = σ(a_z + u_z): σ' = σ(1 − σ)
            np.subtract(1.0, rz_t, out=slope)
            slope *= rz_t
            g_rz *= slope
            # u_t = h_{t-1} W_h + b_h
            np.dot(du[t], W_hT, out=dh_next)  # (B, H)
            # h_t = ... + z ⊙ h_{t-1}
            np.multiply(dh_t, z_t, out=dh_t)
            dh_next += dh_t

        # u_t = h_{t-1} W_h + b_h;  a_t = x_t W_x + b_x, for all t at once. Strided 2-D views
        # (BLAS takes a row stride) instead of copies: du is columns [:3H], da is [:2H] + [3H:].
        flat = grad.reshape(T * B, 4 * H)
        flat_x = x.reshape(T * B, D)
        da_rz, da_n = flat[:, : 2 * H], flat[:, 3 * H :]
        dW_x = np.empty((D, 3 * H), dtype=dtype)
        np.matmul(flat_x.T, da_rz, out=dW_x[:, : 2 * H])
        np.matmul(flat_x.T, da_n, out=dW_x[:, 2 * H :])
        dW_h = states[:-1].reshape(T * B, H).T @ flat[:, : 3 * H]  # (H, 3H), over h_0 .. h_{T-1}
        sums = np.add.reduce(flat, axis=0)  # (4H,)
        grads = {
            "W_x": dW_x,
            "W_h": dW_h,
            "b_x": np.concatenate([sums[: 2 * H], sums[3 * H :]]),
            "b_h": sums[: 3 * H].copy(),
        }
        if not input_grad:  # the input is data: skip two GEMMs as large as dW_x's
            return None, (dh_next,), grads
        W_x = params["W_x"]
        dx = da_rz @ W_x[:, : 2 * H].T  # (T·B, D)
        dx += da_n @ W_x[:, 2 * H :].T
        return dx.reshape(T, B, D), (dh_next,), grads

    # ---- PyTorch ----------------------------------------------------------------------------

    @staticmethod
    def from_torch(weights: Mapping[str, Array], layer: int = 0) -> Params:
        """Params from a torch.nn.GRU's state_dict (as numpy arrays) for one layer."""
        return params_from_torch(weights, layer)

    @staticmethod
    def to_torch(params: Mapping[str, Array], layer: int = 0) -> dict[str, Array]:
        """The torch.nn.GRU state_dict entries (numpy arrays) of one layer's params."""
        return params_to_torch(params, layer)

    def torch_module(self, params: Params) -> Any:
        """This cell as a torch.nn.GRU (seqnet.to_torch)."""
        import torch

        rnn = torch.nn.GRU(params["W_x"].shape[0], self.hidden)
        return torch_loaded(rnn, params_to_torch(params))

    @classmethod
    def from_torch_module(cls, module: Any) -> tuple[dict[str, Any], Params] | None:
        """The options and params of a one-layer torch.nn.GRU (seqnet.from_torch)."""
        import torch

        if type(module) is not torch.nn.GRU:
            return None
        return {"hidden": module.hidden_size}, params_from_torch(torch_weights(module))
