"""The float64 gradient checker and the cell checks built on it.

Everything here runs in float64 with central differences; a correct backward gives relative
errors near 1e-9, so the default tolerance of 1e-6 catches real mistakes without flaking.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from seqnet import recurrent
from seqnet.interfaces import Array, Carry, Cell, Params

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


def random_problem(
    cell: Cell, input_size: int, T: int, B: int, seed: int = 0
) -> tuple[Params, Array, Carry, Array, Carry]:
    """Float64 params, inputs x (T, B, D), a random initial carry, and random loss weights for
    the outputs (T, B, H) and the final carry, so that every gradient path is exercised."""
    rng = np.random.default_rng(seed)
    params = {k: np.asarray(v, dtype=np.float64) for k, v in cell.init(rng, input_size).items()}
    x = rng.standard_normal((T, B, input_size))
    zeros = cell.initial_carry(B, np.dtype(np.float64))
    carry0 = tuple(0.5 * rng.standard_normal(part.shape) for part in zeros)
    dh = rng.standard_normal((T, B, cell.hidden))
    dcarry = tuple(rng.standard_normal(part.shape) for part in zeros)
    return params, x, carry0, dh, dcarry


def check_cell_gradients(
    cell: Cell, input_size: int = 3, T: int = 5, B: int = 3, seed: int = 0, tol: float = TOLERANCE
) -> dict[str, float]:
    """Gradient-check a cell over a whole sequence: every parameter, the input, the initial carry.

    The loss is Σ h·R + Σ carry_T·S for random R, S; uses the cell's sequence methods when it
    has them (and the engine's step loop otherwise).
    """
    params, x, carry0, dh, dcarry = random_problem(cell, input_size, T, B, seed)

    def loss() -> float:
        h, final, _ = recurrent.sequence_forward(cell, params, x, carry0)
        return float(
            np.sum(h * dh) + sum(np.sum(c * d) for c, d in zip(final, dcarry, strict=True))
        )

    _, _, cache = recurrent.sequence_forward(cell, params, x, carry0)
    dx, dcarry0, grads = recurrent.sequence_backward(cell, params, cache, dh, dcarry)
    arrays: dict[str, Array] = {**params, "x": x}
    analytic: dict[str, Array] = {**grads, "x": dx}
    for k, (part, dpart) in enumerate(zip(carry0, dcarry0, strict=True)):
        arrays[f"carry0[{k}]"] = part
        analytic[f"carry0[{k}]"] = dpart
    return check_gradients(loss, arrays, analytic, tol)


def check_sequence_matches_steps(
    cell: Cell, input_size: int = 3, T: int = 5, B: int = 3, seed: int = 0, tol: float = 1e-12
) -> None:
    """A cell's own sequence forward/backward must equal the engine's step-by-step unroll."""
    if not recurrent.has_sequence_methods(cell):
        return
    params, x, carry0, dh, dcarry = random_problem(cell, input_size, T, B, seed)
    h_seq, final_seq, cache_seq = recurrent.sequence_forward(cell, params, x, carry0)
    h_step, final_step, cache_step = recurrent.step_forward(cell, params, x, carry0)
    back_seq = recurrent.sequence_backward(cell, params, cache_seq, dh, dcarry)
    back_step = recurrent.step_backward(cell, params, cache_step, dh, dcarry)
    pairs: dict[str, tuple[Any, Any]] = {
        "h": (h_seq, h_step),
        "dx": (back_seq[0], back_step[0]),
    }
    for k in range(len(carry0)):
        pairs[f"carry_T[{k}]"] = (final_seq[k], final_step[k])
        pairs[f"dcarry0[{k}]"] = (back_seq[1][k], back_step[1][k])
    for name in params:
        pairs[f"d{name}"] = (back_seq[2][name], back_step[2][name])
    for name, (a, b) in pairs.items():
        err = relative_error(np.asarray(a), np.asarray(b))
        if not err < tol:
            raise AssertionError(f"sequence and step paths differ in {name}: {err:.2e}")
