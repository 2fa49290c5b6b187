"""Held-out validation while training: a set at the training length and one at each length of
`train.validate_lengths`, all drawn once from the run's seed, and the stop rule (target metric
and margin) that must hold on every one of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from seqnet.interfaces import Array, Batch, Params, Task
from seqnet.lengths import (
    ELEMENTS,
    at_length,
    fixed_length,
    forward_chunked,
    length_option_of,
    task_options,
)
from seqnet.losses import get_loss
from seqnet.model import cast_batch
from seqnet.parallel import BatchParallel
from seqnet.trainspec import TrainSpec

LENGTHS_STREAM = 4
"""Spawn key of the sets at other lengths, after the run's four streams (seqnet.training)."""


def evaluate(
    net: BatchParallel, params: Params, task: Task, batch: Batch
) -> tuple[dict[str, float], Array]:
    """Loss and the task's metrics on one batch; also returns the logits."""
    batch = cast_batch(batch, net.model.dtype)
    logits, _, _ = net.forward(params, batch.x)
    loss, _ = get_loss(task.loss)(logits, batch.y, batch.mask)
    return {"loss": loss, **task.metrics(logits, batch)}, logits


def margin(loss: str, logits: Array, batch: Batch) -> float:
    """The smallest margin by which a scored output is right (negative if one is wrong).

    sigmoid_bce: (2y - 1)·z per output; softmax_ce: z[y] - max of the other logits. A
    regression loss (mse) has no margin: +inf.
    """
    scored = batch.mask > 0  # (T, B)
    if loss == "sigmoid_bce":
        signed = (2.0 * batch.y - 1.0) * logits  # (T, B, V)
        return float(signed.min(axis=-1)[scored].min(initial=np.inf))
    if loss == "softmax_ce":
        classes = batch.y[..., None].astype(np.intp)
        right = np.take_along_axis(logits, classes, axis=-1)[..., 0]  # (T, B)
        others = logits.copy()
        np.put_along_axis(others, classes, -np.inf, axis=-1)
        return float((right - others.max(axis=-1))[scored].min(initial=np.inf))
    return math.inf


def heldout(task: Task, rng: np.random.Generator, count: int) -> Batch:
    """Evaluation data: the task's optional `heldout(rng, count)` (data it never trains on, such
    as charlm's tail of the file), else `sample` from the generator given."""
    draw = getattr(task, "heldout", None)
    return draw(rng, count) if callable(draw) else task.sample(rng, count)


def final(task: Task, rng: np.random.Generator, count: int) -> Batch:
    """Data for the final score: a FileData task's `test` part, else `heldout`."""
    draw = getattr(task, "test", None)
    return draw(rng, count) if callable(draw) else heldout(task, rng, count)


def evaluate_long(
    net: BatchParallel, params: Params, task: Task, batch: Batch
) -> tuple[dict[str, float], float]:
    """Metrics and margin of a set of long sequences of one length, scored in groups of about
    ELEMENTS steps × sequences, so that a long set needs no more memory than a short one."""
    T, count = batch.mask.shape
    group = max(1, ELEMENTS // T)
    totals: dict[str, float] = {}
    smallest = math.inf
    for start in range(0, count, group):
        piece = slice(start, min(start + group, count))
        part = cast_batch(Batch(batch.x[:, piece], batch.y[:, piece], batch.mask[:, piece]),
                          net.model.dtype)  # fmt: skip
        logits = forward_chunked(net.model, params, part.x)
        loss, _ = get_loss(task.loss)(logits, part.y, part.mask)
        n = part.mask.shape[1]
        for name, value in {"loss": loss, **task.metrics(logits, part)}.items():
            totals[name] = totals.get(name, 0.0) + value * n
        smallest = min(smallest, margin(task.loss, logits, part))
    return {name: total / count for name, total in totals.items()}, smallest


@dataclass
class HeldOut:
    """One validation set: its metrics are reported as `name + suffix` (`exact_match@64`);
    `length` is its sequence length (0 for a task without a length option)."""

    suffix: str
    task: Task
    batch: Batch
    length: int = 0


@dataclass
class Validation:
    """The validation sets of a run; `score` evaluates them all and applies the stop rule."""

    sets: list[HeldOut]

    @classmethod
    def draw(cls, task: Task, spec: TrainSpec, rng: np.random.Generator) -> Validation:
        """The set at the training length is `rng`'s first draw (the run's eval stream, so a
        resumed run redraws the same); the set at each other length comes from its own
        generator, derived from the run's seed and that length."""
        main = fixed_length(task)
        option = length_option_of(type(task))
        trained = int(task_options(main)[option]) if option is not None else 0
        sets = [HeldOut("", main, heldout(main, rng, spec.eval_samples), trained)]
        for length in spec.validate_lengths:
            other = at_length(task, length)
            seq = np.random.SeedSequence(spec.seed, spawn_key=(LENGTHS_STREAM, length))
            draw = heldout(other, np.random.default_rng(seq), spec.eval_samples)
            sets.append(HeldOut(f"@{length}", other, draw, length))
        return cls(sets)

    @property
    def main(self) -> HeldOut:
        return self.sets[0]

    def score(
        self, net: BatchParallel, params: Params, spec: TrainSpec
    ) -> tuple[dict[str, float], list[bool]]:
        """Every set's metrics (and margin, where the loss has one), and, set by set, whether
        the target metric reaches `spec.target` and the margin `spec.margin` there."""
        metrics: dict[str, float] = {}
        passed = []
        for held in self.sets:
            if held.suffix:
                found, smallest = evaluate_long(net, params, held.task, held.batch)
            else:
                found, logits = evaluate(net, params, held.task, held.batch)
                smallest = margin(held.task.loss, logits, held.batch)
            if math.isfinite(smallest):
                found["margin"] = smallest
            reached = found[held.task.target_metric] >= spec.target and smallest >= spec.margin
            passed.append(reached)
            metrics.update({name + held.suffix: value for name, value in found.items()})
        return metrics, passed

    def longer(self, passed: list[bool], trained: int) -> int:
        """The length to grow training to (`train.grow`): the shortest failing set longer than
        `trained`, if every set at most `trained` long passes; else 0."""
        if any(not ok for held, ok in zip(self.sets, passed, strict=True)
               if held.length <= trained):  # fmt: skip
            return 0
        failing = [held.length for held, ok in zip(self.sets, passed, strict=True) if not ok]
        return min(failing, default=0)
