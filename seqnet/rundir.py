"""Run folders: spec.yaml, metrics.jsonl, checkpoint.npz (and checkpoint-best.npz) and
summary.json, read and written by `RunDir`, which one process owns at a time.
Training into a folder is seqnet.folder_training.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from seqnet import checkpoint, spec_files, specs
from seqnet.atomic import remove_leftovers, write_atomic
from seqnet.checkpoint import Checkpoint, CheckpointError
from seqnet.errors import SeqnetError
from seqnet.layers import layer_entry
from seqnet.lock import LOCK, FolderLock
from seqnet.plugins import default_registry
from seqnet.registry import KINDS, Registry
from seqnet.runner import build
from seqnet.specs import LayerListSection, RunSpec, StackSection
from seqnet.training import Snapshot

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


__all__ = [
    "CheckpointError", "RunDir", "RunDirError", "default_folder", "quoted", "unused_folder",
]  # fmt: skip
