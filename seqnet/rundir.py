"""Run folders: spec.yaml, metrics.jsonl, checkpoint.npz (and checkpoint-best.npz) and
summary.json, and training into one.

`train_in` is the library call behind `seqnet run --out` and `seqnet resume`: it logs every
evaluation, checkpoints at every evaluation, and continues a folder's run exactly.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from seqnet import checkpoint, spec_files, specs
from seqnet.atomic import remove_leftovers, write_atomic
from seqnet.callbacks import EarlyStopping, KeepBest, metric_mode
from seqnet.checkpoint import Checkpoint, CheckpointError
from seqnet.errors import SeqnetError
from seqnet.layers import layer_entry
from seqnet.lock import LOCK, FolderLock
from seqnet.model import flat_params
from seqnet.plugins import default_registry
from seqnet.registry import KINDS, Registry
from seqnet.runner import Parts, build, summary, train_parts
from seqnet.specs import LayerListSection, RunSpec, StackSection
from seqnet.training import LoopState, Record, Result, Snapshot, heldout_name

SPEC = "spec.yaml"
METRICS = "metrics.jsonl"
CHECKPOINT = "checkpoint.npz"
BEST = "checkpoint-best.npz"
SUMMARY = "summary.json"

Which = Literal["last", "best", "kept"]
"""Which checkpoint of a folder: the last, the best (train.keep best|both), or the one the
run's spec says is its model (`kept`: the best with train.keep best, else the last)."""


class RunDirError(SeqnetError):
    """A run folder that is missing, incomplete, or already taken."""

    exit_code = 2


def quoted(path: Path) -> str:
    """A path as a shell reads it back (a space or a quote in a folder name stays one word)."""
    return shlex.quote(str(path))


def default_folder(spec: RunSpec, root: Path = Path("runs")) -> Path:
    """`runs/<task>-<cell>-<timestamp>`, with a counter if that name is taken."""
    return unused_folder(root, f"{spec.task.name}-{spec.model.label()}")


def unused_folder(root: Path, prefix: str) -> Path:
    """`root/<prefix>-<timestamp>`, or with `-2`, `-3`, ... if that folder exists already."""
    base = root / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def plugin_versions(spec: RunSpec, registry: Registry) -> dict[str, dict[str, str]]:
    """{what: {name, kind, plugin, distribution, version}} for the task, the optimizer, and the
    cell (shorthand) or each layer of the list (`layers.0`, ...)."""
    used = [("task", "task", spec.task.name), ("optimizer", "optimizer", spec.optimizer.name)]
    if isinstance(spec.model, LayerListSection):
        for i, section in enumerate(spec.model.layers):
            entry = layer_entry(str(getattr(section, "type", "")), registry)
            used.append((f"layers.{i}", entry.kind, entry.name))
    else:
        used.append(("cell", "cell", spec.model.cell))
    out = {}
    for what, kind, name in used:
        entry = registry.get(kind, name)
        out[what] = {"name": name, "kind": kind, "plugin": entry.plugin,
                     "distribution": entry.distribution, "version": entry.version}  # fmt: skip
    return out


@dataclass
class RunDir:
    """One run's folder. `create` claims a new one; `open` finds an existing one; `owned` (and
    `create`) hold the folder's lock until `release` or the end of the process."""

    path: Path
    owner: FolderLock | None = None

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT

    @property
    def best_path(self) -> Path:
        return self.path / BEST

    @classmethod
    def create(cls, path: Path, spec: RunSpec) -> RunDir:
        path = Path(path)
        made = not path.exists()
        if path.exists() and not path.is_dir():
            raise RunDirError(f"'{path}' exists and is not a folder")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SeqnetError(f"cannot create run folder '{path}': {error.strerror}") from None
        folder = cls(path, FolderLock(path, "run"))
        try:
            if (path / CHECKPOINT).exists():
                raise RunDirError(
                    f"'{path}' already holds a run; continue it with: seqnet resume {quoted(path)}"
                )
            if (path / SPEC).exists():
                raise RunDirError(folder.unstarted())
            remove_leftovers(path)
            write_atomic(path / SPEC, spec_files.dump(spec, "yaml"))
            write_atomic(path / METRICS, "")
        except BaseException:
            folder.release()
            if made:  # nothing half written: the folder goes as it came
                for leftover in (path / SPEC, path / METRICS, path / LOCK):
                    leftover.unlink(missing_ok=True)
                remove_leftovers(path)
                with contextlib.suppress(OSError):
                    path.rmdir()
            raise
        return folder

    def unstarted(self) -> str:
        return (
            f"'{self.path}' holds a run that stopped before its first checkpoint;"
            f" start it with: seqnet resume {quoted(self.path)} (or choose another folder)"
        )

    @classmethod
    def open(cls, path: Path) -> RunDir:
        """A run folder with a checkpoint, for reading (no lock: checkpoints are replaced whole)."""
        path = Path(path)
        if not path.is_dir():
            raise RunDirError(f"run folder '{path}' not found")
        folder = cls(path)
        if not (path / CHECKPOINT).exists():
            if (path / SPEC).exists():
                raise RunDirError(folder.unstarted())
            raise RunDirError(f"'{path}' has no {CHECKPOINT}; it is not a seqnet run folder")
        return folder

    @classmethod
    def owned(cls, path: Path, what: str) -> RunDir:
        """A run folder (with a checkpoint, or only a spec.yaml) locked for writing; the
        temporary files a killed writer left are removed."""
        path = Path(path)
        if not path.is_dir():
            raise RunDirError(f"run folder '{path}' not found")
        if not (path / CHECKPOINT).exists() and not (path / SPEC).exists():
            raise RunDirError(f"'{path}' has no {CHECKPOINT}; it is not a seqnet run folder")
        folder = cls(path)
        folder.claim(what)
        return folder

    def claim(self, what: str) -> None:
        """Take the folder's lock for `what` (a command name); clear a killed writer's files."""
        if self.owner is None:
            self.owner = FolderLock(self.path, what)
            remove_leftovers(self.path)

    def release(self) -> None:
        if self.owner is not None:
            self.owner.release()
            self.owner = None

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def load(
        self, registry: Registry | None = None, which: Which = "last"
    ) -> tuple[Checkpoint, RunSpec]:
        """A checkpoint and its spec, refusing plugins that are not installed and parameters
        that are not the ones the spec builds. `which`: the last (what resume continues
        from), the best, or the one train.keep makes the run's model (`kept`)."""
        registry = registry or default_registry()
        ckpt, spec = self.load_file(self.checkpoint_path, registry)
        if which == "last" or (which == "kept" and spec.train.keep != "best"):
            return ckpt, spec
        if spec.train.keep == "last":
            raise RunDirError(
                f"the run in '{self.path}' keeps no best checkpoint (its train.keep is last)"
            )
        if not self.best_path.exists():
            raise RunDirError(
                f"'{self.path}' has no {BEST} yet: the run has not been evaluated"
                " (--checkpoint last reads the last one)"
            )
        return self.load_file(self.best_path, registry)

    def load_file(self, path: Path, registry: Registry) -> tuple[Checkpoint, RunSpec]:
        """`load` for one checkpoint file of the folder."""
        ckpt = checkpoint.load(path)
        installed: dict[str, set[str]] = {k: set(registry.names(k)) for k in KINDS}
        checkpoint.check_plugins(ckpt, installed, path)
        try:
            spec = specs.resolve(ckpt.spec, registry)
        except SeqnetError as error:
            raise CheckpointError(
                f"checkpoint '{path}' holds a spec seqnet cannot use: {error}"
            ) from None
        if ckpt.step > spec.train.steps:
            raise CheckpointError(
                f"checkpoint '{path}' is at step {ckpt.step}, past its"
                f" budget of {spec.train.steps} steps"
            )
        if any(name.startswith("cells.") for name in ckpt.params):  # written before layer lists
            dropout = isinstance(spec.model, StackSection) and spec.model.dropout > 0.0
            stride = 2 if dropout else 1
            ckpt.params = checkpoint.renamed_old_layers(ckpt.params, stride)
            ckpt.optimizer = checkpoint.renamed_old_layers(ckpt.optimizer, stride)
        expected = build(spec, registry).model.init(np.random.default_rng(0))
        checkpoint.check_shapes(ckpt, expected, path)
        return ckpt, spec

    def spec_file(self, registry: Registry | None = None) -> RunSpec:
        """spec.yaml, resolved (what a run that has no checkpoint yet starts from)."""
        return specs.resolve(spec_files.load_file(self.path / SPEC), registry or default_registry())

    def check_spec_file(self, spec: RunSpec, registry: Registry | None = None) -> RunSpec:
        """`spec` (the checkpoint's), with spec.yaml's train.steps if that was raised by hand.

        Anything else that differs is refused: a run continues with the spec it started with,
        and spec.yaml is never silently put back.
        """
        if not (self.path / SPEC).exists():
            return spec
        try:
            on_disk = self.spec_file(registry)
        except SeqnetError as error:
            raise RunDirError(
                f"{self.path / SPEC} no longer reads as a spec ({error}); put back the"
                f" run's spec (seqnet spec shows one) or start a new run"
            ) from None
        old, new = spec.model_dump(mode="json"), on_disk.model_dump(mode="json")
        old["train"].pop("steps")
        steps = new["train"].pop("steps")
        changed = [f"{s}.{k}" for s in new for k in {*old[s], *new[s]}
                   if old[s].get(k) != new[s].get(k)]  # fmt: skip
        if changed:
            raise RunDirError(
                f"{self.path / SPEC} was edited ({', '.join(sorted(changed))} differ from the"
                " checkpoint's spec); a run continues with the spec it started with: undo the"
                " edit, or start a new run with the edited spec"
            )
        return spec.model_copy(update={"train": spec.train.model_copy(update={"steps": steps})})

    def save(
        self, snap: Snapshot, spec: RunSpec, registry: Registry, name: str = CHECKPOINT
    ) -> None:
        ckpt = Checkpoint(
            spec=spec.model_dump(mode="json"),
            step=snap.step,
            params=snap.params,
            optimizer=snap.optimizer.state_dict(),
            streams=snap.state.streams,
            loop=snap.state.as_dict(),
            versions=checkpoint.versions(plugin_versions(spec, registry)),
        )
        checkpoint.save(self.path / name, ckpt)

    def log(self, row: dict[str, Any]) -> None:
        with (self.path / METRICS).open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    def records(self) -> list[dict[str, Any]]:
        """metrics.jsonl's rows. A torn last line (a crash mid-append) is left out; a damaged
        line before it is an error naming the line."""
        path = self.path / METRICS
        if not path.exists():
            return []
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SeqnetError(f"{path} cannot be read: {error}") from None
        lines = text.split("\n")
        rows = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                row = None
            if isinstance(row, dict) and type(row.get("step")) is int:
                rows.append(row)
            elif number == len(lines):  # no newline after it: torn by a crash, never finished
                break
            else:
                raise SeqnetError(f"{path} line {number} is damaged (not a metrics row)")
        return rows

    def keep_records_until(self, step: int) -> None:
        """Drop log lines written after the checkpoint (by a run killed before its next save)."""
        kept = [r for r in self.records() if r["step"] <= step]
        write_atomic(self.path / METRICS, "".join(json.dumps(r) + "\n" for r in kept))

    def write_summary(self, data: dict[str, Any]) -> None:
        write_atomic(self.path / SUMMARY, json.dumps(data, indent=2) + "\n")

    def summary(self) -> dict[str, Any]:
        """summary.json, or {} if the run has not ended yet."""
        path = self.path / SUMMARY
        try:
            data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        except (OSError, ValueError) as error:
            raise SeqnetError(f"{path} cannot be read: {error}") from None
        return data if isinstance(data, dict) else {}


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


__all__ = [
    "CheckpointError", "FolderWriter", "RunDir", "RunDirError", "default_folder", "quoted",
    "train_in",
]  # fmt: skip
