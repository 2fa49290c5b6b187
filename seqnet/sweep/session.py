"""`Sweep` (public as `seqnet.Sweep`): a sweep and its folder, what a script needs and what
`seqnet sweep` calls. What varies is seqnet.sweep.plan's, where runs run seqnet.sweep.engines',
running them seqnet.sweep.runner's, the folder and its summary seqnet.sweep.folder's.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from seqnet import overrides, spec_errors
from seqnet.atomic import write_atomic
from seqnet.errors import SeqnetError
from seqnet.lock import FolderLock
from seqnet.plugins import default_registry
from seqnet.registry import Registry
from seqnet.rundir import unused_folder
from seqnet.signatures import from_spec
from seqnet.sweep.engines import SCHEDULER_ENV, Engine
from seqnet.sweep.folder import SweepFolder
from seqnet.sweep.plan import Range, RunPlan, parse_range, plan
from seqnet.sweep.plan import Sweep as SweepPlan
from seqnet.sweep.runner import Event, SweepInterrupted, run_sweep

SUMMARY = "summary.json"


class Sweep:
    """Many runs of one base spec across settings and seeds, in one folder (sweep.json,
    results.jsonl, runs/NAME/, summary.json).

    `Sweep.create` plans one and makes its folder, `Sweep.open` finds one to continue; `run`
    runs what is missing. A Sweep holds the folder's lock while it writes, as `seqnet sweep`
    does: `create` takes it and keeps it until `run` ends; `run` on an opened Sweep holds it
    while it runs; in a `with` block the lock, once taken, is held until the block ends, and
    `close()` lets it go at any time.
    """

    def __init__(self, folder: SweepFolder, owner: FolderLock | None = None,
                 made: bool = False) -> None:  # fmt: skip
        self.folder = folder
        self.owner = owner
        self.made = made  # the folder is this Sweep's own: an engine that never ran removes it
        self._holding = False

    @classmethod
    def create(
        cls,
        task_or_spec: str,
        out: str | Path | None = None,
        *,
        grid: Mapping[str, Sequence[Any]] | None = None,
        ranges: Mapping[str, str | Mapping[str, Any] | Range] | None = None,
        samples: int | None = None,
        seeds: str | Sequence[int] | None = None,
        repeats: int | None = None,
        root_seed: int | None = None,
        eval_lengths: str | Sequence[Any] | None = None,
        settings: Iterable[str] = (),
        registry: Registry | None = None,
    ) -> Sweep:
        """Plan a sweep of a task (its defaults, as `seqnet run TASK`) or a spec file (its
        `sweep:` section, with these options on top) and make its folder; every setting is
        checked to give a valid run spec before anything is written.

        `grid={"model.hidden": [8, 16]}` runs every combination; `ranges={"optimizer.lr":
        "0.001:0.1:log"}` with `samples=N` draws N settings; `seeds="0-9"` (or a list) or
        `repeats=N` give each setting its seeds; `eval_lengths="1024,100000:200"` scores each
        run at those lengths after training; `settings` are `--set` texts for the base spec.
        `out` None makes `sweeps/<task>-<timestamp>` under the current folder.
        """
        registry = registry or default_registry()
        given: dict[str, Any] = {
            "grid": {path: list(values) for path, values in (grid or {}).items()},
            "ranges": {path: range_of(path, r) for path, r in (ranges or {}).items()},
            "samples": samples,
            "seeds": seeds if seeds is None or isinstance(seeds, str | int) else list(seeds),
            "repeats": repeats,
            "root_seed": root_seed,
            "eval_lengths": eval_lengths,
        }
        return cls.from_plan(plan(task_or_spec, settings, given, registry), out)

    @classmethod
    def from_plan(cls, planned: SweepPlan, out: str | Path | None = None) -> Sweep:
        """A new sweep folder for a planned sweep (seqnet.sweep.plan's, or a benchmark's:
        seqnet.bench.plan); `out` None makes `sweeps/<task>-<timestamp>`."""
        path = Path(out) if out else unused_folder(Path("sweeps"), planned.base["task"]["name"])
        made = not path.exists()
        path.mkdir(parents=True, exist_ok=True)
        owner = FolderLock(path, "sweep")  # before create: two sweeps into DIR, one wins
        try:
            folder = SweepFolder.create(path, planned)
        except BaseException:
            owner.release()
            if made:
                shutil.rmtree(path, ignore_errors=True)
            raise
        return cls(folder, owner, made)

    @classmethod
    def open(cls, folder: str | Path) -> Sweep:
        """The sweep in `folder`, to run what is missing or read its results."""
        return cls(SweepFolder.open(Path(folder)))

    def __enter__(self) -> Sweep:
        self._holding = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the folder's lock, if this Sweep holds it."""
        self._holding = False
        if self.owner is not None:
            self.owner.release()
            self.owner = None

    @property
    def path(self) -> Path:
        return self.folder.path

    @property
    def runs(self) -> list[RunPlan]:
        """Every planned run: its folder name under runs/, its setting and its seed."""
        return self.folder.sweep.runs

    def missing(self) -> list[RunPlan]:
        """The planned runs not run yet."""
        return self.folder.missing()

    @property
    def results(self) -> list[dict[str, Any]]:
        """results.jsonl: a dict per finished run (run, setting, seed, status, summary, error)."""
        return self.folder.results()

    def claim(self) -> None:
        """Take the folder's lock now (`run` takes it if not), and read the folder again, now
        that no one else writes to it."""
        if self.owner is None:
            self.owner = FolderLock(self.path, "sweep")
            self.folder = SweepFolder.open(self.path)

    def run(
        self,
        engine: str | Engine | None = None,
        *,
        workers: int | None = None,
        scheduler: str | None = None,
        options: Iterable[str] = (),
        on_event: Callable[[Event], None] | None = None,
    ) -> dict[str, Any]:
        """Run what is missing on an engine: an Engine, or its name (default: `dask` if a
        scheduler address is given or in DASK_SCHEDULER_ADDRESS, else `process`), built with
        `workers`, `scheduler` and `options` (KEY=VALUE texts, for engine plugins). Writes and
        returns the summary: each setting's metrics across its seeds. `on_event` sees each run
        start and finish. Ctrl-C raises SweepInterrupted with every finished run recorded."""
        try:
            if engine is None or isinstance(engine, str):
                engine = make_engine(default_registry(), engine, workers, scheduler, options)
            self.claim()
            summary = run_sweep(self.folder, engine, on_event)
        except SeqnetError as error:
            if self.made and not self.results and not isinstance(error, SweepInterrupted):
                shutil.rmtree(self.path, ignore_errors=True)  # the engine never ran: no folder
            raise
        finally:
            if not self._holding:
                self.close()
        summary = {"sweep": str(self.path), **summary}
        write_atomic(self.path / SUMMARY, json.dumps(summary, indent=2) + "\n")
        return summary

    @property
    def summary(self) -> dict[str, Any]:
        """summary.json ({} before the first `run` ends)."""
        path = self.path / SUMMARY
        try:
            data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        except (OSError, ValueError) as error:
            raise SeqnetError(f"{path} cannot be read: {error}") from None
        return data if isinstance(data, dict) else {}


def range_of(path: str, given: str | Mapping[str, Any] | Range) -> Any:
    """A range as `--range` reads it (`"0.001:0.1:log"`), or one SweepSpec validates."""
    return parse_range(f"{path}={given}")[1] if isinstance(given, str) else given


def make_engine(
    registry: Registry,
    name: str | None,
    workers: int | None,
    scheduler: str | None,
    extra: Iterable[str],
) -> Engine:
    """The engine named (default: dask if a scheduler address is given, else process), built
    from its own `Spec`, so a wrong option is an error naming it."""
    if name is None:
        name = "dask" if scheduler or os.environ.get(SCHEDULER_ENV) else "process"
    cls = registry.get("engine", name).cls
    options: dict[str, Any] = dict(overrides.parse_override(text) for text in extra)
    if workers is not None:
        options["workers"] = workers
    if scheduler is not None:
        options["scheduler"] = scheduler
    checked = spec_errors.validate(cls.Spec, options, ("engine",))
    return from_spec(cls, checked)  # type: ignore[no-any-return]
