"""The layer conformance kit: gradients, carries, determinism, float32 and the dx skip.

`check_layer(layer)` runs all of it; each check is also a function of its own. A layer that
reads tokens (`reads_tokens = True`) gets random ids below `input_size` and no input gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel

from seqnet.interfaces import Array, Carry, Layer, Params
from seqnet.signatures import from_spec
from seqnet.testing.gradients import TOLERANCE, check_gradients

LAYER_SHAPES = ((1, 1), (1, 3), (5, 1), (5, 3))
"""(T, B) pairs `check_layer` runs: one step and several, one sequence and a batch."""


def reads_tokens(layer: Layer) -> bool:
    return bool(getattr(type(layer), "reads_tokens", False))


def layer_problem(
    layer: Layer, input_size: int, T: int, B: int, seed: int = 0, dtype: Any = np.float64
) -> tuple[Params, Array, Carry, Array, Carry]:
    """Params, inputs x (T, B, D) (ids (T, B) for a token reader), a random initial carry, and
    random loss weights for the outputs and for the final carry."""
    rng = np.random.default_rng(seed)
    params = {k: np.array(v, dtype=dtype) for k, v in layer.init(rng, input_size).items()}
    if reads_tokens(layer):
        x = rng.integers(0, input_size, size=(T, B))  # (T, B) ids
    else:
        x = rng.standard_normal((T, B, input_size)).astype(dtype)  # (T, B, D)
    carry = tuple(
        rng.standard_normal(part.shape).astype(dtype)
        for part in layer.initial_carry(B, np.dtype(dtype))
    )
    y_weights = rng.standard_normal((T, B, layer.output_size(input_size))).astype(dtype)
    carry_weights = tuple(rng.standard_normal(part.shape).astype(dtype) for part in carry)
    return params, x, carry, y_weights, carry_weights


def training_rng(seed: int | None) -> np.random.Generator | None:
    """A fresh generator from `seed` (the same draws on every call), or None for evaluation."""
    return None if seed is None else np.random.default_rng(seed)


def check_layer_gradients(
    layer: Layer,
    input_size: int = 3,
    T: int = 5,
    B: int = 3,
    seed: int = 0,
    rng_seed: int | None = None,
    tol: float = TOLERANCE,
) -> dict[str, float]:
    """Gradient-check a layer over a whole sequence: every parameter, the input and every part
    of the initial carry, through loss = Σ y ⊙ w + Σ carry_T ⊙ v. With `rng_seed`, every
    forward gets a fresh generator of that seed (training mode, the same dropout mask)."""
    params, x, carry, w, v = layer_problem(layer, input_size, T, B, seed)
    carry_in = [np.array(part) for part in carry]  # perturbed in place by the checker

    def loss() -> float:
        y, final, _ = layer.forward(params, x, tuple(carry_in), training_rng(rng_seed))
        total = float(np.sum(y * w))
        return total + sum(float(np.sum(c * cw)) for c, cw in zip(final, v, strict=True))

    y, final, cache = layer.forward(params, x, tuple(carry_in), training_rng(rng_seed))
    assert y.shape == w.shape, f"forward gave y {y.shape}; output_size says {w.shape}"
    assert len(final) == len(v), f"forward gave a carry of {len(final)} parts, not {len(v)}"
    dx, dcarry, grads = layer.backward(params, cache, w, v)
    assert set(grads) == set(params), f"grads {sorted(grads)} are not params {sorted(params)}"
    arrays: dict[str, Array] = dict(params)
    analytic: dict[str, Array] = dict(grads)
    if not reads_tokens(layer):
        assert dx is not None, "backward returned no dx with input_grad=True"
        arrays["x"], analytic["x"] = x, dx
    for k, part in enumerate(carry_in):
        arrays[f"carry.{k}"], analytic[f"carry.{k}"] = part, dcarry[k]
    return check_gradients(loss, arrays, analytic, tol)


def check_halves(
    layer: Layer, input_size: int = 3, T: int = 6, B: int = 3, seed: int = 0, tol: float = 1e-12
) -> None:
    """Running x[:T/2] and then x[T/2:] from the carry it left equals running x whole.

    Only for a causal layer: one that reads the sequence forward (a layer may say it is not,
    with `causal = False`, e.g. a reversed cell or bidirectional)."""
    params, x, carry, _, _ = layer_problem(layer, input_size, T, B, seed)
    y, final, _ = layer.forward(params, x, carry, None)
    half = T // 2
    y1, middle, _ = layer.forward(params, x[:half], carry, None)
    y2, end, _ = layer.forward(params, x[half:], middle, None)
    np.testing.assert_allclose(
        np.concatenate([y1, y2]),
        y,
        rtol=tol,
        atol=tol,
        err_msg="two halves with the carry passed on != the whole",
    )
    for got, want in zip(end, final, strict=True):
        np.testing.assert_allclose(
            got, want, rtol=tol, atol=tol, err_msg="the final carry of two halves != the whole's"
        )


def check_layer_deterministic(
    layer: Layer, input_size: int = 3, T: int = 5, B: int = 3, seed: int = 0
) -> None:
    """Evaluation (rng=None) gives the same numbers, bit for bit, every time; so does training
    with generators of the same seed."""
    params, x, carry, _, _ = layer_problem(layer, input_size, T, B, seed)
    for rng_seed in (None, 7):
        first, first_carry, _ = layer.forward(params, x, carry, training_rng(rng_seed))
        again, again_carry, _ = layer.forward(params, x, carry, training_rng(rng_seed))
        mode = "evaluation (rng=None)" if rng_seed is None else "training with one seed"
        assert np.array_equal(first, again), f"{mode} gave different outputs on two runs"
        for a, b in zip(first_carry, again_carry, strict=True):
            assert np.array_equal(a, b), f"{mode} gave different carries on two runs"


def check_layer_float32(
    layer: Layer, input_size: int = 3, T: int = 5, B: int = 3, seed: int = 0, tol: float = 1e-4
) -> None:
    """float32 in ⇒ float32 out (y, carry, dx, grads), finite, close to the float64 numbers."""
    wide = layer_problem(layer, input_size, T, B, seed)
    params, x, carry, w, v = layer_problem(layer, input_size, T, B, seed, dtype=np.float32)
    y, final, cache = layer.forward(params, x, carry, None)
    dx, _, grads = layer.backward(params, cache, w, v)
    y64, _, _ = layer.forward(wide[0], wide[1], wide[2], None)
    assert y.dtype == np.float32, f"float32 inputs gave {y.dtype} outputs"
    assert all(part.dtype == np.float32 for part in final), "float32 inputs gave a wider carry"
    assert all(g.dtype == np.float32 for g in grads.values()), "float32 inputs gave wider grads"
    assert dx is None or dx.dtype == np.float32, f"float32 inputs gave {dx.dtype} dx"
    assert np.all(np.isfinite(y)), "float32 outputs are not finite"
    scale = float(np.abs(y64).max(initial=1.0))
    np.testing.assert_allclose(
        y, y64, rtol=tol, atol=tol * scale, err_msg="float32 outputs far from float64's"
    )


def check_layer_input_grad_skip(
    layer: Layer, input_size: int = 3, T: int = 5, B: int = 3, seed: int = 0
) -> None:
    """backward(..., input_grad=False) gives the same parameter and carry gradients."""
    params, x, carry, w, v = layer_problem(layer, input_size, T, B, seed)
    _, _, cache = layer.forward(params, x, carry, None)
    _, dcarry, grads = layer.backward(params, cache, w, v)
    _, skip_dcarry, skip_grads = layer.backward(params, cache, w, v, input_grad=False)
    assert set(skip_grads) == set(grads), "input_grad=False changed the gradients' names"
    for name, g in grads.items():
        np.testing.assert_allclose(
            skip_grads[name], g, rtol=1e-12, atol=1e-12, err_msg=f"input_grad=False changed d{name}"
        )
    for a, b in zip(skip_dcarry, dcarry, strict=True):
        np.testing.assert_allclose(
            a, b, rtol=1e-12, atol=1e-12, err_msg="input_grad=False changed dcarry"
        )


def check_from_spec(layer: Layer, input_size: int = 3, T: int = 5, B: int = 3) -> None:
    """The layer built from `layer.spec` as the engine builds it (its `spec_init` constructor,
    or its `from_spec`, given the validated spec) computes what `layer` computes."""
    spec = getattr(layer, "spec", None)
    if not isinstance(spec, BaseModel):
        return  # not a registered layer class (e.g. seqnet.CellLayer, built from a cell)
    twin = from_spec(type(layer), spec)
    params, x, carry, _, _ = layer_problem(layer, input_size, T, B)
    y, _, _ = layer.forward(params, x, carry, None)
    y_twin, _, _ = twin.forward(params, x, carry, None)
    assert np.array_equal(y, y_twin), "the layer built from layer.spec computes something else"


def check_layer(layer: Layer, input_size: int = 3, tol: float = TOLERANCE) -> None:
    """The whole kit: float64 gradients of every parameter, the input and the carry for every
    (T, B) in LAYER_SHAPES, in evaluation and in training mode; two halves == the whole (for a
    causal layer); determinism; float32; the input_grad=False path; from_spec."""
    for T, B in LAYER_SHAPES:
        check_layer_gradients(layer, input_size, T, B, tol=tol)
        check_layer_gradients(layer, input_size, T, B, rng_seed=3, tol=tol)
    if getattr(layer, "causal", True):
        check_halves(layer, input_size)
    check_layer_deterministic(layer, input_size)
    check_layer_float32(layer, input_size)
    check_layer_input_grad_skip(layer, input_size)
    check_from_spec(layer, input_size)
