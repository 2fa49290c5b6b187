"""Callbacks: what a training loop tells the objects watching it, and the built-in watchers
(early stopping, the best checkpoint). The progress bar is in seqnet.progress, the CSV and
TensorBoard loggers in seqnet.loggers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from seqnet.errors import SeqnetError, SpecError

if TYPE_CHECKING:
    from seqnet.interfaces import Params
    from seqnet.training import Record, Result, Snapshot
    from seqnet.trainspec import TrainSpec

HOOKS = ("on_start", "on_step", "on_eval", "on_checkpoint", "on_end", "on_error")


@dataclass(frozen=True)
class Start:
    """What `on_start` receives: the step this session starts after (0, or a resumed run's
    step) and the last step it may reach (`spec.steps`)."""

    step: int
    steps: int
    spec: TrainSpec


class Callback(Protocol):
    """An object that watches a training loop. It needs none of these methods in particular:
    the loop calls the ones an object has (looked up once, when training starts) and skips the
    rest, so any object with one of them is a callback, and a class need not subclass this.
    Return values are ignored. Callbacks run in the order given, after seqnet's own (a run
    folder's log and checkpoints). They must not change the parameters: a run gives the same
    numbers with or without callbacks.

    To stop training, raise `StopTraining(reason)` from `on_step` or `on_eval`: the loop saves
    a checkpoint at that step, scores the final held-out set, calls `on_end`, and returns a
    Result whose `stopped` is the reason.
    """

    def on_start(self, start: Start) -> None:
        """Once, before the first step: the step this session starts after and the last it
        may reach (`start.step`, `start.steps`) and the training spec."""

    def on_step(self, record: Record) -> None:
        """After every optimizer step: step, training loss, gradient norm (before clipping),
        seconds so far; `record.metrics` is empty."""

    def on_eval(self, record: Record) -> None:
        """After every held-out evaluation, with the record `Result.history` and metrics.jsonl
        hold (`record.as_dict()` names the held-out loss `val_loss`)."""

    def on_checkpoint(self, snapshot: Snapshot) -> None:
        """Where a checkpoint can be saved: step 0 of a fresh run, after every evaluation, and
        before an interrupt. The arrays are live: copy what you keep."""

    def on_end(self, result: Result) -> None:
        """Once, when training has finished (target reached, steps spent, or stopped by a
        callback), with the `Result` that `train` returns."""

    def on_error(self, error: BaseException) -> None:
        """Instead of `on_end` when training raises (Ctrl-C, a non-finite gradient, an error
        in a callback), before the error propagates: close what you opened."""


class StopTraining(Exception):
    """Raised by a callback to end training after the current step; `str()` says why."""


class Callbacks:
    """The callbacks of one training session, each hook's bound methods looked up once."""

    def __init__(self, objects: Iterable[object] = ()) -> None:
        self.objects = list(objects)
        for obj in self.objects:
            if not any(callable(getattr(obj, hook, None)) for hook in HOOKS):
                raise SeqnetError(
                    f"callback {obj!r} has none of the methods {', '.join(HOOKS)}; a callback is"
                    " an object with one or more of them"
                )
        found = {hook: [getattr(o, hook) for o in self.objects if callable(getattr(o, hook, None))]
                 for hook in HOOKS}  # fmt: skip
        self.starts: list[Callable[[Start], Any]] = found["on_start"]
        self.steps: list[Callable[[Record], Any]] = found["on_step"]
        self.evals: list[Callable[[Record], Any]] = found["on_eval"]
        self.checkpoints: list[Callable[[Snapshot], Any]] = found["on_checkpoint"]
        self.ends: list[Callable[[Result], Any]] = found["on_end"]
        self.errors: list[Callable[[BaseException], Any]] = found["on_error"]

    def start(self, start: Start) -> None:
        for call in self.starts:
            call(start)

    def step(self, record: Record) -> str | None:
        """Call every `on_step`; the reason a callback asked to stop, or None."""
        return self.until_stopped(self.steps, record)

    def eval(self, record: Record) -> str | None:
        """Call every `on_eval`; the reason a callback asked to stop, or None."""
        return self.until_stopped(self.evals, record)

    @staticmethod
    def until_stopped(calls: list[Callable[[Record], Any]], record: Record) -> str | None:
        reason = None
        for call in calls:  # the others still see the record when one asks to stop
            try:
                call(record)
            except StopTraining as stop:
                reason = reason or str(stop) or "a callback stopped training"
        return reason

    def checkpoint(self, snapshot: Snapshot) -> None:
        for call in self.checkpoints:
            call(snapshot)

    def end(self, result: Result) -> None:
        for call in self.ends:
            call(result)

    def error(self, error: BaseException) -> None:
        for call in self.errors:
            call(error)


Mode = Literal["min", "max"]


def metric_mode(
    metric: str, mode: str | None, target_metric: str | None = None, option: str = "mode"
) -> Mode:
    """Whether lower or higher is better for `metric`: `mode` if given (not None or `auto`);
    `min` for a loss (`val_loss`, `loss`, `val_loss@64`); `max` for the task's target metric
    (`target_metric`, also at other lengths); otherwise a SpecError asking for the mode."""
    if mode is not None and mode != "auto":
        if mode not in ("min", "max"):
            raise SpecError(f"{option} must be 'min' or 'max' (got {mode!r})")
        return "min" if mode == "min" else "max"
    base = metric.partition("@")[0]
    if base in ("val_loss", "loss"):
        return "min"
    if target_metric is not None and base == target_metric:
        return "max"
    raise SpecError(f"say whether lower or higher {metric} is better: {option} 'min' or 'max'")


def metric_value(record: Record, metric: str) -> float:
    """`metric` of an evaluation record, by its metrics.jsonl name; one line if it has none."""
    row = record.as_dict()
    value = row.get(metric)
    if not isinstance(value, (int, float)) or metric in ("step", "seconds"):
        known = ", ".join(k for k in row if k not in ("step", "seconds"))
        raise SpecError(f"no metric '{metric}' to watch; an evaluation has {known}")
    return float(value)


class Watch:
    """The best value of one metric so far, and whether a new one beats it by `min_delta`."""

    def __init__(self, metric: str, mode: Mode, min_delta: float) -> None:
        if not math.isfinite(min_delta) or min_delta < 0:
            raise SpecError(f"min_delta must be a number >= 0 (got {min_delta})")
        self.metric, self.mode, self.min_delta = metric, mode, min_delta
        self.best: float | None = None
        self.best_step: int | None = None

    def improves(self, record: Record) -> bool:
        """Note `record`'s value; True if it is the best so far (a NaN never is)."""
        return self.note(metric_value(record, self.metric), record.step)

    def note(self, value: float, step: int) -> bool:
        if math.isnan(value):
            return False
        if self.best is not None and not (
            value < self.best - self.min_delta
            if self.mode == "min"
            else value > self.best + self.min_delta
        ):
            return False
        self.best, self.best_step = value, step
        return True


class EarlyStopping:
    """Stop training when `metric` (a metrics.jsonl name: `val_loss`, `exact_match`,
    `margin@64`, ...) has not improved for `patience` evaluations in a row.

    `mode` says whether lower (`min`) or higher (`max`) is better; by default `min` for a loss
    and otherwise required. An improvement must beat the best so far by more than `min_delta`.
    """

    def __init__(
        self,
        metric: str = "val_loss",
        patience: int = 5,
        mode: Mode | None = None,
        min_delta: float = 0.0,
    ) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise SpecError(f"patience must be a whole number >= 1 (got {patience!r})")
        self.watch = Watch(metric, metric_mode(metric, mode), min_delta)
        self.patience = patience
        self.waited = 0

    def seen(self, rows: Iterable[dict[str, Any]]) -> None:
        """Start from earlier evaluations (a resumed run's metrics.jsonl rows): the best so far
        and the evaluations since, so a resumed run stops where an unbroken one would."""
        for row in rows:
            value = row.get(self.watch.metric)
            if isinstance(value, (int, float)):
                improved = self.watch.note(float(value), int(row["step"]))
                self.waited = 0 if improved else self.waited + 1

    def on_eval(self, record: Record) -> None:
        if self.watch.improves(record):
            self.waited = 0
            return
        self.waited += 1
        if self.waited >= self.patience:
            w = self.watch
            best = "none" if w.best is None else f"{w.best:.6g} at step {w.best_step}"
            raise StopTraining(
                f"{w.metric} did not improve for {self.patience} evaluations; best {best}"
            )


class KeepBest:
    """Keep the parameters of the evaluation where `metric` was best (by default the held-out
    loss, lowest).

    With `save`, each new best snapshot is handed to it (a run folder writes
    checkpoint-best.npz this way); without, copies are kept here: `.params`, `.step`, `.value`.
    """

    def __init__(
        self,
        metric: str = "val_loss",
        mode: Mode | None = None,
        *,
        min_delta: float = 0.0,
        save: Callable[[Snapshot], None] | None = None,
    ) -> None:
        self.watch = Watch(metric, metric_mode(metric, mode), min_delta)
        self.save = save
        self.pending: int | None = None
        self.params: Params | None = None

    @property
    def step(self) -> int | None:
        return self.watch.best_step

    @property
    def value(self) -> float | None:
        return self.watch.best

    def seen(self, rows: Iterable[dict[str, Any]]) -> None:
        """Start from the best of earlier evaluations (a resumed run's metrics.jsonl rows)."""
        for row in rows:
            value = row.get(self.watch.metric)
            if isinstance(value, (int, float)):
                self.watch.note(float(value), int(row["step"]))

    def on_eval(self, record: Record) -> None:
        if self.watch.improves(record):
            self.pending = record.step  # saved at this step's checkpoint, which follows

    def on_checkpoint(self, snapshot: Snapshot) -> None:
        if self.pending != snapshot.step:
            return
        self.pending = None
        if self.save is not None:
            self.save(snapshot)
        else:
            self.params = {name: array.copy() for name, array in snapshot.params.items()}


__all__ = [
    "Callback", "Callbacks", "EarlyStopping", "KeepBest", "Start", "StopTraining",
]  # fmt: skip
