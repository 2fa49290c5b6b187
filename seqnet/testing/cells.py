"""The cell conformance kit: what every recurrent cell must pass, for seqnet's tests and yours.

`check_cell(cell)` runs it all; each check is also a function of its own. Gradients are checked
in float64 (seqnet.testing.gradients); float32 is checked for warnings, dtypes and closeness.
"""

from __future__ import annotations

import typing
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from seqnet import recurrent
from seqnet.interfaces import Array, Carry, Cell, Params
from seqnet.model import Model
from seqnet.testing.gradients import TOLERANCE, check_gradients, relative_error

SHAPES = ((1, 1), (1, 3), (5, 1), (5, 3))
"""(T, B) pairs `check_cell` runs: one step and several, one sequence and a batch."""


def random_problem(
    cell: Cell, input_size: int, T: int, B: int, seed: int = 0, dtype: Any = np.float64
) -> tuple[Params, Array, Carry, Array, Carry]:
    """Params, inputs x (T, B, D), a random initial carry, and random loss weights for the
    outputs (T, B, H) and the final carry, so that every gradient path is exercised."""
    rng = np.random.default_rng(seed)
    params = {k: np.asarray(v, dtype=dtype) for k, v in cell.init(rng, input_size).items()}
    x = rng.standard_normal((T, B, input_size)).astype(dtype)
    zeros = cell.initial_carry(B, np.dtype(dtype))
    carry0 = tuple((0.5 * rng.standard_normal(part.shape)).astype(dtype) for part in zeros)
    dh = rng.standard_normal((T, B, cell.hidden)).astype(dtype)
    dcarry = tuple(rng.standard_normal(part.shape).astype(dtype) for part in zeros)
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


def run_both_ways(
    cell: Cell, params: Params, x: Array, carry0: Carry, dh: Array, dcarry: Carry
) -> Iterator[dict[str, Array]]:
    """Forward and backward by the cell's sequence methods (if any), then by the step loop:
    for each, a dict of every output (h, final carry, dx, initial-carry and param gradients)."""
    ways: list[tuple[Callable[..., Any], Callable[..., Any]]] = [
        (recurrent.step_forward, recurrent.step_backward)
    ]
    if recurrent.has_sequence_methods(cell):
        ways.insert(0, (recurrent.sequence_forward, recurrent.sequence_backward))
    for forward, backward in ways:
        h, final, cache = forward(cell, params, x, carry0)
        out = {"h": np.array(h)}
        out |= {f"carry_T[{k}]": np.array(part) for k, part in enumerate(final)}
        dx, dcarry0, grads = backward(cell, params, cache, dh, dcarry)
        out["dx"] = dx
        out |= {f"dcarry0[{k}]": part for k, part in enumerate(dcarry0)}
        out |= {f"d{name}": g for name, g in grads.items()}
        yield out


def check_sequence_matches_steps(
    cell: Cell, input_size: int = 3, T: int = 5, B: int = 3, seed: int = 0, tol: float = 1e-12
) -> None:
    """A cell's own sequence forward/backward must equal the engine's step-by-step unroll."""
    if not recurrent.has_sequence_methods(cell):
        return
    params, x, carry0, dh, dcarry = random_problem(cell, input_size, T, B, seed)
    seq, steps = run_both_ways(cell, params, x, carry0, dh, dcarry)
    if seq.keys() != steps.keys():
        raise AssertionError(f"sequence and step paths return {sorted(seq)} and {sorted(steps)}")
    for name in seq:
        err = relative_error(seq[name], steps[name])
        if not err < tol:
            raise AssertionError(f"sequence and step paths differ in {name}: {err:.2e}")


def check_input_grad_skip(
    cell: Cell, input_size: int = 3, T: int = 5, B: int = 3, seed: int = 0
) -> None:
    """A sequence `backward` that takes `input_grad` must return None for dx when told
    `input_grad=False`, and the very same carry and parameter gradients as with dx."""
    if not recurrent.skips_input_grad(type(cell)):
        return
    params, x, carry0, dh, dcarry = random_problem(cell, input_size, T, B, seed)
    _, _, cache = recurrent.sequence_forward(cell, params, x, carry0)
    _, full_dcarry0, full_grads = recurrent.sequence_backward(cell, params, cache, dh, dcarry)
    _, _, cache = recurrent.sequence_forward(cell, params, x, carry0)
    dx, dcarry0, grads = recurrent.sequence_backward(
        cell, params, cache, dh, dcarry, input_grad=False
    )
    if dx is not None:
        raise AssertionError("backward(..., input_grad=False) returned dx instead of None")
    if grads.keys() != full_grads.keys():
        raise AssertionError(
            f"input_grad=False gave grads {sorted(grads)}, not {sorted(full_grads)}"
        )
    pairs = [*zip(dcarry0, full_dcarry0, strict=True), *((grads[k], full_grads[k]) for k in grads)]
    if not all(np.array_equal(a, b) for a, b in pairs):
        raise AssertionError("input_grad=False changed a carry or parameter gradient")


def check_deterministic(
    make: Callable[[], Cell], input_size: int = 3, T: int = 5, B: int = 3, seed: int = 0
) -> None:
    """Same seed ⇒ identical numbers, bit for bit, from two separately built cells; another
    seed ⇒ other parameters (so `init` draws from the generator it is given)."""
    first = list(run_both_ways(make(), *random_problem(make(), input_size, T, B, seed)))
    again = list(run_both_ways(make(), *random_problem(make(), input_size, T, B, seed)))
    for a, b in zip(first, again, strict=True):
        for name in a:
            if not np.array_equal(a[name], b[name]):
                raise AssertionError(f"same seed, different {name}")
    params, other = (make().init(np.random.default_rng(s), input_size) for s in (seed, seed + 1))
    if all(np.array_equal(params[k], other[k]) for k in params):
        raise AssertionError("init gave the same parameters for two seeds")


def check_float32(
    cell: Cell, input_size: int = 3, T: int = 5, B: int = 3, seed: int = 0, tol: float = 1e-4
) -> None:
    """float32 in ⇒ float32 out on both paths, with no numpy warning, close to float64."""
    exact = random_problem(cell, input_size, T, B, seed)
    single = random_problem(cell, input_size, T, B, seed, np.float32)
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        for ref, got in zip(run_both_ways(cell, *exact), run_both_ways(cell, *single), strict=True):
            for name, value in got.items():
                if value.dtype != np.float32:
                    raise AssertionError(f"float32 {name} came back as {value.dtype}")
                err = relative_error(ref[name], value.astype(np.float64))
                if not err < tol:
                    raise AssertionError(f"float32 {name} is {err:.1e} from float64")


def check_stacked_gradients(
    cell: Cell,
    layers: int = 2,
    dropout: float = 0.0,
    input_size: int = 3,
    T: int = 4,
    B: int = 2,
    seed: int = 0,
    tol: float = TOLERANCE,
) -> dict[str, float]:
    """Gradient-check a `layers`-deep Model of `cell` (head included) through Model.forward and
    Model.backward: every parameter and every layer's initial carry.

    With `dropout`, each forward gets a fresh generator from the same seed, so the masks are
    fixed and their backward is checked too.
    """
    model = Model(cell, input_size, output_size=2, layers=layers, dropout=dropout)
    rng = np.random.default_rng(seed)
    params = model.init(rng)
    x = rng.standard_normal((T, B, input_size))
    carries = [
        tuple(0.5 * rng.standard_normal(part.shape) for part in carry)
        for carry in model.initial_carries(B)
    ]
    dlogits = rng.standard_normal((T, B, 2))
    dfinals = [tuple(rng.standard_normal(part.shape) for part in carry) for carry in carries]

    def dropout_rng() -> np.random.Generator | None:
        return np.random.default_rng(seed + 1) if dropout > 0.0 else None

    def loss() -> float:
        logits, finals, _ = model.forward(params, x, carries, rng=dropout_rng())
        total = float(np.sum(logits * dlogits))
        for final, dfinal in zip(finals, dfinals, strict=True):
            total += sum(float(np.sum(c * d)) for c, d in zip(final, dfinal, strict=True))
        return total

    _, _, cache = model.forward(params, x, carries, rng=dropout_rng())
    grads, dcarries0 = model.backward(params, cache, dlogits, dfinals)
    arrays: dict[str, Array] = dict(params)
    analytic: dict[str, Array] = dict(grads)
    for i, (carry, dcarry) in enumerate(zip(carries, dcarries0, strict=True)):
        for k, (part, dpart) in enumerate(zip(carry, dcarry, strict=True)):
            arrays[f"carries[{i}][{k}]"] = part
            analytic[f"carries[{i}][{k}]"] = dpart
    return check_gradients(loss, arrays, analytic, tol)


def kernels_of(cell: Cell) -> tuple[str, ...]:
    """The interchangeable implementations a cell offers (`cell.kernels()`, reference first,
    selected by setting `cell.kernel`), or () for a cell with one implementation."""
    kernels = getattr(cell, "kernels", None)
    return tuple(kernels()) if callable(kernels) else ()


def check_kernels_agree(
    make: Callable[[], Cell],
    input_size: int = 3,
    T: int = 5,
    B: int = 3,
    seed: int = 0,
    tol: float = 1e-12,
) -> None:
    """Every kernel of a cell (see `kernels_of`) gives the reference kernel's outputs and
    gradients, on the sequence and step paths, within `tol` in float64."""
    names = kernels_of(make())
    results = {}
    for name in names:
        cell = make()
        cell.kernel = name  # type: ignore[attr-defined]
        results[name] = list(run_both_ways(cell, *random_problem(cell, input_size, T, B, seed)))
    for name in names[1:]:
        for ref, got in zip(results[names[0]], results[name], strict=True):
            for key in ref:
                err = relative_error(ref[key], got[key])
                if not err < tol:
                    raise AssertionError(
                        f"kernel {name} differs from {names[0]} in {key}: {err:.2e}"
                    )


def option_variants(cls: type[Any], **base: Any) -> list[dict[str, Any]]:
    """`base`, then `base` with each other value of each Literal option of `cls.Spec` (one
    change at a time), so a check covers every activation, initialiser and so on."""
    variants = [dict(base)]
    for field, info in cls.Spec.model_fields.items():
        if field in base or typing.get_origin(info.annotation) is not typing.Literal:
            continue
        variants += [
            {**base, field: v} for v in typing.get_args(info.annotation) if v != info.default
        ]
    return variants


def check_cell(make: Callable[[], Cell], input_size: int = 3, tol: float = TOLERANCE) -> None:
    """The whole kit for one cell configuration: gradients, sequence == steps and the dx skip
    for every (T, B) in SHAPES and every kernel, kernels agreeing, determinism, float32, and a
    two-layer stack with and without dropout."""
    cell = make()
    for kernel in kernels_of(cell) or (None,):
        if kernel is not None:
            cell.kernel = kernel  # type: ignore[attr-defined]
        for T, B in SHAPES:
            check_cell_gradients(cell, input_size, T, B, tol=tol)
            check_sequence_matches_steps(cell, input_size, T, B)
            check_input_grad_skip(cell, input_size, T, B)
    check_kernels_agree(make, input_size)
    check_deterministic(make, input_size)
    check_float32(cell, input_size)
    for dropout in (0.0, 0.25):
        check_stacked_gradients(cell, dropout=dropout, input_size=input_size, tol=tol)
