"""The training loop: random streams from one seed, clipping, held-out evaluation, early stop.

No printing and no files here: a caller watches through `on_log`, saves through `on_checkpoint`
(seqnet.rundir), and resumes by passing the `LoopState` a checkpoint held.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from seqnet.allocator import keep_freed_memory
from seqnet.errors import NonFiniteError, SeqnetError
from seqnet.interfaces import Array, Batch, Optimizer, Params, Task
from seqnet.losses import get_loss
from seqnet.model import Sequential
from seqnet.parallel import BatchParallel
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

    def state(self) -> dict[str, Any]:
        """Each generator's bit_generator state (plain JSON: names, ints, strings)."""
        return {name: copy.deepcopy(rng.bit_generator.state) for name, rng in self.items()}

    def restore(self, state: dict[str, Any]) -> None:
        """Put every generator back where `state()` found it."""
        for name, rng in self.items():
            rng.bit_generator.state = copy.deepcopy(state[name])

    def items(self) -> list[tuple[str, np.random.Generator]]:
        return [("init", self.init), ("data", self.data), ("eval", self.eval),
                ("dropout", self.dropout)]  # fmt: skip


@dataclass
class LoopState:
    """Where a training loop stands between two steps: enough, with params and the optimizer's
    state, to continue exactly as if it had never stopped."""

    step: int
    streams: dict[str, Any]
    hits: int = 0
    reached: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"hits": self.hits, "reached": self.reached, "seconds": self.seconds}


@dataclass
class Snapshot:
    """What `on_checkpoint` receives at a step boundary; the arrays are live, copy to keep."""

    step: int
    params: Params
    optimizer: Optimizer
    state: LoopState


class Interrupted(SeqnetError):
    """Training was asked to stop (Ctrl-C, SIGTERM) and stopped cleanly after a whole step."""

    exit_code = 130

    def __init__(self, step: int) -> None:
        super().__init__(f"interrupted after step {step}")
        self.step = step


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
            # the held-out loss is a metric too; keep it apart from the training loss
            **{("val_loss" if k == "loss" else k): v for k, v in self.metrics.items()},
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
    """The batch in the model's precision (token ids and integer class targets stay integers)."""
    x = batch.x.astype(dtype, copy=False) if batch.x.dtype.kind == "f" else batch.x
    y = batch.y.astype(dtype, copy=False) if batch.y.dtype.kind == "f" else batch.y
    return Batch(x, y, batch.mask.astype(dtype, copy=False))


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


def global_norm(grads: Params) -> float:
    return math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))


def first_non_finite(grads: Params) -> str:
    for name, g in grads.items():
        if not np.all(np.isfinite(g)):
            return name
    return "?"


def train(
    model: Sequential,
    task: Task,
    optimizer: Optimizer,
    spec: TrainSpec | None = None,
    *,
    clip: float | None = 1.0,
    params: Params | None = None,
    on_log: Callable[[Record], None] | None = None,
    examples: int = 5,
    resume: LoopState | None = None,
    on_checkpoint: Callable[[Snapshot], None] | None = None,
    stop_requested: Callable[[], bool] | None = None,
) -> Result:
    """Train `model` on `task` from `spec.seed` until the target is met or `spec.steps` run out.

    To continue a run, pass its `params`, load its optimizer state into `optimizer`, and pass
    its `resume` state: the steps that follow are the ones an unbroken run would have taken.
    `on_checkpoint` is called at step 0 of a fresh run, after every evaluation, and before
    raising `Interrupted` when `stop_requested()` turns true (checked between steps).

    Raises NonFiniteError (naming the step and the parameter) before a non-finite gradient
    touches the parameters, so `params` always holds the last good values.
    """
    spec = spec or TrainSpec()
    keep_freed_memory()  # each step allocates the same arrays again: reuse them, don't re-fault
    # Small matrices run fastest on one BLAS thread (perf-notes.md); a fixed count also keeps
    # the summation order, and so the numbers, the same from machine to machine. With more
    # threads, large batches are split between them instead (seqnet.parallel).
    net = BatchParallel(model, spec.threads)
    with threadpool_limits(limits=spec.threads, user_api="blas"):
        streams = Streams.from_seed(spec.seed)
        params = model.init(streams.init) if params is None else params
        loss_fn = get_loss(task.loss)
        # The validation set is the eval stream's first draw, so a resumed run redraws the same one.
        validation = heldout(task, streams.eval, spec.eval_samples)
        state = resume or LoopState(0, {})
        if resume is not None:
            streams.restore(resume.streams)
        history: list[Record] = []
        start = time.perf_counter() - state.seconds

        def checkpoint(step: int) -> None:
            if on_checkpoint is not None:
                state.step, state.streams = step, streams.state()
                state.seconds = time.perf_counter() - start
                on_checkpoint(Snapshot(step, params, optimizer, state))

        if resume is None:
            checkpoint(0)
        step = state.step
        saved_at = step
        for step in range(state.step + 1, spec.steps + 1):
            batch = cast_batch(task.sample(streams.data, spec.batch), model.dtype)
            logits, _, cache = net.forward(params, batch.x, rng=streams.dropout)
            loss, dlogits = loss_fn(logits, batch.y, batch.mask)
            if not math.isfinite(loss):
                raise NonFiniteError(step, "loss")
            grads, _ = net.backward(params, cache, dlogits)
            norm = global_norm(grads)
            if not math.isfinite(norm):
                raise NonFiniteError(step, f"gradient of {first_non_finite(grads)}")
            if clip is not None and norm > clip:
                scale = clip / norm
                for g in grads.values():
                    g *= scale
            optimizer.step(params, grads)

            if step % spec.eval_every == 0 or step == spec.steps:
                metrics, val_logits = evaluate(net, params, task, validation)
                held_margin = margin(task.loss, val_logits, validation)
                if math.isfinite(held_margin):
                    metrics["margin"] = held_margin
                record = Record(step, loss, norm, time.perf_counter() - start, metrics)
                history.append(record)
                if on_log is not None:
                    on_log(record)
                hit = metrics[task.target_metric] >= spec.target and held_margin >= spec.margin
                state.hits = state.hits + 1 if hit else 0
                state.reached = state.hits >= spec.patience
                checkpoint(step)
                saved_at = step
                if state.reached:
                    break
            if stop_requested is not None and stop_requested():
                if saved_at != step:
                    checkpoint(step)
                raise Interrupted(step)
        seconds = time.perf_counter() - start

        # Score on data no decision was made on: the eval stream's next draw, taken from a copy so
        # that the saved stream (and so a resumed run) is the same whether or not this ran.
        test = heldout(task, copy.deepcopy(streams.eval), spec.eval_samples)
        metrics, logits = evaluate(net, params, task, test)
        shown = task.examples(logits, cast_batch(test, model.dtype), examples) if examples else []
        return Result(params, step, seconds, metrics, history, shown, state.reached)
