"""The training loop: random streams from one seed, clipping, held-out evaluation, early stop.

No printing and no files here: callers watch and save through callbacks (seqnet.callbacks; a
run folder's are in seqnet.rundir), and resume by passing the `LoopState` a checkpoint held.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from seqnet.callbacks import Callbacks, Start
from seqnet.errors import NonFiniteError, SeqnetError
from seqnet.interfaces import Optimizer, Params, Task
from seqnet.losses import get_loss
from seqnet.model import Sequential, cast_batch
from seqnet.parallel import BatchParallel
from seqnet.trainspec import TrainSpec
from seqnet.validation import Validation, evaluate, final, heldout, margin

__all__ = [  # evaluate, heldout, margin and cast_batch live in seqnet.validation and seqnet.model
    "Interrupted", "LoopState", "Record", "Result", "Snapshot", "Streams",
    "cast_batch", "evaluate", "heldout", "margin", "train",
]  # fmt: skip


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
    stopped: str | None = None
    """Why a callback stopped training at this step (None: it did not)."""

    def as_dict(self) -> dict[str, Any]:
        done = {"stopped": self.stopped} if self.stopped is not None else {}
        return {"hits": self.hits, "reached": self.reached, "seconds": self.seconds, **done}


@dataclass
class Snapshot:
    """What a callback's `on_checkpoint` receives at a step boundary; the arrays are live, copy
    to keep."""

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
            **{heldout_name(k): v for k, v in self.metrics.items()},
        }


def heldout_name(metric: str) -> str:
    """The held-out loss is a metric too; keep it apart from the training loss: `val_loss`,
    `val_loss@64`."""
    return f"val_{metric}" if metric == "loss" or metric.startswith("loss@") else metric


@dataclass
class Result:
    """What `train` returns: final parameters, held-out metrics on fresh data, the history;
    `stopped` says why a callback stopped training early (None if none did)."""

    params: Params
    steps: int
    seconds: float
    metrics: dict[str, float]
    history: list[Record]
    examples: list[str]
    reached_target: bool
    stopped: str | None = None


def global_norm(grads: Params) -> float:
    return math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))


def clip_gradients(grads: Params, norm: float, clip: float) -> None:
    """Scale `grads` (whose global L2 norm is `norm`) in place by clip / (norm + 1e-6) when
    that is below 1, exactly as torch.nn.utils.clip_grad_norm_(max_norm=clip) does, its 1e-6
    included: a norm at or just under `clip` is scaled too, by a factor just under 1."""
    scale = clip / (norm + 1e-6)
    if scale < 1.0:  # torch multiplies by the scale clamped to 1; by 1 changes nothing
        for g in grads.values():
            g *= scale


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
    callbacks: Iterable[object] = (),
    examples: int = 5,
    resume: LoopState | None = None,
    stop_requested: Callable[[], bool] | None = None,
) -> Result:
    """Train `model` on `task` from `spec.seed` until the target is met, `spec.steps` run out,
    or a callback stops it.

    `callbacks` are objects with any of the methods of `seqnet.Callback` (on_start, on_step,
    on_eval, on_checkpoint, on_end, on_error). To continue a run, pass its `params`, load its
    optimizer state into `optimizer`, and pass its `resume` state: the steps that follow are
    the ones an unbroken run would have taken. `stop_requested()` is checked between steps;
    when it turns true, the loop offers a checkpoint and raises `Interrupted`.

    Raises NonFiniteError (naming the step and the parameter) before a non-finite gradient
    touches the parameters, so `params` always holds the last good values.
    """
    spec = spec or TrainSpec()
    calls = Callbacks(callbacks)
    try:
        result = loop(model, task, optimizer, spec, clip, params, calls, examples, resume,
                      stop_requested)  # fmt: skip
    except BaseException as error:
        calls.error(error)
        raise
    calls.end(result)
    return result


def loop(
    model: Sequential,
    task: Task,
    optimizer: Optimizer,
    spec: TrainSpec,
    clip: float | None,
    params: Params | None,
    calls: Callbacks,
    examples: int,
    resume: LoopState | None,
    stop_requested: Callable[[], bool] | None,
) -> Result:
    """`train`'s loop, with its arguments checked and its callbacks looked up."""
    # No process-wide settings here (malloc tuning belongs to the program: the seqnet command
    # and sweep workers call seqnet.keep_freed_memory()); BLAS threads are limited only inside.
    # Small matrices run fastest on one BLAS thread; a fixed count also keeps
    # the summation order, and so the numbers, the same from machine to machine. With more
    # threads, large batches are split between them instead (seqnet.parallel).
    net = BatchParallel(model, spec.threads)
    with threadpool_limits(limits=spec.threads, user_api="blas"):
        streams = Streams.from_seed(spec.seed)
        params = model.init(streams.init) if params is None else params
        loss_fn = get_loss(task.loss)
        validation = Validation.draw(task, spec, streams.eval)
        state = resume or LoopState(0, {})
        state.stopped = None
        if resume is not None:
            streams.restore(resume.streams)
        history: list[Record] = []
        calls.start(Start(state.step, spec.steps, spec))  # before the clock: a bar's set-up
        start = time.perf_counter() - state.seconds

        def checkpoint(step: int) -> None:
            if calls.checkpoints:
                state.step, state.streams = step, streams.state()
                state.seconds = time.perf_counter() - start
                calls.checkpoint(Snapshot(step, params, optimizer, state))

        if resume is None:
            checkpoint(0)
        step = state.step
        saved_at = step
        stopped = None
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
            if clip is not None:
                clip_gradients(grads, norm, clip)
            optimizer.step(params, grads)
            if calls.steps:
                stopped = calls.step(Record(step, loss, norm, time.perf_counter() - start))
                state.stopped = stopped

            if step % spec.eval_every == 0 or step == spec.steps:
                metrics, hit = validation.score(net, params, spec)
                record = Record(step, loss, norm, time.perf_counter() - start, metrics)
                history.append(record)
                state.hits = state.hits + 1 if hit else 0
                state.reached = state.hits >= spec.patience
                stopped = state.stopped = calls.eval(record) or stopped
                checkpoint(step)
                saved_at = step
                if state.reached:
                    break
            if stopped is not None:
                if saved_at != step:
                    checkpoint(step)
                break
            if stop_requested is not None and stop_requested():
                if saved_at != step:
                    checkpoint(step)
                raise Interrupted(step)
        seconds = time.perf_counter() - start

        # Score on data no decision was made on: the eval stream's next draw, taken from a copy so
        # that the saved stream (and so a resumed run) is the same whether or not this ran.
        scored = validation.main.task
        test = final(scored, copy.deepcopy(streams.eval), spec.eval_samples)
        metrics, logits = evaluate(net, params, scored, test)
        shown = scored.examples(logits, cast_batch(test, model.dtype), examples) if examples else []
        return Result(params, step, seconds, metrics, history, shown, state.reached, stopped)
