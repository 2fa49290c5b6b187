"""Run folders: spec.yaml, metrics.jsonl, checkpoint.npz and summary.json, and training into one.

`train_in` is the library call behind `seqnet run --out` and `seqnet resume`: it logs every
evaluation, checkpoints at every evaluation, and continues a folder's run exactly.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqnet import checkpoint, specs
from seqnet.atomic import write_atomic
from seqnet.checkpoint import Checkpoint, CheckpointError
from seqnet.errors import SeqnetError
from seqnet.model import flat_params
from seqnet.plugins import default_registry
from seqnet.registry import Registry
from seqnet.runner import Parts, build, summary, train_parts
from seqnet.specs import RunSpec
from seqnet.training import LoopState, Record, Result, Snapshot

SPEC = "spec.yaml"
METRICS = "metrics.jsonl"
CHECKPOINT = "checkpoint.npz"
SUMMARY = "summary.json"


class RunDirError(SeqnetError):
    """A run folder that is missing, incomplete, or already taken."""

    exit_code = 2


def default_folder(spec: RunSpec, root: Path = Path("runs")) -> Path:
    """`runs/<task>-<cell>-<timestamp>`, with a counter if that name is taken."""
    return unused_folder(root, f"{spec.task.name}-{spec.model.cell}")


def unused_folder(root: Path, prefix: str) -> Path:
    """`root/<prefix>-<timestamp>`, or with `-2`, `-3`, ... if that folder exists already."""
    base = root / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def plugin_versions(spec: RunSpec, registry: Registry) -> dict[str, dict[str, str]]:
    used = {"task": spec.task.name, "cell": spec.model.cell, "optimizer": spec.optimizer.name}
    out = {}
    for kind, name in used.items():
        entry = registry.get(kind, name)
        out[kind] = {"name": name, "plugin": entry.plugin,
                     "distribution": entry.distribution, "version": entry.version}  # fmt: skip
    return out


@dataclass
class RunDir:
    """One run's folder. `create` starts one; `open` finds an existing one."""

    path: Path

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT

    @classmethod
    def create(cls, path: Path, spec: RunSpec) -> RunDir:
        path = Path(path)
        if (path / SPEC).exists() or (path / CHECKPOINT).exists():
            raise RunDirError(
                f"'{path}' already holds a run; continue it with: seqnet resume {path}"
            )
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RunDirError(f"cannot create run folder '{path}': {error.strerror}") from None
        folder = cls(path)
        write_atomic(path / SPEC, specs.dump(spec, "yaml"))
        (path / METRICS).write_text("", encoding="utf-8")
        return folder

    @classmethod
    def open(cls, path: Path) -> RunDir:
        path = Path(path)
        if not path.is_dir():
            raise RunDirError(f"run folder '{path}' not found")
        if not (path / CHECKPOINT).exists():
            raise RunDirError(f"'{path}' has no {CHECKPOINT}; it is not a seqnet run folder")
        return cls(path)

    def load(self, registry: Registry | None = None) -> tuple[Checkpoint, RunSpec]:
        """The checkpoint and its spec, refusing plugins that are not installed."""
        registry = registry or default_registry()
        ckpt = checkpoint.load(self.checkpoint_path)
        installed = {kind: set(registry.names(kind)) for kind in ("task", "cell", "optimizer")}
        checkpoint.check_plugins(ckpt, installed, self.checkpoint_path)
        return ckpt, specs.resolve(ckpt.spec, registry)

    def save(self, snap: Snapshot, spec: RunSpec, registry: Registry) -> None:
        ckpt = Checkpoint(
            spec=spec.model_dump(mode="json"),
            step=snap.step,
            params=snap.params,
            optimizer=snap.optimizer.state_dict(),
            streams=snap.state.streams,
            loop=snap.state.as_dict(),
            versions=checkpoint.versions(plugin_versions(spec, registry)),
        )
        checkpoint.save(self.checkpoint_path, ckpt)

    def log(self, row: dict[str, Any]) -> None:
        with (self.path / METRICS).open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    def records(self) -> list[dict[str, Any]]:
        path = self.path / METRICS
        if not path.exists():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def keep_records_until(self, step: int) -> None:
        """Drop log lines written after the checkpoint (by a run killed before its next save)."""
        kept = [r for r in self.records() if r["step"] <= step]
        write_atomic(self.path / METRICS, "".join(json.dumps(r) + "\n" for r in kept))

    def write_summary(self, data: dict[str, Any]) -> None:
        write_atomic(self.path / SUMMARY, json.dumps(data, indent=2) + "\n")


def metrics_row(record: Record, lr: float | None) -> dict[str, Any]:
    """One metrics.jsonl line: step, training loss, gradient norm, held-out metrics, lr, time."""
    held_out = {("val_loss" if k == "loss" else k): v for k, v in record.metrics.items()}
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


def train_in(
    folder: RunDir,
    spec: RunSpec,
    *,
    registry: Registry | None = None,
    resume_from: Checkpoint | None = None,
    on_log: Callable[[Record], None] | None = None,
    stop_requested: Callable[[], bool] | None = None,
    parts: Parts | None = None,
) -> tuple[Result, dict[str, Any], Parts]:
    """Train `spec` into `folder` (fresh, or continuing `resume_from` until `spec.train.steps`).

    Writes a metrics line and a checkpoint at every evaluation and summary.json at the end.
    `parts` are the spec's task, model and optimizer if the caller built them already.
    """
    registry = registry or default_registry()
    parts = parts or build(spec, registry)
    params = None
    resume = None
    if resume_from is not None:
        # one flat buffer again, as Model.init makes it: the optimizer's one-pass path
        params = flat_params(resume_from.params, parts.model.dtype)
        parts.optimizer.load_state_dict(resume_from.optimizer)
        loop = resume_from.loop
        resume = LoopState(resume_from.step, resume_from.streams, int(loop["hits"]),
                           bool(loop["reached"]), float(loop["seconds"]))  # fmt: skip
        folder.keep_records_until(resume_from.step)

    def logged(record: Record) -> None:
        folder.log(metrics_row(record, learning_rate(parts.optimizer)))
        if on_log is not None:
            on_log(record)

    result = train_parts(
        parts,
        spec,
        params=params,
        on_log=logged,
        resume=resume,
        on_checkpoint=lambda snap: folder.save(snap, spec, registry),
        stop_requested=stop_requested,
    )
    data = summary(spec, result)
    folder.write_summary(data)
    return result, data, parts


__all__ = ["CheckpointError", "RunDir", "RunDirError", "default_folder", "train_in"]
