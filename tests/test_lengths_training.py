"""Validation at other lengths (`train.validate_lengths`) and training on a range of lengths."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar

import numpy as np
import pytest
from pydantic import Field

from seqnet.errors import SpecError
from seqnet.folder_training import train_in
from seqnet.interfaces import Array, Batch, LossName, PluginSpec
from seqnet.lengths import options_at_length
from seqnet.model import Model
from seqnet.registry import Registry
from seqnet.rundir import RunDir
from seqnet.runner import load_spec
from seqnet.specs import resolve
from seqnet.training import Streams, train
from seqnet.trainspec import TrainSpec
from seqnet.validation import Validation
from seqnet_binadd import BinaryAdditionTask
from seqnet_elman import ElmanCell
from seqnet_optim import Adam
from seqnet_parity import ParityTask

SEEN = 8
"""EchoThenNoise: steps the target can be predicted for; later targets are coin flips."""


class EchoThenNoise:
    """y_t = x_t for the first SEEN steps, then a fresh coin flip: a net can be exact on
    sequences of SEEN steps, never on longer ones (what a net that does not generalise does)."""

    name: ClassVar[str] = "echo_then_noise"
    loss: ClassVar[LossName] = "sigmoid_bce"
    target_metric: ClassVar[str] = "exact_match"
    length_option: ClassVar[str] = "length"
    defaults: ClassVar[dict[str, dict[str, Any]]] = {}

    class Spec(PluginSpec):
        length: Annotated[int, Field(ge=1)] = SEEN

    def __init__(self, **options: Any) -> None:
        self.spec = self.Spec(**options)

    input_size = 1
    output_size = 1

    def sample(self, rng: np.random.Generator, batch: int) -> Batch:
        T = self.spec.length
        x = rng.integers(0, 2, size=(T, batch, 1)).astype(np.float64)
        y = x.copy()
        y[SEEN:] = rng.integers(0, 2, size=y[SEEN:].shape)
        return Batch(x, y, np.ones((T, batch)))

    def metrics(self, outputs: Array, batch: Batch) -> dict[str, float]:
        right = ((outputs > 0.0) == (batch.y > 0.5))[..., 0]  # (T, B)
        return {"exact_match": float(right.all(axis=0).mean())}

    def examples(self, outputs: Array, batch: Batch, count: int) -> list[str]:
        return []


def echo_run(**train_options: Any) -> Any:
    task = EchoThenNoise()
    model = Model(ElmanCell(hidden=4), task.input_size, task.output_size)
    spec = TrainSpec(steps=400, seed=0, eval_every=20, eval_samples=200, **train_options)
    return train(model, task, Adam(lr=0.05), spec)


def test_a_run_exact_at_its_length_but_not_at_a_longer_one_does_not_stop() -> None:
    short = echo_run(margin=1.0, patience=2)
    assert short.reached_target and short.steps < 400  # exact at 8 steps: it stops

    checked = echo_run(margin=1.0, patience=2, validate_lengths=[64])
    assert not checked.reached_target
    assert checked.steps == 400
    # the same steps as the short run up to where it stopped (validation draws no training data)
    stopped = next(r for r in checked.history if r.step == short.steps)
    assert stopped.metrics["exact_match"] == 1.0
    assert stopped.metrics["margin"] >= 1.0
    assert stopped.metrics["exact_match@64"] < 0.01
    assert stopped.metrics["margin@64"] < 0.0
    row = stopped.as_dict()
    assert {"val_loss", "val_loss@64", "exact_match@64", "margin@64"} <= set(row)


def test_validation_at_lengths_the_run_is_exact_at_lets_it_stop_as_before() -> None:
    """Parity generalises: validating at 8 and 64 stops it (later or at the same step)."""
    task = ParityTask(length=8)
    model = Model(ElmanCell(hidden=8), task.input_size, task.output_size)
    spec = TrainSpec(steps=1500, seed=1, eval_every=50, eval_samples=200, patience=2)
    plain = train(model, task, Adam(lr=0.03), spec)
    both = train(model, task, Adam(lr=0.03), spec.model_copy(update={"validate_lengths": [8, 64]}))
    assert plain.reached_target and both.reached_target
    assert both.steps >= plain.steps
    last = both.history[-1].metrics
    assert last["exact_match@8"] == 1.0 and last["exact_match@64"] == 1.0


def test_validate_lengths_needs_a_task_with_a_length_option(
    registry: Registry, tmp_path: Path
) -> None:
    text = tmp_path / "corpus.txt"
    text.write_text("hello world " * 200, encoding="utf-8")
    raw = {"task": {"name": "charlm", "path": str(text)}, "train": {"validate_lengths": [64]}}
    with pytest.raises(SpecError, match="validate_lengths: task 'charlm' has no length option"):
        resolve(raw, registry)
    with pytest.raises(SpecError, match="validate_lengths"):
        resolve({"task": {"name": "binadd"}, "train": {"validate_lengths": [0]}}, registry)


def test_a_run_validated_at_other_lengths_resumes_exactly(tmp_path: Path) -> None:
    quick = ["task.bits=4", "model.hidden=6", "train.eval_every=10", "train.eval_samples=50",
             "train.batch=8", "train.margin=50", "train.validate_lengths=[4,40]"]  # fmt: skip
    straight_spec = load_spec("binadd", [*quick, "train.steps=40"])
    straight = RunDir.create(tmp_path / "straight", straight_spec)
    train_in(straight, straight_spec)
    first = load_spec("binadd", [*quick, "train.steps=20"])
    split = RunDir.create(tmp_path / "split", first)
    train_in(split, first)
    ckpt, _ = split.load()
    train_in(split, straight_spec, resume_from=ckpt)
    rows = [{k: v for k, v in r.items() if k != "seconds"} for r in straight.records()]
    assert rows == [{k: v for k, v in r.items() if k != "seconds"} for r in split.records()]
    assert "exact_match@40" in rows[-1]


@pytest.mark.parametrize(("cls", "key"), [(BinaryAdditionTask, "bits"), (ParityTask, "length")])
def test_training_lengths_are_drawn_per_batch_from_the_range(cls: Any, key: str) -> None:
    task = cls(**{key: 12, f"{key}_min": 3})
    lengths = [task.sample(Streams.from_seed(7).data, 4).x.shape[0] for _ in range(2)]
    assert lengths[0] == lengths[1]  # the same seed draws the same lengths
    rng = Streams.from_seed(7).data
    drawn = {task.sample(rng, 4).x.shape[0] for _ in range(200)}
    extra = 1 if cls is BinaryAdditionTask else 0  # binadd has a step for the carry-out
    assert drawn == set(range(3 + extra, 12 + extra + 1))


@pytest.mark.parametrize(("cls", "key"), [(BinaryAdditionTask, "bits"), (ParityTask, "length")])
def test_the_range_is_checked_and_scoring_at_a_length_uses_that_length(cls: Any, key: str) -> None:
    with pytest.raises(SpecError, match=f"{key}_min \\(9\\) must not exceed {key} \\(8\\)"):
        cls(**{key: 8, f"{key}_min": 9})
    options = {key: 8, f"{key}_min": 2}
    assert options_at_length(cls, options, 50) == {key: 50, f"{key}_min": 0}
    extra = 1 if cls is BinaryAdditionTask else 0
    scored = cls(**options_at_length(cls, options, 50))
    rng = np.random.default_rng(0)
    assert {scored.sample(rng, 2).x.shape[0] for _ in range(20)} == {50 + extra}


def test_a_run_on_a_range_of_lengths_is_validated_at_the_longest() -> None:
    task = BinaryAdditionTask(bits=10, bits_min=2)
    spec = TrainSpec(seed=0, eval_samples=30, validate_lengths=[40])
    validation = Validation.draw(task, spec, Streams.from_seed(0).eval)
    assert [held.batch.x.shape[:2] for held in validation.sets] == [(11, 30), (41, 30)]
