"""The Elman controller that drives a differentiable memory, with its step, whole-sequence
forward and backward; the memory itself (stack or tape) is a pair of functions from
seqnet_memory.memories.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from seqnet import Array, Carry, InitScheme, Params, glorot_uniform, recurrent_params

KEEP_ALL = 1 << 22
"""A forward keeps every step's memory up to this many numbers in all (32 MB in float64)."""

Update = Callable[[Array, Array, Array, Array | None], Array]
UpdateBackward = Callable[[Array, Array, Array, Array | None, Array], tuple[Array, Array, Array]]


@dataclass(frozen=True)
class Controller:
    """h_t = act(x_t W_x + r_t W_r + h_{t-1} W_h + b), r_t = mem_{t-1}[0] (the top row);
    v_t = h_t W_v + b_v (the value to push or write); p_t = softmax(h_t W_a + b_a) (the
    actions); mem_t = update(mem_{t-1}, p_t, v_t, L_t). The output is h_t.

    Shapes: x_t (B, D), h_t (B, H), mem (B, S, M), r_t and v_t (B, M), p_t (B, A). With
    `counts`, the carry also holds L_t (B,): the number of steps so far whose input is not the
    blank (the last input feature above 0.5), which is the input length once the blanks begin.
    """

    hidden: int
    cell_size: int
    actions: int
    activation: str
    init_scheme: InitScheme
    update: Update
    update_backward: UpdateBackward
    counts: bool

    def init(self, rng: np.random.Generator, input_size: int) -> Params:
        H, M, A = self.hidden, self.cell_size, self.actions
        base = recurrent_params(rng, self.init_scheme, input_size, H)
        bound = 1.0 / math.sqrt(H)  # PyTorch's U(±1/√fan_in) for a Linear from H
        if self.init_scheme == "uniform":
            W_r = rng.uniform(-bound, bound, (M, H))
        else:
            W_r = glorot_uniform(rng, (M, H))
        return {
            "W_x": base["W_x"],  # (D, H)
            "W_r": W_r,  # (M, H)
            "W_h": base["W_h"],  # (H, H)
            "b": base["b"],  # (H,)
            "W_v": rng.uniform(-bound, bound, (H, M)),
            "b_v": np.zeros(M),
            "W_a": rng.uniform(-bound, bound, (H, A)),
            "b_a": np.zeros(A),
        }

    def carry(self, batch: int, dtype: np.dtype[Any], rows: int) -> Carry:
        h = np.zeros((batch, self.hidden), dtype=dtype)
        mem = np.zeros((batch, rows, self.cell_size), dtype=dtype)
        return (h, mem, np.zeros(batch, dtype=dtype)) if self.counts else (h, mem)

    # activation and its slope expressed through the output h
    def act(self, a: Array) -> Array:
        if self.activation == "relu":
            return np.maximum(a, 0.0, out=a)
        return np.tanh(a, out=a)

    def slope(self, h: Array) -> Array:
        if self.activation == "relu":
            return (h > 0.0).astype(h.dtype)
        return 1.0 - h * h

    def lengths(self, L: Array | None) -> Array | None:
        return None if L is None else np.rint(L).astype(np.intp)

    def step(self, params: Params, x_t: Array, carry: Carry) -> tuple[Carry, Array, Any]:
        h_prev, mem = carry[0], carry[1]
        L = carry[2] + (x_t[:, -1] <= 0.5) if self.counts else None  # (B,)
        r = mem[:, 0]  # (B, M)
        a = x_t @ params["W_x"] + r @ params["W_r"] + h_prev @ params["W_h"] + params["b"]
        h = self.act(a)  # (B, H)
        v = h @ params["W_v"] + params["b_v"]  # (B, M)
        p = softmax(h @ params["W_a"] + params["b_a"])  # (B, A)
        new = self.update(mem, p, v, self.lengths(L))
        out = (h, new) if L is None else (h, new, L)
        return out, h, (x_t, h_prev, mem, h, v, p, L)

    def step_backward(
        self, params: Params, cache: Any, dh_t: Array, dcarry: Carry
    ) -> tuple[Array, Carry, Params]:
        x_t, h_prev, mem, h, v, p, L = cache
        # mem_t = update(mem, p, v, L)
        dmem, dp, dv = self.update_backward(mem, p, v, self.lengths(L), dcarry[1])
        # p = softmax(u)
        du = p * (dp - np.sum(p * dp, axis=1, keepdims=True))  # (B, A)
        # v = h W_v + b_v, u = h W_a + b_a
        dh = dh_t + dcarry[0] + dv @ params["W_v"].T + du @ params["W_a"].T
        # h = act(a), a = x_t W_x + r W_r + h_prev W_h + b
        da = dh * self.slope(h)  # (B, H)
        r = mem[:, 0]
        grads = {
            "W_x": x_t.T @ da,
            "W_r": r.T @ da,
            "W_h": h_prev.T @ da,
            "b": da.sum(axis=0),
            "W_v": h.T @ dv,
            "b_v": dv.sum(axis=0),
            "W_a": h.T @ du,
            "b_a": du.sum(axis=0),
        }
        dmem[:, 0] += da @ params["W_r"].T  # r = mem[0]
        dprev: Carry = (da @ params["W_h"].T, dmem)
        if self.counts:  # L_t = L_{t-1} + [not blank]; the jumps round L (slope zero)
            dprev = (*dprev, np.array(dcarry[2]))
        return da @ params["W_x"].T, dprev, grads

    def forward(self, params: Params, x: Array, carry: Carry) -> tuple[Array, Carry, Any]:
        """The whole sequence. The cache keeps every step's memory while they fit in
        KEEP_ALL numbers (training); past that only every K ≈ √T steps' (backward replays the
        rest), so evaluating T = 1500 steps holds O(√T) memories, not T."""
        T, B, D = x.shape
        H, M = self.hidden, self.cell_size
        dtype = np.result_type(x, params["W_x"])
        states = np.empty((T + 1, B, H), dtype=dtype)  # h_0 .. h_T
        states[0] = carry[0]
        hs = states[1:]
        np.matmul(x.reshape(T * B, D), params["W_x"], out=hs.reshape(T * B, H))
        hs += params["b"]
        W_h = params["W_h"].astype(dtype, copy=False)
        W_r = params["W_r"].astype(dtype, copy=False)
        W_o = np.concatenate([params["W_v"], params["W_a"]], axis=1).astype(dtype)  # (H, M+A)
        b_o = np.concatenate([params["b_v"], params["b_a"]]).astype(dtype)  # (M+A,)
        reads = np.empty((T, B, M), dtype=dtype)
        outs = np.empty((T, B, M + self.actions), dtype=dtype)  # v_t, then the logits u_t
        probs = np.empty((T, B, self.actions), dtype=dtype)
        Ls = np.empty((T, B), dtype=dtype) if self.counts else None
        L = carry[2] if self.counts else None
        K = 1 if T * carry[1].size <= KEEP_ALL else segment(T)
        snapshots = []
        h, mem = states[0], carry[1]
        for t in range(T):
            if t % K == 0:
                snapshots.append(mem)
            reads[t] = mem[:, 0]
            a = hs[t]
            a += h @ W_h  # (B, H)
            a += reads[t] @ W_r  # (B, H)
            h = self.act(a)
            np.matmul(h, W_o, out=outs[t])  # (B, M+A)
            outs[t] += b_o
            probs[t] = softmax(outs[t, :, M:])
            if Ls is not None and L is not None:
                L = L + (x[t, :, -1] <= 0.5)
                Ls[t] = L
            mem = self.update(mem, probs[t], outs[t, :, :M], self.lengths(L))
        final = (h, mem) if L is None else (h, mem, L)
        return hs, final, (x, states, reads, outs, probs, Ls, snapshots, K)

    def backward(
        self, params: Params, cache: Any, dh: Array, dcarry: Carry, input_grad: bool = True
    ) -> tuple[Array | None, Carry, Params]:
        x, states, reads, outs, probs, Ls, snapshots, K = cache
        T, B, D = x.shape
        H, M = self.hidden, self.cell_size
        hs = states[1:]
        dtype = hs.dtype
        W_hT = np.ascontiguousarray(params["W_h"].astype(dtype, copy=False).T)
        W_rT = params["W_r"].astype(dtype, copy=False).T
        W_oT = np.concatenate([params["W_v"], params["W_a"]], axis=1).astype(dtype).T
        das = np.empty_like(hs)  # (T, B, H)
        douts = np.empty_like(outs)  # (T, B, M+A)
        dh_next = np.array(dcarry[0], dtype=dtype)
        dmem = dcarry[1]
        for start in reversed(range(0, T, K)):
            stop = min(T, start + K)
            # replay the memories of this segment from its snapshot (the same numbers)
            mems = [snapshots[start // K]]
            for t in range(start, stop - 1):
                L_t = None if Ls is None else self.lengths(Ls[t])
                mems.append(self.update(mems[-1], probs[t], outs[t, :, :M], L_t))
            for t in reversed(range(start, stop)):
                L_t = None if Ls is None else self.lengths(Ls[t])
                p = probs[t]
                # mem_t = update(mem_{t-1}, p_t, v_t, L_t)
                dmem, dp, dv = self.update_backward(mems[t - start], p, outs[t, :, :M], L_t, dmem)
                # p_t = softmax(u_t)
                douts[t, :, :M] = dv
                douts[t, :, M:] = p * (dp - np.sum(p * dp, axis=1, keepdims=True))
                # (v_t, u_t) = h_t W_o + b_o; h_t = act(a_t)
                total = dh[t] + dh_next + douts[t] @ W_oT  # (B, H)
                da = np.multiply(total, self.slope(hs[t]), out=das[t])
                # a_t = x_t W_x + r_t W_r + h_{t-1} W_h + b, r_t = mem_{t-1}[0]
                dh_next = da @ W_hT  # (B, H)
                dmem[:, 0] += da @ W_rT  # (B, M)
        flat = das.reshape(T * B, H)
        flat_out = douts.reshape(T * B, M + self.actions)
        flat_h = hs.reshape(T * B, H)
        grads = {
            "W_x": x.reshape(T * B, D).T @ flat,  # (D, H)
            "W_r": reads.reshape(T * B, M).T @ flat,  # (M, H)
            "W_h": states[:-1].reshape(T * B, H).T @ flat,  # (H, H)
            "b": flat.sum(axis=0),
            "W_v": flat_h.T @ flat_out[:, :M],  # (H, M)
            "b_v": flat_out[:, :M].sum(axis=0),
            "W_a": flat_h.T @ flat_out[:, M:],  # (H, A)
            "b_a": flat_out[:, M:].sum(axis=0),
        }
        dprev: Carry = (dh_next, dmem)
        if self.counts:  # L_T = L_0 + the non-blank steps
            dprev = (*dprev, np.array(dcarry[2], dtype=dtype))
        if not input_grad:
            return None, dprev, grads
        return (flat @ params["W_x"].T).reshape(T, B, D), dprev, grads


def softmax(u: Array) -> Array:
    e = np.exp(u - u.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


def segment(T: int) -> int:
    """Steps between the memories a forward keeps: about √T."""
    return max(1, math.isqrt(T - 1) + 1) if T > 1 else 1
