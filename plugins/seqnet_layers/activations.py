"""Elementwise activations of `dense` and `activation`, their derivatives and their torch.nn
modules; gelu's Φ through an accurate erfc.

numpy has no erf: `normal_cdf` evaluates W. J. Cody's rational Chebyshev approximations
(Math. Comp. 23, 1969), accurate to a few ulp in float64, vectorised over whole arrays.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

import seqnet

Activation = Literal["linear", "tanh", "relu", "sigmoid", "gelu"]

TORCH = {"tanh": "Tanh", "relu": "ReLU", "sigmoid": "Sigmoid", "gelu": "GELU", "linear": "Identity"}
"""Each function's torch.nn module (gelu: the exact one, torch's default)."""


def torch_activation(name: Activation) -> Any:
    """The torch.nn module computing `name`."""
    import torch

    return getattr(torch.nn, TORCH[name])()


def activation_of(module: Any) -> Activation | None:
    """The function a torch.nn activation module computes; None if it is none of these (GELU
    with the tanh approximation is another function)."""
    import torch

    if type(module) is torch.nn.GELU and module.approximate != "none":
        return None
    for name, cls in TORCH.items():
        if type(module) is getattr(torch.nn, cls):
            return name  # type: ignore[return-value]
    return None


# Cody's coefficients: erf on |z| ≤ 0.46875, erfc on 0.46875 < |z| ≤ 4, erfc on |z| > 4
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)  # fmt: skip
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)  # fmt: skip
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)  # fmt: skip
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)  # fmt: skip
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)  # fmt: skip
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)  # fmt: skip
_SQRT_HALF = 0.7071067811865475244
_INV_SQRT_PI = 0.5641895835477562869
_INV_SQRT_2PI = 0.3989422804014326779


def _rational(x: seqnet.Array, top: tuple[float, ...], bottom: tuple[float, ...]) -> seqnet.Array:
    """Cody's ratio of polynomials in x, both evaluated by Horner's rule in place: top has one
    coefficient more than bottom, whose leading coefficient is 1."""
    k = len(bottom) - 1
    num, den = top[k + 1] * x, x.copy()
    for t, b in zip(top[:k], bottom[:k], strict=True):
        num += t
        num *= x
        den += b
        den *= x
    num += top[k]
    den += bottom[k]
    num /= den
    return num


def _erf_small(z: seqnet.Array) -> seqnet.Array:
    """erf(z) for |z| ≤ 0.46875."""
    num = _rational(z * z, _A, _B)
    num *= z
    return num


def _erfc_mid(y: seqnet.Array) -> seqnet.Array:
    """erfc(y) · exp(y²) for 0.46875 < y ≤ 4."""
    return _rational(y, _C, _D)


def _erfc_far(y: seqnet.Array) -> seqnet.Array:
    """erfc(y) · exp(y²) for y > 4."""
    r = 1.0 / (y * y)
    num = _rational(r, _P, _Q)
    num *= r
    return (_INV_SQRT_PI - num) / y


def normal_cdf(x: seqnet.Array) -> seqnet.Array:
    """Φ(x) = ½ (1 + erf(x/√2)), in x's dtype (computed in float64)."""
    z = np.asarray(x, dtype=np.float64) * _SQRT_HALF
    y = np.minimum(np.abs(z), 40.0)  # erfc(40) is 0 in float64; keeps ±inf finite here
    out = np.empty_like(z)
    small = y <= 0.46875
    far = y > 4.0
    mid = ~(small | far)
    out[small] = 0.5 + 0.5 * _erf_small(z[small])
    for where, ratio in ((mid, _erfc_mid), (far, _erfc_far)):
        if where.any():
            yw = y[where]
            # exp(-y²) as exp(-s²)·exp(-(y-s)(y+s)), s = y cut to 1/16: y² itself is inexact
            s = np.trunc(yw * 16.0) / 16.0
            with np.errstate(under="ignore"):
                half_erfc = 0.5 * np.exp(-s * s) * np.exp(-(yw - s) * (yw + s)) * ratio(yw)
            out[where] = np.where(z[where] < 0.0, half_erfc, 1.0 - half_erfc)
    out[np.isnan(z)] = np.nan
    return out.astype(np.result_type(x, np.float32), copy=False)


def normal_pdf(x: seqnet.Array) -> seqnet.Array:
    """φ(x) = exp(-x²/2) / √(2π)."""
    with np.errstate(under="ignore"):
        return _INV_SQRT_2PI * np.exp(-0.5 * x * x)


def activate(name: Activation, a: seqnet.Array) -> tuple[seqnet.Array, Any]:
    """y = act(a) and what `slope` needs to give act'(a) (y itself, or Φ(a) for gelu)."""
    if name == "linear":
        return a, None
    if name == "tanh":
        y = np.tanh(a)
        return y, y
    if name == "relu":
        y = np.maximum(a, 0.0)
        return y, y
    if name == "sigmoid":  # σ(a) = ½ tanh(a/2) + ½, no overflow
        y = 0.5 * np.tanh(0.5 * a) + 0.5
        return y, y
    cdf = normal_cdf(a)  # gelu(a) = a Φ(a)
    return a * cdf, cdf


def slope(name: Activation, a: seqnet.Array, kept: Any) -> seqnet.Array | None:
    """act'(a), from the pre-activation a and what `activate` kept; None for linear."""
    if name == "linear":
        return None
    if name == "tanh":
        return 1.0 - kept * kept  # type: ignore[no-any-return]
    if name == "relu":
        return (kept > 0.0).astype(a.dtype)  # type: ignore[no-any-return]
    if name == "sigmoid":
        return kept * (1.0 - kept)  # type: ignore[no-any-return]
    return kept + a * normal_pdf(a)  # type: ignore[no-any-return]  # d/da a Φ(a) = Φ + a φ
