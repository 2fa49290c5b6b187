"""The optimizer conformance kit: in-place updates, the state_dict contract, an exact resume
through a checkpoint file, and float32. `check_optimizer(Adam)` runs all of it.

The state_dict contract: `state_dict()` returns a snapshot (later steps do not change it) made
only of numpy arrays of numbers or booleans, Python numbers, booleans, strings and None, in
dicts with string keys and lists (or tuples, which come back as lists), so that a checkpoint
stores it without pickle; `load_state_dict` on a fresh optimizer continues exactly.
"""

from __future__ import annotations

import copy
import math
import tempfile
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from seqnet import checkpoint
from seqnet.interfaces import Optimizer, Params

# name -> shape, as a small model's parameters are named
SHAPES: dict[str, tuple[int, ...]] = {"layers.0.W_x": (3, 4), "layers.0.b": (4,), "head.W": (4, 2)}
SCALARS = (bool, int, float, str, type(None), np.bool_, np.integer, np.floating)


def fresh_maker(optimizer: type[Any] | Optimizer) -> Callable[[], Optimizer]:
    """New optimizers like `optimizer`: a class with its defaults, or copies of an instance
    that has not stepped yet."""
    if isinstance(optimizer, type):
        return lambda: typing.cast(Optimizer, optimizer())
    pristine = copy.deepcopy(optimizer)
    return lambda: copy.deepcopy(pristine)


def problem(
    seed: int = 0, steps: int = 6, dtype: str = "float64", flat: bool = True
) -> tuple[Params, list[Params]]:
    """Parameters (views of one flat buffer, as `Model.init` makes them, unless `flat` is
    False) and a gradient for each of `steps` steps, from `seed`."""
    rng = np.random.default_rng(seed)
    sizes = [math.prod(shape) for shape in SHAPES.values()]
    buffer = rng.standard_normal(sum(sizes)).astype(dtype)
    cuts = np.cumsum([0, *sizes])
    params = {
        name: buffer[a:b].reshape(shape)
        for (name, shape), a, b in zip(SHAPES.items(), cuts[:-1], cuts[1:], strict=True)
    }
    if not flat:
        params = {name: p.copy() for name, p in params.items()}
    grads = [
        {name: rng.standard_normal(shape).astype(dtype) for name, shape in SHAPES.items()}
        for _ in range(steps)
    ]
    return params, grads


def copies(params: Params) -> Params:
    return {name: p.copy() for name, p in params.items()}


def check_state_types(state: Any, path: str = "state_dict()") -> None:
    """Raise AssertionError naming the first value the state_dict contract does not allow."""
    if isinstance(state, np.ndarray):
        assert state.dtype.kind in "biufc", f"{path}: an array of dtype {state.dtype} (not numbers)"
    elif isinstance(state, dict):
        for key, value in state.items():
            assert isinstance(key, str), f"{path}: key {key!r} is not a string"
            check_state_types(value, f"{path}[{key!r}]")
    elif isinstance(state, (list, tuple)):
        for i, value in enumerate(state):
            check_state_types(value, f"{path}[{i}]")
    else:
        assert isinstance(state, SCALARS), (
            f"{path}: a {type(state).__name__}; a state_dict holds only arrays, numbers,"
            " strings, booleans, None, and dicts and lists of them"
        )


def assert_same_state(a: Any, b: Any, path: str = "state_dict()") -> None:
    """Equal, arrays bit for bit (a tuple and a list with the same items are the same)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=path, strict=True)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{path}: keys differ"
        for key in a:
            assert_same_state(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_state(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def check_optimizer_in_place(make: Callable[[], Optimizer], steps: int = 3) -> None:
    """`step` changes the arrays it was given (a model's views of one buffer, or separate
    arrays), never replaces them in the dict, and leaves the gradients alone."""
    for flat in (True, False):
        params, grads = problem(steps=steps, flat=flat)
        arrays = dict(params)
        before = copies(params)
        kept = [copies(g) for g in grads]
        opt = make()
        for g in grads:
            opt.step(params, g)
        assert params.keys() == arrays.keys(), "step added or removed parameters"
        for name, p in params.items():
            assert p is arrays[name], f"step replaced {name} instead of updating it in place"
            assert not np.array_equal(p, before[name]), f"{name} did not change in {steps} steps"
        for g, k in zip(grads, kept, strict=True):
            for name in g:
                np.testing.assert_array_equal(
                    g[name], k[name], err_msg=f"step changed grads[{name}]"
                )


def check_optimizer_state_dict(make: Callable[[], Optimizer], steps: int = 3) -> None:
    """The state_dict holds only the allowed types and is a snapshot later steps leave alone."""
    params, grads = problem(steps=steps + 2)
    opt = make()
    check_state_types(opt.state_dict())
    for g in grads[:steps]:
        opt.step(params, g)
    state = opt.state_dict()
    check_state_types(state)
    kept = copy.deepcopy(state)
    for g in grads[steps:]:
        opt.step(params, g)
    assert_same_state(state, kept, "state_dict() taken earlier")


def check_optimizer_resume(make: Callable[[], Optimizer], before: int = 3, after: int = 4) -> None:
    """`before` steps, the state through a checkpoint file, a fresh optimizer loads it, `after`
    more steps: parameters and state bit for bit those of `before + after` steps straight."""
    params, grads = problem(steps=before + after)
    straight = make()
    straight_params = copies(params)
    for g in grads:
        straight.step(straight_params, g)

    first = make()
    for g in grads[:before]:
        first.step(params, g)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "checkpoint.npz"
        checkpoint.save(path, checkpoint.Checkpoint(
            spec={}, step=before, params=params, optimizer=first.state_dict(), streams={},
            loop={"hits": 0, "reached": False, "seconds": 0.0}, versions={},
        ))  # fmt: skip
        saved = checkpoint.load(path)
    resumed = make()
    resumed.load_state_dict(saved.optimizer)
    resumed_params, _ = problem(steps=0)  # a flat buffer again, as a resumed run makes it
    for name, p in resumed_params.items():
        p[...] = saved.params[name]
    for g in grads[before:]:
        resumed.step(resumed_params, g)
    for name in params:
        np.testing.assert_array_equal(
            resumed_params[name], straight_params[name], strict=True,
            err_msg=f"{name} after a resume through a checkpoint differs from a straight run",
        )  # fmt: skip
    assert_same_state(resumed.state_dict(), straight.state_dict(), "state_dict() after resume")


def check_optimizer_float32(make: Callable[[], Optimizer], steps: int = 4) -> None:
    """float32 parameters and gradients stay float32 (the same arrays) and follow the float64
    run to float32 precision."""
    params32, grads32 = problem(steps=steps, dtype="float32")
    params64 = {name: p.astype(np.float64) for name, p in params32.items()}
    arrays = dict(params32)
    single, double = make(), make()
    for g in grads32:
        single.step(params32, g)
        double.step(params64, {name: a.astype(np.float64) for name, a in g.items()})
    for name, p in params32.items():
        assert p is arrays[name] and p.dtype == np.float32, f"{name} is no longer float32"
        assert np.all(np.isfinite(p)), f"{name} is not finite in float32"
        np.testing.assert_allclose(p, params64[name], rtol=1e-4, atol=1e-5, err_msg=name)


def check_optimizer(optimizer: type[Any] | Optimizer) -> None:
    """The whole kit, for an optimizer class (with its defaults) or a fresh instance."""
    make = fresh_maker(optimizer)
    check_optimizer_in_place(make)
    check_optimizer_state_dict(make)
    check_optimizer_resume(make)
    check_optimizer_float32(make)


def optimizer_variants(cls: type[Any]) -> list[dict[str, Any]]:
    """The defaults, then one option changed at a time: each bool turned on, each number that
    defaults to 0 set to 0.1; variants the optimizer's Spec refuses are left out."""
    variants: list[dict[str, Any]] = [{}]
    for field, info in cls.Spec.model_fields.items():
        if info.default is False:
            variants.append({field: True})
        elif type(info.default) in (int, float) and info.default == 0:
            variants.append({field: 0.1})
    kept = []
    for options in variants:
        try:
            cls.Spec(**options)
        except ValidationError:
            continue
        kept.append(options)
    return kept


__all__ = [
    "assert_same_state",
    "check_optimizer",
    "check_optimizer_float32",
    "check_optimizer_in_place",
    "check_optimizer_resume",
    "check_optimizer_state_dict",
    "check_state_types",
    "optimizer_variants",
]
