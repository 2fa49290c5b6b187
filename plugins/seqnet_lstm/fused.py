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
        # one row's blocks as 1-D views: LLVM then vectorises the loop over j (indexing the 2-D
        # arrays it did not; measured 3x faster at B=32 H=128 in float32), same floats
        gi, gf, gg, go = (
            gates[b, :H],
            gates[b, H : 2 * H],
            gates[b, 2 * H : 3 * H],
            gates[b, 3 * H :],
        )
        zi, zf, zg, zo = dz[b, :H], dz[b, H : 2 * H], dz[b, 2 * H : 3 * H], dz[b, 3 * H :]
        cp, tc, dho, dhn, dcn = c_prev[b], tanh_c[b], dh_out[b], dh_next[b], dc_next[b]
        for j in range(H):
            i, f, g, o, t = gi[j], gf[j], gg[j], go[j], tc[j]
            dh = dho[j] + dhn[j]  # h_t is both the output and the carry
            dc = dh * ((u - t * t) * o) + dcn[j]
            zi[j] = ((u - i) * i * g) * dc
            zf[j] = ((u - f) * f * cp[j]) * dc
            zg[j] = ((u - g * g) * i) * dc
            zo[j] = ((u - o) * o * t) * dh
            dcn[j] = dc * f
