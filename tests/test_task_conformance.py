"""The task conformance kit: every registered task passes it, and it catches what it claims to.

A new task plugin is checked here by being installed: the parameters come from the registry.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest

from seqnet import Batch, LossName, PluginSpec
from seqnet.plugins import load_registry
from seqnet.registry import Registry
from seqnet.testing import check_task, perfect_outputs, wrong_outputs

TASKS = load_registry().names("task")


@pytest.mark.parametrize("name", TASKS)
def test_every_registered_task_conforms(registry: Registry, name: str) -> None:
    check_task(registry.get("task", name).cls(), registry=registry)


class Echo:
    """Say the symbol just read: one-hot in, the same class out; the first step is unscored."""

    name: ClassVar[str] = "echo"
    loss: ClassVar[LossName] = "softmax_ce"
    target_metric: ClassVar[str] = "accuracy"
    defaults: ClassVar[dict[str, dict[str, Any]]] = {"model": {"cell": "elman"}}

    class Spec(PluginSpec):
        symbols: int = 3

    def __init__(self, **options: Any) -> None:
        self.spec = self.Spec(**options)

    input_size = 3
    output_size = 3

    def sample(self, rng: np.random.Generator, batch: int) -> Batch:
        y = rng.integers(0, 3, size=(4, batch))
        x = np.eye(3)[y]  # (T, B, 3)
        mask = np.ones((4, batch))
        mask[0] = 0.0
        return Batch(x, y, mask)

    def metrics(self, outputs: np.ndarray, batch: Batch) -> dict[str, float]:
        right = (outputs.argmax(axis=-1) == batch.y) | (batch.mask == 0)
        return {"accuracy": float(right.all(axis=0).mean())}

    def examples(self, outputs: np.ndarray, batch: Batch, count: int) -> list[str]:
        got = outputs.argmax(axis=-1)
        return [f"{batch.y[:, i]} -> {got[:, i]}" for i in range(min(count, batch.x.shape[1]))]


def test_a_conforming_task_passes(registry: Registry) -> None:
    check_task(Echo(), registry=registry)


class WrongWidth(Echo):
    input_size = 4


class MaskOfTwos(Echo):
    def sample(self, rng: np.random.Generator, batch: int) -> Batch:
        b = super().sample(rng, batch)
        return Batch(b.x, b.y, 2.0 * b.mask)


class NothingScored(Echo):
    def sample(self, rng: np.random.Generator, batch: int) -> Batch:
        b = super().sample(rng, batch)
        mask = b.mask.copy()
        mask[:, 0] = 0.0
        return Batch(b.x, b.y, mask)


class FloatClasses(Echo):
    def sample(self, rng: np.random.Generator, batch: int) -> Batch:
        b = super().sample(rng, batch)
        return Batch(b.x, b.y.astype(np.float64), b.mask)


class ClassOutOfRange(Echo):
    def sample(self, rng: np.random.Generator, batch: int) -> Batch:
        b = super().sample(rng, batch)
        return Batch(b.x, b.y + 1, b.mask)


class OwnRandomness(Echo):
    def sample(self, rng: np.random.Generator, batch: int) -> Batch:
        return super().sample(np.random.default_rng(), batch)  # ignores the rng it is given


class ShadowsLoss(Echo):
    def metrics(self, outputs: np.ndarray, batch: Batch) -> dict[str, float]:
        return {**super().metrics(outputs, batch), "loss": 0.0}


class AlwaysPerfect(Echo):
    def metrics(self, outputs: np.ndarray, batch: Batch) -> dict[str, float]:
        return {"accuracy": 1.0}


class NeverPerfect(Echo):
    def metrics(self, outputs: np.ndarray, batch: Batch) -> dict[str, float]:
        return {"accuracy": 0.5 * super().metrics(outputs, batch)["accuracy"]}


class ScoresUnscoredSteps(Echo):
    def metrics(self, outputs: np.ndarray, batch: Batch) -> dict[str, float]:
        right = outputs.argmax(axis=-1) == batch.y
        return {"accuracy": float(right.all(axis=0).mean())}


class MissingTarget(Echo):
    target_metric = "exact_match"


class NotANumber(Echo):
    def metrics(self, outputs: np.ndarray, batch: Batch) -> dict[str, float]:
        return {**super().metrics(outputs, batch), "ratio": float("nan")}


class ChangesOutputs(Echo):
    def metrics(self, outputs: np.ndarray, batch: Batch) -> dict[str, float]:
        found = super().metrics(outputs, batch)
        outputs[...] = 0.0
        return found


class TooManyExamples(Echo):
    def examples(self, outputs: np.ndarray, batch: Batch, count: int) -> list[str]:
        return ["same"] * count


class MultiLineExamples(Echo):
    def examples(self, outputs: np.ndarray, batch: Batch, count: int) -> list[str]:
        return ["a\nb"] * min(count, batch.x.shape[1])


class UnknownDefaultCell(Echo):
    defaults: ClassVar[dict[str, dict[str, Any]]] = {"model": {"cell": "no-such-cell"}}


class LooseSpec(Echo):
    class Spec(PluginSpec, extra="ignore"):
        symbols: int = 3


@pytest.mark.parametrize(
    ("task", "reason"),
    [
        (WrongWidth, "x has shape (4, 3, 3), expected (4, 3, 4)"),
        (MaskOfTwos, "mask must hold only 0 and 1"),
        (NothingScored, "every sequence needs at least one scored step"),
        (FloatClasses, "softmax_ce targets must be ints"),
        (ClassOutOfRange, "targets must be classes in [0, 3)"),
        (OwnRandomness, "the same seed must give the same data"),
        (ShadowsLoss, "`loss` is the engine's metric"),
        (AlwaysPerfect, "'accuracy' is 1 even when every output is wrong"),
        (NeverPerfect, "'accuracy' is 0.5 on perfect outputs"),
        (ScoresUnscoredSteps, "unscored steps change the metrics accuracy"),
        (MissingTarget, "lacks the target metric 'exact_match'"),
        (NotANumber, "metric 'ratio' on perfect outputs is nan"),
        (ChangesOutputs, "metrics() changed the outputs"),
        (TooManyExamples, "must return a list of 3 strings"),
        (MultiLineExamples, "each example must be one non-empty line"),
        (UnknownDefaultCell, "unknown cell 'no-such-cell'"),
        (LooseSpec, "its `Spec` must forbid unknown options"),
    ],
)
def test_the_kit_names_what_is_wrong(registry: Registry, task: type[Echo], reason: str) -> None:
    with pytest.raises(AssertionError) as raised:
        check_task(task(), registry=registry)
    assert reason in str(raised.value)
    assert str(raised.value).startswith("task 'echo'")


class Bits(Echo):
    loss: ClassVar[LossName] = "sigmoid_bce"


class Values(Echo):
    loss: ClassVar[LossName] = "mse"


def test_perfect_and_wrong_outputs_per_loss() -> None:
    mask = np.ones((2, 1))
    # classes 2 and 0 of 3: 30 on the target class, 0 elsewhere; "wrong" is the next class
    classes = Batch(np.zeros((2, 1, 3)), np.array([[2], [0]]), mask)
    assert perfect_outputs(Echo(), classes)[:, 0].tolist() == [[0, 0, 30], [30, 0, 0]]
    assert wrong_outputs(Echo(), classes)[:, 0].tolist() == [[30, 0, 0], [0, 30, 0]]
    # bits 1, 0 and a soft 0.5: log-odds, so ±29.9 (clipped at 1e-13) and exactly 0
    bits = Batch(np.zeros((2, 1, 2)), np.array([[[1.0, 0.5]], [[0.0, 1.0]]]), mask)
    logits = perfect_outputs(Bits(), bits)
    assert logits[0, 0, 1] == 0.0
    assert np.allclose(logits[:, 0], [[29.934, 0.0], [-29.934, 29.934]], atol=1e-3)
    assert wrong_outputs(Bits(), bits)[:, 0].tolist() == [[-30, 30], [30, -30]]  # other side
    # regression: the targets themselves, and one off
    values = Batch(np.zeros((2, 1, 1)), np.array([[[0.25]], [[-3.0]]]), mask)
    assert perfect_outputs(Values(), values).ravel().tolist() == [0.25, -3.0]
    assert wrong_outputs(Values(), values).ravel().tolist() == [1.25, -2.0]
