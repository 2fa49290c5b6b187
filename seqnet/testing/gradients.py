"""The float64 gradient checker: central differences against any analytic gradient.

Everything here runs in float64 with central differences; a correct backward gives relative
errors near 1e-9, so the default tolerance of 1e-6 catches real mistakes without flaking.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from seqnet.interfaces import Array

TOLERANCE = 1e-6


def relative_error(analytic: Array, numeric: Array) -> float:
    """‖a − n‖ / (‖a‖ + ‖n‖), 0 when both are zero: scale-free and stable near zero entries."""
    scale = float(np.linalg.norm(analytic) + np.linalg.norm(numeric))
    if scale == 0.0:
        return 0.0
    return float(np.linalg.norm(analytic - numeric)) / scale


def numeric_gradient(loss: Callable[[], float], array: Array, eps: float = 1e-6) -> Array:
    """d loss / d array by central differences, perturbing `array` in place (restored after)."""
    grad = np.zeros_like(array, dtype=np.float64)
    flat, flat_grad = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = loss()
        flat[i] = old - eps
        down = loss()
        flat[i] = old
        flat_grad[i] = (up - down) / (2.0 * eps)
    return grad


def check_gradients(
    loss: Callable[[], float],
    arrays: Mapping[str, Array],
    analytic: Mapping[str, Array],
    tol: float = TOLERANCE,
) -> dict[str, float]:
    """Compare `analytic[name]` with the numeric gradient of `loss()` for every array.

    `loss` must read the arrays in `arrays` (which are perturbed in place). Returns the
    relative error of each; raises AssertionError naming every array above `tol`.
    """
    errors = {}
    for name, array in arrays.items():
        if array.dtype != np.float64:
            raise TypeError(f"gradient checks need float64; '{name}' is {array.dtype}")
        errors[name] = relative_error(analytic[name], numeric_gradient(loss, array))
    bad = {name: err for name, err in errors.items() if not err < tol}
    if bad:
        listed = ", ".join(f"{name}: {err:.2e}" for name, err in bad.items())
        raise AssertionError(f"gradient check failed (tolerance {tol:.0e}): {listed}")
    return errors
