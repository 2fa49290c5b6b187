"""The two differentiable memories and their backward: a stack (push, pop, no-op) and a circular
tape (stay, left, right, jump left, jump right). Pure functions of arrays; no controller here.

Shapes: memory (B, S, M) with row 0 the top of the stack or the cell under the tape's head;
actions p (B, A), the value to push or write v (B, M), the input length L (B,) integers.
"""

from __future__ import annotations

import numpy as np

from seqnet import Array


def stack_update(s: Array, p: Array, v: Array, L: Array | None = None) -> Array:
    """s_t = p_push·(v on top of s shifted down) + p_pop·(s shifted up) + p_noop·s.

    Row by row: s_t[0] = p_push v + p_pop s[1] + p_noop s[0] and, for i ≥ 1,
    s_t[i] = p_push s[i-1] + p_pop s[i+1] + p_noop s[i], with s[S] = 0 (a pop brings zeros up
    from below; a push drops the bottom row, which stays zero while S exceeds the steps taken).
    """
    push, pop, noop = (p[:, k, None, None] for k in range(3))  # (B, 1, 1) each
    new = noop * s  # (B, S, M)
    new[:, 1:] += push * s[:, :-1]
    new[:, :-1] += pop * s[:, 1:]
    new[:, 0] += push[:, 0] * v
    return new


def stack_update_backward(
    s: Array, p: Array, v: Array, L: Array | None, g: Array
) -> tuple[Array, Array, Array]:
    """Gradients of `stack_update` w.r.t. the old stack s, the actions p and the value v,
    given g = ∂loss/∂s_t (B, S, M)."""
    push, pop, noop = (p[:, k, None, None] for k in range(3))
    dp = np.empty_like(p)  # (B, 3)
    # s_t[0] ∋ p_push v and s_t[i] ∋ p_push s[i-1]
    dp[:, 0] = np.einsum("bm,bm->b", g[:, 0], v) + np.einsum("bim,bim->b", g[:, 1:], s[:, :-1])
    # s_t[i] ∋ p_pop s[i+1]
    dp[:, 1] = np.einsum("bim,bim->b", g[:, :-1], s[:, 1:])
    # s_t[i] ∋ p_noop s[i]
    dp[:, 2] = np.einsum("bim,bim->b", g, s)
    ds = noop * g  # (B, S, M)
    ds[:, :-1] += push * g[:, 1:]
    ds[:, 1:] += pop * g[:, :-1]
    dv = push[:, 0] * g[:, 0]  # (B, M)
    return ds, dp, dv


def tape_shifts(L: Array, size: int) -> Array:
    """The row offsets k of the five moves for each sequence, (B, 5): stay 0, left +1, right −1,
    jump left +L, jump right −L (moving the head left brings row k up under it)."""
    L = L.astype(np.intp)
    ones = np.ones_like(L)
    return np.stack([0 * ones, ones, -ones, L, -L], axis=1) % size  # (B, 5)


def shifted(tape: Array, k: Array) -> Array:
    """out[b, m] = tape[b, (m + k[b]) mod N]: the tape turned so that row k[b] is under the head."""
    if np.all(k == k[0]):  # one input length for the whole batch: a plain rotation
        return np.roll(tape, -int(k[0]), axis=1)
    N = tape.shape[1]
    rows = (np.arange(N)[None, :] + k[:, None]) % N  # (B, N)
    return np.take_along_axis(tape, rows[:, :, None], axis=1)  # (B, N, M)


def add_shifted(out: Array, tape: Array, k: Array, weight: Array) -> None:
    """out[b, m] += weight[b] · tape[b, (m + k[b]) mod N], without copying the tape when every
    sequence shifts by the same k (two slices instead of a rotated copy)."""
    w = weight[:, None, None]  # (B, 1, 1)
    if not np.all(k == k[0]):
        out += w * shifted(tape, k)
        return
    N = tape.shape[1]
    j = int(k[0]) % N
    out[:, : N - j] += w * tape[:, j:]
    if j:
        out[:, N - j :] += w * tape[:, :j]


def tape_update(T: Array, p: Array, v: Array, L: Array | None) -> Array:
    """Write v under the head, then move: T_t[m] = Σ_A p_A T'[(m + k_A) mod N], where T' is T
    with row 0 replaced by v and k = (0, +1, −1, +L, −L) for (stay, left, right, jump left,
    jump right). Every action writes first, as the paper's current code does."""
    assert L is not None, "the tape's jumps need the input length"
    written = T.copy()
    written[:, 0] = v
    k = tape_shifts(L, T.shape[1])
    new = p[:, 0, None, None] * written  # (B, N, M)
    for a in range(1, 5):
        add_shifted(new, written, k[:, a], p[:, a])
    return new


def tape_update_backward(
    T: Array, p: Array, v: Array, L: Array | None, g: Array
) -> tuple[Array, Array, Array]:
    """Gradients of `tape_update` w.r.t. the old tape T, the actions p and the value v, given
    g = ∂loss/∂T_t (B, N, M)."""
    assert L is not None, "the tape's jumps need the input length"
    written = T.copy()
    written[:, 0] = v
    N = T.shape[1]
    k = tape_shifts(L, N)
    dp = np.empty_like(p)  # (B, 5)
    dp[:, 0] = np.einsum("bnm,bnm->b", g, written)
    dwritten = p[:, 0, None, None] * g  # (B, N, M)
    for a in range(1, 5):
        # T_t ∋ p_A shift(T', k_A): its transpose is the shift by −k_A
        dp[:, a] = np.einsum("bnm,bnm->b", shifted(g, (N - k[:, a]) % N), written)
        add_shifted(dwritten, g, (N - k[:, a]) % N, p[:, a])
    # T' = T with row 0 replaced by v
    dv = dwritten[:, 0].copy()  # (B, M)
    dwritten[:, 0] = 0.0
    return dwritten, dp, dv
