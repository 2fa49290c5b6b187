"""The training loop: reproducible from a seed, clipped, stopped safely on non-finite values."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest

from seqnet.errors import NonFiniteError
from seqnet.interfaces import Array, Params
from seqnet.model import Model
from seqnet.parallel import BatchParallel
from seqnet.training import Streams, train
from seqnet.trainspec import TrainSpec
from seqnet_binadd import BinaryAdditionTask
from seqnet_elman import ElmanCell
from seqnet_optim import SGD, Adam

QUICK = {"eval_samples": 100, "eval_every": 10}


def setup(
    seed: int = 0, steps: int = 30, **train: Any
) -> tuple[Model, BinaryAdditionTask, TrainSpec]:
    task = BinaryAdditionTask(bits=4)
    model = Model(ElmanCell(hidden=6), task.input_size, task.output_size)
    return model, task, TrainSpec(steps=steps, seed=seed, **{**QUICK, **train})


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    runs = []
    for seed in (5, 5, 6):
        model, task, spec = setup(seed)
        runs.append(train(model, task, Adam(lr=0.01), spec))
    same, again, other = runs
    for name in same.params:
        np.testing.assert_array_equal(same.params[name], again.params[name])
    assert [r.as_dict() | {"seconds": 0} for r in same.history] == [
        r.as_dict() | {"seconds": 0} for r in again.history
    ]
    assert not np.array_equal(same.params["head.W"], other.params["head.W"])


def test_streams_are_independent() -> None:
    """Held-out data does not depend on how much training data was drawn."""
    task = BinaryAdditionTask(bits=4)
    a, b = Streams.from_seed(3), Streams.from_seed(3)
    a.data.random(1000)
    np.testing.assert_array_equal(task.sample(a.eval, 50).x, task.sample(b.eval, 50).x)
    c = Streams.from_seed(3)
    assert not np.array_equal(task.sample(c.eval, 50).x, task.sample(c.data, 50).x)


class Recorder(SGD):
    """SGD that remembers the gradients it was given."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.seen: list[float] = []

    def step(self, params: Params, grads: Params) -> None:
        self.seen.append(float(np.sqrt(sum(np.vdot(g, g) for g in grads.values()))))
        super().step(params, grads)


def test_clipping_bounds_the_update_and_reports_the_raw_norm() -> None:
    model, task, spec = setup(steps=10, eval_every=1)
    optimizer = Recorder(lr=0.1)
    result = train(model, task, optimizer, spec, clip=1e-3)
    assert max(optimizer.seen) <= 1e-3 * (1 + 1e-12)
    assert min(r.grad_norm for r in result.history) > 1e-3  # the pre-clip norm is reported


class Saboteur(SGD):
    """SGD that writes a NaN into one parameter at a chosen step."""

    def __init__(self, at: int, **options: Any) -> None:
        super().__init__(**options)
        self.at = at

    def step(self, params: Params, grads: Params) -> None:
        super().step(params, grads)
        if self.t == self.at:
            params["layers.0.W_h"][0, 0] = np.nan


def test_non_finite_loss_stops_at_once_naming_the_step() -> None:
    model, task, spec = setup(steps=50)
    with pytest.raises(NonFiniteError, match="non-finite loss at step 4"):
        train(model, task, Saboteur(at=3, lr=0.1), spec)


class BadGradientCell(ElmanCell):
    """An Elman cell whose recurrent-weight gradient is infinite."""

    name: ClassVar[str] = "bad"

    def backward(self, params: Params, cache: Any, dh: Array, dcarry: Any) -> Any:
        dx, dcarry0, grads = super().backward(params, cache, dh, dcarry)
        grads["W_h"] = np.full_like(grads["W_h"], np.inf)
        return dx, dcarry0, grads


def test_non_finite_gradient_names_the_parameter_and_leaves_params_untouched() -> None:
    task = BinaryAdditionTask(bits=4)
    model = Model(BadGradientCell(hidden=6), task.input_size, task.output_size)
    params = model.init(np.random.default_rng(0))
    before = {k: v.copy() for k, v in params.items()}
    with pytest.raises(NonFiniteError, match=r"non-finite gradient of layers\.0\.W_h at step 1"):
        train(model, task, Adam(lr=0.01), TrainSpec(steps=5, **QUICK), params=params)
    for name, value in before.items():
        np.testing.assert_array_equal(params[name], value)


def test_float32_training_is_float32_throughout() -> None:
    task = BinaryAdditionTask(bits=4)
    model = Model(ElmanCell(hidden=6), task.input_size, task.output_size, dtype="float32")
    result = train(model, task, Adam(lr=0.01), TrainSpec(steps=20, **QUICK))
    assert all(p.dtype == np.float32 for p in result.params.values())


def test_stops_when_the_target_is_held_for_patience_evaluations() -> None:
    model, task, spec = setup(steps=2000, patience=3, eval_every=20)
    result = train(model, task, Adam(lr=0.03), spec)
    assert result.reached_target
    tail = [r.metrics["exact_match"] for r in result.history[-3:]]
    assert tail == [1.0, 1.0, 1.0]
    assert result.steps == result.history[-1].step < 2000


def test_two_threads_split_a_large_batch_reproducibly() -> None:
    """threads=2 with 128 rows × 128 units a slice: seqnet.parallel splits every step."""
    task = BinaryAdditionTask(bits=4)
    spec = TrainSpec(steps=3, seed=0, batch=256, threads=2, eval_samples=256, eval_every=3)
    runs = []
    for _ in range(2):
        model = Model(
            ElmanCell(hidden=128), task.input_size, task.output_size, layers=2, dropout=0.2
        )
        assert len(BatchParallel(model, spec.threads).slices(spec.batch)) == 2
        runs.append(train(model, task, Adam(lr=0.01), spec))
    first, again = runs
    for name in first.params:
        np.testing.assert_array_equal(first.params[name], again.params[name])
    assert np.isfinite(first.history[-1].loss)
