"""Training into a run folder: `train_in`, the library call behind `seqnet run --out` and
`seqnet resume`. It logs every evaluation, checkpoints at every evaluation, and continues a
folder's run exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from seqnet.atomic import write_atomic
from seqnet.callbacks import EarlyStopping, KeepBest, metric_mode
from seqnet.checkpoint import Checkpoint, CheckpointError
from seqnet.model import flat_params
from seqnet.plugins import default_registry
from seqnet.registry import Registry
from seqnet.rundir import BEST, METRICS, RunDir
from seqnet.runner import Parts, build, summary, train_parts
from seqnet.specs import RunSpec
from seqnet.training import LoopState, Record, Result, Snapshot, heldout_name


def metrics_row(record: Record, lr: float | None) -> dict[str, Any]:
    """One metrics.jsonl line: step, training loss, gradient norm, held-out metrics, lr, time."""
    held_out = {heldout_name(k): v for k, v in record.metrics.items()}
    return {"step": record.step, "loss": record.loss, "grad_norm": record.grad_norm,
            **held_out, "lr": lr, "seconds": round(record.seconds, 4)}  # fmt: skip


def learning_rate(optimizer: Any) -> float | None:
    """The learning rate of the latest step: the optimizer's `lr` (which follows a schedule),
    else its options' `lr`, else None (an optimizer may have neither)."""
    for source in (optimizer, getattr(optimizer, "spec", None)):
        value = getattr(source, "lr", None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


class FolderWriter:
    """The callback that writes a run folder: a metrics.jsonl line at every evaluation and
    checkpoint.npz wherever the loop offers a checkpoint."""

    def __init__(self, folder: RunDir, spec: RunSpec, registry: Registry, parts: Parts) -> None:
        self.folder, self.spec, self.registry, self.parts = folder, spec, registry, parts

    def on_eval(self, record: Record) -> None:
        self.folder.log(metrics_row(record, learning_rate(self.parts.optimizer)))

    def on_checkpoint(self, snap: Snapshot) -> None:
        self.folder.save(snap, self.spec, self.registry)


def keep_best(folder: RunDir, spec: RunSpec, registry: Registry, parts: Parts) -> KeepBest:
    """The callback that writes checkpoint-best.npz (train.keep best|both), starting from the
    best of the evaluations metrics.jsonl already holds (a resumed run's)."""
    t = spec.train
    mode = metric_mode(t.best_metric, t.best_mode, parts.task.target_metric, "train.best_mode")
    best = KeepBest(t.best_metric, mode, save=lambda snap: folder.save(snap, spec, registry, BEST))
    best.seen(folder.records())
    return best


def early_stopping(folder: RunDir, spec: RunSpec, parts: Parts, metric: str) -> EarlyStopping:
    """The callback of train.early_stop (watching `metric`), starting from the evaluations
    metrics.jsonl already holds (a resumed run's): it stops where an unbroken run would."""
    stop = spec.train.early_stop
    mode = metric_mode(metric, stop.mode, parts.task.target_metric, "train.early_stop.mode")
    stopper = EarlyStopping(metric, stop.patience, mode, stop.min_delta)
    stopper.seen(folder.records())
    return stopper


def train_in(
    folder: RunDir,
    spec: RunSpec,
    *,
    registry: Registry | None = None,
    resume_from: Checkpoint | None = None,
    callbacks: Iterable[object] = (),
    stop_requested: Callable[[], bool] | None = None,
    parts: Parts | None = None,
    until: int | None = None,
) -> tuple[Result, dict[str, Any], Parts]:
    """Train `spec` into `folder` (fresh, or continuing `resume_from` until `spec.train.steps`).

    Writes a metrics line and a checkpoint at every evaluation (and checkpoint-best.npz when
    the evaluation is the best so far, with train.keep best|both), and summary.json at the
    end; then calls `callbacks` (objects with any of seqnet.Callback's methods).
    `parts` are the spec's task, model and optimizer if the caller built them already.
    `until` stops this session at that step without changing the run's budget (the spec
    every checkpoint records), so a later plain resume continues to `spec.train.steps`.
    """
    registry = registry or default_registry()
    parts = parts or build(spec, registry)
    params = None
    resume = None
    if resume_from is not None:
        # one flat buffer again, as Model.init makes it: the optimizer's one-pass path
        params = flat_params(resume_from.params, parts.model.dtype)
        try:
            parts.optimizer.load_state_dict(resume_from.optimizer)
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise CheckpointError(
                f"checkpoint '{folder.checkpoint_path}' has optimizer state that does not fit"
                f" {spec.optimizer.name} ({type(error).__name__}: {error})"
            ) from None
        loop = resume_from.loop
        resume = LoopState(resume_from.step, resume_from.streams, int(loop["hits"]),
                           bool(loop["reached"]), float(loop["seconds"]))  # fmt: skip
        folder.keep_records_until(resume_from.step)
    else:
        write_atomic(folder.path / METRICS, "")  # a fresh start: no lines from an earlier try
    session = spec
    if until is not None and until != spec.train.steps:
        session = spec.model_copy(update={"train": spec.train.model_copy(update={"steps": until})})

    # the best checkpoint is saved before the last: a process killed between the two leaves a
    # best one that the resumed run recomputes bit for bit, never a best one it has not seen
    best = None if spec.train.keep == "last" else keep_best(folder, spec, registry, parts)
    ours: list[object] = [] if best is None else [best]
    ours.append(FolderWriter(folder, spec, registry, parts))
    if spec.train.early_stop.metric is not None:
        ours.append(early_stopping(folder, spec, parts, spec.train.early_stop.metric))
    result = train_parts(
        parts,
        session,
        params=params,
        callbacks=[*ours, *callbacks],
        resume=resume,
        stop_requested=stop_requested,
    )
    data = summary(spec, result)
    if best is not None and best.step is not None:  # where checkpoint-best.npz is from
        data.update({"best_step": best.step, f"best_{spec.train.best_metric}": best.value})
    folder.write_summary(data)
    return result, data, parts


__all__ = ["FolderWriter", "train_in"]
