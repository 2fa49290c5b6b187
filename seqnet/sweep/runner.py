"""Running a sweep's missing runs on an engine: the worker's side (`execute`) and the loop.

A run's own failure (an exception, non-finite values) comes back as a failed result. A run
whose worker is lost is rerun alone, so the loss is pinned on the right run, and retried once
more if it killed its worker alone. Ctrl-C
stops the engine at once; what had finished is already on disk, so `--resume` runs the rest.
"""

from __future__ import annotations

import functools
import importlib
import math
import os
import tempfile
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, CancelledError, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from seqnet.errors import SeqnetError
from seqnet.interfaces import Params
from seqnet.plugins import default_registry, load_registry
from seqnet.registry import Registry, Source
from seqnet.runner import Parts
from seqnet.specs import RunSpec
from seqnet.sweep.engines import Engine
from seqnet.sweep.folder import SweepFolder, summarize, write_run
from seqnet.sweep.plan import RunPlan


class SweepInterrupted(SeqnetError):
    """Ctrl-C during a sweep: finished runs are kept; `seqnet sweep --resume DIR` does the rest."""

    exit_code = 130


@dataclass(frozen=True)
class Job:
    """What a worker needs for one run: plain data, so any engine can ship it."""

    name: str
    spec: dict[str, Any]
    plugins: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()
    eval_lengths: tuple[tuple[int, int], ...] = ()
    """(length, samples) to score the trained run at, as `seqnet eval` does."""
    finish: str | None = None
    finish_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """A run started, finished (ok or failed; `record` is its results line) or lost its worker."""

    kind: Literal["start", "finish", "lost"]
    run: RunPlan
    record: dict[str, Any] | None = None


def quiet(message: str) -> None:
    """Plugin warnings in workers: the parent has already shown them once."""


def registry_for(plugins: tuple[str, ...], disabled: tuple[str, ...]) -> Registry:
    """The registry a sweep uses: the installed plugins plus `plugins` (module names)."""
    if not plugins and not disabled:
        return default_registry()  # as configured (the CLI's --disable-plugin)
    return loaded(plugins, disabled)


@functools.cache
def loaded(plugins: tuple[str, ...], disabled: tuple[str, ...]) -> Registry:
    extra = [(Source(name, "local", ""), importlib.import_module(name)) for name in plugins]
    return load_registry(extra=extra, disable=disabled, report=quiet)


def describe(error: BaseException) -> str:
    """One line: seqnet's own errors as they read; others with their type and where."""
    if isinstance(error, SeqnetError):
        return str(error)
    frames = traceback.extract_tb(error.__traceback__)
    where = f" ({os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


def execute(job: Job) -> dict[str, Any]:
    """Run one job exactly as `seqnet run` does (a seqnet.Run of the same resolved spec), in a
    scratch run folder whose files come back with the result.

    Returns {"status": "ok", "summary", "files"} or {"status": "failed", "error", "files"};
    raises only if the worker itself is going down. The files (spec.yaml, metrics.jsonl,
    checkpoint.npz, summary.json) travel back so that workers need no shared disk.
    """
    from seqnet import specs
    from seqnet.runs import Run

    with tempfile.TemporaryDirectory(prefix="seqnet-sweep-") as scratch:
        path = Path(scratch) / "run"
        try:
            registry = registry_for(job.plugins, job.disabled)
            # BLAS threads come from the spec (train.threads), as in `seqnet run`
            with Run.create(specs.resolve(job.spec, registry), path, registry=registry) as run:
                result = run.train()
                summary = run.summary
                if job.eval_lengths:
                    summary.update(scores_at(run.parts, run.spec, result.params, job.eval_lengths))
                if job.finish is not None:
                    finish = finisher(job.finish)
                    summary.update(finish(run.spec, run.parts, result.params, **job.finish_options))
                if job.eval_lengths or job.finish is not None:
                    run.folder.write_summary(summary)
        except Exception as error:
            return {"status": "failed", "error": describe(error), "files": collect(path)}
        files = collect(path)
    bad = [k for k, v in summary.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        # results.jsonl stays strict JSON: the values go into the error, None into the summary
        reason = f"non-finite {', '.join(f'{k} ({summary[k]})' for k in bad)}"
        summary.update(dict.fromkeys(bad))
        return {"status": "failed", "error": reason, "summary": summary, "files": files}
    return {"status": "ok", "summary": summary, "files": files}


def finisher(name: str) -> Callable[..., dict[str, Any]]:
    """The function `module:function` names (a sweep's `finish`)."""
    module, _, function = name.partition(":")
    found = getattr(importlib.import_module(module), function, None)
    if not callable(found):
        raise SeqnetError(f"sweep finish '{name}' is not a function")
    return found  # type: ignore[no-any-return]


def scores_at(
    parts: Parts, spec: RunSpec, params: Params, lengths: tuple[tuple[int, int], ...]
) -> dict[str, Any]:
    """The trained run's metrics at each (length, samples), as `seqnet eval DIR --lengths L
    --samples S` gives them (`exact_match@1024`), and `reached@1024`: whether the target metric
    reached `train.target` there."""
    from threadpoolctl import threadpool_limits

    from seqnet.lengths import evaluate_lengths

    task_cls = type(parts.task)
    out: dict[str, Any] = {}
    with threadpool_limits(1):  # tiny matrices: one BLAS thread, as `seqnet eval` uses
        for length, samples in lengths:
            table = evaluate_lengths(
                parts.model, params, task_cls, spec.options("task"), [length], samples
            )
            metrics = table[str(length)]
            out.update({f"{k}@{length}": v for k, v in metrics.items() if k != "loss"})
            out[f"reached@{length}"] = metrics[task_cls.target_metric] >= spec.train.target
    return out


def collect(path: Path) -> dict[str, bytes]:
    """A run folder's files by name (none if it was never created)."""
    if not path.is_dir():
        return {}
    return {f.name: f.read_bytes() for f in sorted(path.iterdir())
            if f.is_file() and not f.name.startswith(".")}  # fmt: skip


class Loop:
    """Keeps an engine's slots full, records each result as it comes, reruns lost runs.

    When a worker is lost, every run in flight may have been lost with it (a broken process
    pool fails them all), so each is rerun alone. A run lost while it was the only one in
    flight killed its worker itself: it gets one more try, alone, and is then recorded failed.
    """

    def __init__(
        self,
        folder: SweepFolder,
        registry: Registry,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.folder = folder
        self.registry = registry
        self.on_event = on_event or (lambda event: None)
        self.todo = deque(folder.missing())
        self.suspects: deque[RunPlan] = deque()  # lost a worker: rerun alone
        self.alone: set[str] = set()  # suspects in flight
        self.deaths: dict[str, int] = {}  # workers each run lost while it ran alone
        self.disabled = tuple(source.name for source in registry.disabled)

    def job(self, run: RunPlan) -> Job:
        spec = self.folder.sweep.run_spec(run, self.registry)
        write_run(self.folder.run_folder(run), spec)
        data = spec.model_dump(mode="json")
        sweep = self.folder.sweep
        lengths = tuple((e.length, e.samples) for e in sweep.spec.eval_lengths)
        return Job(
            run.name, data, sweep.plugins, self.disabled, lengths, sweep.finish,
            sweep.finish_options,
        )  # fmt: skip

    def run(self, engine: Engine) -> None:
        while self.todo or self.suspects:
            with engine.executor() as pool:
                started = self.drive(pool, engine.slots())
            if not started and (self.todo or self.suspects):
                raise SeqnetError(f"the {engine.name} engine broke before it could start a run")

    def next_run(self, inflight: int, slots: int) -> RunPlan | None:
        if self.alone:
            return None
        if self.suspects:
            if inflight:
                return None  # let the others finish, then run the suspect alone
            run = self.suspects.popleft()
            self.alone.add(run.name)
            return run
        if self.todo and inflight < slots:
            return self.todo.popleft()
        return None

    def drive(self, pool: Any, slots: int) -> int:
        """Until there is nothing left to run, or the executor breaks; how many runs started."""
        inflight: dict[Future[dict[str, Any]], RunPlan] = {}
        broken = False
        started = 0
        while True:
            while not broken and (run := self.next_run(len(inflight), slots)) is not None:
                try:
                    future = pool.submit(execute, self.job(run))
                except BrokenExecutor:
                    broken = True
                    (self.suspects if run.name in self.alone else self.todo).appendleft(run)
                    self.alone.discard(run.name)
                    break
                inflight[future] = run
                started += 1
                self.on_event(Event("start", run))
            if not inflight:
                return started
            finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
            crowd = len(inflight)
            for future in sorted(finished, key=lambda f: inflight[f].name):
                run = inflight.pop(future)
                self.alone.discard(run.name)
                try:
                    outcome = future.result()
                except (Exception, CancelledError) as error:
                    broken = broken or isinstance(error, BrokenExecutor)
                    if crowd == 1:
                        self.deaths[run.name] = self.deaths.get(run.name, 0) + 1
                    if self.deaths.get(run.name, 0) < 2:
                        self.suspects.append(run)
                        self.on_event(Event("lost", run))
                        continue
                    reason = f"its worker was lost twice while it ran alone ({describe(error)})"
                    outcome = {"status": "failed", "error": reason}
                self.on_event(Event("finish", run, self.folder.record(run, outcome)))


def run_sweep(
    folder: SweepFolder,
    engine: Engine,
    on_event: Callable[[Event], None] | None = None,
) -> dict[str, Any]:
    """Run the folder's missing runs on `engine`; the summary of all its results.

    Raises SweepInterrupted on Ctrl-C, after stopping the engine; every run that had finished
    is recorded, and `folder.missing()` is exactly what is left.
    """
    registry = registry_for(folder.sweep.plugins, ())
    loop = Loop(folder, registry, on_event)
    try:
        loop.run(engine)
    except KeyboardInterrupt:
        done = len(folder.results())
        raise SweepInterrupted(
            f"interrupted: {done} of {len(folder.sweep.runs)} runs recorded in {folder.path};"
            f" run the rest with: seqnet sweep --resume {folder.path}"
        ) from None
    return summarize(folder.sweep, folder.results())
