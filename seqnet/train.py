"""The training loop: random streams from one seed, clipping, held-out evaluation, early stop.

No printing here: a caller watches progress through `on_log`. The CLI draws bars from it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seqnet.errors import NonFiniteError
from seqnet.interfaces import Array, Batch, Optimizer, Params, Task
from seqnet.losses import get_loss
from seqnet.model import Model
from seqnet.specs import TrainSpec


@dataclass
class Streams:
    """One generator per purpose, all derived from the run's seed, never shared."""

    init: np.random.Generator
    data: np.random.Generator
    eval: np.random.Generator
    dropout: np.random.Generator

    @classmethod
    def from_seed(cls, seed: int) -> Streams:
        children = np.random.SeedSequence(seed).spawn(4)
        return cls(*(np.random.default_rng(child) for child in children))


@dataclass
class Record:
    """One log line: the step, its training loss and pre-clip gradient norm, held-out metrics."""

    step: int
    loss: float
    grad_norm: float
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "loss": self.loss,
            "grad_norm": self.grad_norm,
            "seconds": self.seconds,
            **self.metrics,
        }


@dataclass
class Result:
    """What `train` returns: final parameters, held-out metrics on fresh data, the history."""

    params: Params
    steps: int
    seconds: float
    metrics: dict[str, float]
    history: list[Record]
    examples: list[str]
    reached_target: bool


def cast_batch(batch: Batch, dtype: np.dtype[Any]) -> Batch:
    """The batch in the model's precision (integer class targets stay integers)."""
    y = batch.y.astype(dtype, copy=False) if batch.y.dtype.kind == "f" else batch.y
    return Batch(batch.x.astype(dtype, copy=False), y, batch.mask.astype(dtype, copy=False))


def evaluate(
    model: Model, params: Params, task: Task, batch: Batch
) -> tuple[dict[str, float], Array]:
    """Loss and the task's metrics on one batch; also returns the logits."""
    batch = cast_batch(batch, model.dtype)
    logits, _, _ = model.forward(params, batch.x)
    loss, _ = get_loss(task.loss)(logits, batch.y, batch.mask)
    return {"loss": loss, **task.metrics(logits, batch)}, logits


def global_norm(grads: Params) -> float:
    return math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))


def first_non_finite(grads: Params) -> str:
    for name, g in grads.items():
        if not np.all(np.isfinite(g)):
            return name
    return "?"


def train(
    model: Model,
    task: Task,
    optimizer: Optimizer,
    spec: TrainSpec | None = None,
    *,
    clip: float | None = 1.0,
    params: Params | None = None,
    on_log: Callable[[Record], None] | None = None,
    examples: int = 5,
) -> Result:
    """Train `model` on `task` from `spec.seed` until the target is met or `spec.steps` run out.

    Raises NonFiniteError (naming the step and the parameter) before a non-finite gradient
    touches the parameters, so `params` always holds the last good values.
    """
    spec = spec or TrainSpec()
    streams = Streams.from_seed(spec.seed)
    params = model.init(streams.init) if params is None else params
    loss_fn = get_loss(task.loss)
    validation = task.sample(streams.eval, spec.eval_samples)
    dropout_rng = streams.dropout if model.dropout > 0.0 else None
    history: list[Record] = []
    hits = 0
    reached = False
    start = time.perf_counter()
    step = 0
    for step in range(1, spec.steps + 1):
        batch = cast_batch(task.sample(streams.data, spec.batch), model.dtype)
        logits, _, cache = model.forward(params, batch.x, rng=dropout_rng)
        loss, dlogits = loss_fn(logits, batch.y, batch.mask)
        if not math.isfinite(loss):
            raise NonFiniteError(step, "loss")
        grads, _ = model.backward(params, cache, dlogits)
        norm = global_norm(grads)
        if not math.isfinite(norm):
            raise NonFiniteError(step, f"gradient of {first_non_finite(grads)}")
        if clip is not None and norm > clip:
            scale = clip / norm
            for g in grads.values():
                g *= scale
        optimizer.step(params, grads)

        if step % spec.eval_every == 0 or step == spec.steps:
            metrics, _ = evaluate(model, params, task, validation)
            record = Record(step, loss, norm, time.perf_counter() - start, metrics)
            history.append(record)
            if on_log is not None:
                on_log(record)
            hits = hits + 1 if metrics[task.target_metric] >= spec.target else 0
            if hits >= spec.patience:
                reached = True
                break
    seconds = time.perf_counter() - start

    # Score on data no decision was made on: a fresh draw from the evaluation stream.
    test = task.sample(streams.eval, spec.eval_samples)
    metrics, logits = evaluate(model, params, task, test)
    shown = task.examples(logits, cast_batch(test, model.dtype), examples) if examples else []
    return Result(params, step, seconds, metrics, history, shown, reached)
