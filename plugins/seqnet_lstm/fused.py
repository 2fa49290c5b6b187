"""numba kernels for the element-wise gate work of one LSTM step, forward and backward (the
optional extra `seqnet[fast]`). The numpy code in cell.py is the reference; these follow its
order of operations. Compiled on first use and cached on disk (`cache=True`)."""

from __future__ import annotations

import numba

from seqnet import Array


@numba.njit(cache=True, nogil=True)
def forward_step(z: Array, scale: Array, shift: Array, c_prev: Array, c: Array) -> None:
    """z (B, 4H), tanh of the scaled pre-activations, becomes the gates [i | f | g | o] in
    place; writes c = f ⊙ c_prev + i ⊙ g (B, H). tanh itself stays with numpy, whose SIMD
    tanh is several times faster than the scalar one numba calls."""
    B, H4 = z.shape
    H = H4 // 4
    for b in range(B):
        for j in range(H4):
            z[b, j] = z[b, j] * scale[j] + shift[j]
        for j in range(H):
            c[b, j] = z[b, H + j] * c_prev[b, j] + z[b, j] * z[b, 2 * H + j]


@numba.njit(cache=True, nogil=True)
def output_step(gates: Array, tanh_c: Array, h: Array) -> None:
    """h = o ⊙ tanh c_t (B, H), o the last block of the gates (B, 4H): one rounding a product,
    as numpy's, and cheaper than numpy's multiply of a strided block at a small B·H."""
    B, H = h.shape
    for b in range(B):
        for j in range(H):
            h[b, j] = gates[b, 3 * H + j] * tanh_c[b, j]


@numba.njit(cache=True, nogil=True)
def backward_step(
    gates: Array,
    c_prev: Array,
    tanh_c: Array,
    dh_out: Array,
    dh_next: Array,
    dc_next: Array,
    dz: Array,
    one: Array,
) -> None:
    """dz (B, 4H) of one step from its gates, c_{t-1} and tanh c_t, the output's gradient dh_out
    and the carry's dh_next, dc_next (B, H); dc_next becomes dc_{t-1} in place. `one` (1,) in
    the gates' dtype: a literal 1.0 would make numba compute float32 gradients in float64."""
    B, H4 = gates.shape
    H = H4 // 4
    u = one[0]
    for b in range(B):
        for j in range(H):
            i = gates[b, j]
            f = gates[b, H + j]
            g = gates[b, 2 * H + j]
            o = gates[b, 3 * H + j]
            t = tanh_c[b, j]
            dh = dh_out[b, j] + dh_next[b, j]  # h_t is both the output and the carry
            dc = dh * ((u - t * t) * o) + dc_next[b, j]
            dz[b, j] = ((u - i) * i * g) * dc
            dz[b, H + j] = ((u - f) * f * c_prev[b, j]) * dc
            dz[b, 2 * H + j] = ((u - g * g) * i) * dc
            dz[b, 3 * H + j] = ((u - o) * o * t) * dh
            dc_next[b, j] = dc * f
