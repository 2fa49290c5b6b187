"""`seqnet sweep`: many runs across settings and seeds, on local processes or a Dask cluster.

The library calls are seqnet.sweep.plan and seqnet.sweep.runner.run_sweep; this module parses,
shows progress and prints the summary.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer

from seqnet.cli.app import SignalScope, app, fail, friendly
from seqnet.cli.options import SetOpt
from seqnet.progress import Bar

if TYPE_CHECKING:
    from seqnet.registry import Registry
    from seqnet.sweep.runner import Event


def many(help_text: str, metavar: str) -> Any:
    return typer.Option(help=help_text, metavar=metavar, show_default=False)


@app.command()
@friendly
def sweep(
    spec: Annotated[
        str | None,
        typer.Argument(
            metavar="[SPEC]",
            help="A task name or a spec file (its `sweep:` section adds to the options below).",
            show_default=False,
        ),
    ] = None,
    grid: Annotated[
        list[str] | None,
        many(
            "Values to try, e.g. model.hidden=8,16,32; every combination runs. Repeatable.",
            "PATH=V,V,...",
        ),
    ] = None,
    range_: Annotated[
        list[str] | None,
        typer.Option(
            "--range",
            metavar="PATH=LOW:HIGH[:log|int]",
            help="A range to draw from with --samples, e.g. optimizer.lr=0.001:0.1:log.",
            show_default=False,
        ),
    ] = None,
    samples: Annotated[
        int | None, many("Draw N random settings instead of the whole grid.", "N")
    ] = None,
    seeds: Annotated[
        str | None, many("Seeds for every setting: 0-9, 0,3,7 or 0-4,10.", "LIST")
    ] = None,
    repeats: Annotated[
        int | None, many("N seeds for every setting, spawned from --root-seed.", "N")
    ] = None,
    root_seed: Annotated[
        int | None, many("Seeds the sampling and --repeats (default 0).", "N")
    ] = None,
    eval_lengths: Annotated[
        str | None,
        many(
            "Score every run at these lengths after training, as seqnet eval does:"
            " 1024,100000:200 (LENGTH or LENGTH:SAMPLES; 1000 samples by default).",
            "L[:N],...",
        ),
    ] = None,
    set_: SetOpt = None,
    out: Annotated[
        str | None, many("Sweep folder (default sweeps/<task>-<timestamp>).", "DIR")
    ] = None,
    resume: Annotated[
        str | None, many("Continue the sweep in DIR: run only what is missing.", "DIR")
    ] = None,
    engine: Annotated[
        str | None,
        many("Where runs run: process (default), dask, or an engine plugin.", "NAME"),
    ] = None,
    workers: Annotated[
        int | None, many("Worker processes (default: the number of cores).", "N")
    ] = None,
    scheduler: Annotated[
        str | None,
        many("A Dask scheduler, e.g. tcp://host:8786 (or DASK_SCHEDULER_ADDRESS).", "ADDRESS"),
    ] = None,
    engine_opt: Annotated[
        list[str] | None, many("An engine option, for engine plugins. Repeatable.", "KEY=VALUE")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object instead.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress.")] = False,
) -> None:
    """Run a spec over a grid or random samples of settings, each with several seeds.

    Each run is exactly what `seqnet run` does with the same spec.

    The folder holds a folder per run, results.jsonl (a line per finished run) and summary.json.

    The summary gives each setting's metrics across seeds (mean \\[min, max]) and how many seeds
    reached the target. Ctrl-C stops; --resume DIR runs what is missing.
    """
    from seqnet.plugins import default_registry
    from seqnet.sweep import plan as sweeps
    from seqnet.sweep.session import Sweep, make_engine

    registry = default_registry()
    given: dict[str, Any] = {
        "grid": dict(sweeps.parse_grid(text) for text in grid or []),
        "ranges": dict(sweeps.parse_range(text) for text in range_ or []),
        "samples": samples,
        "seeds": sweeps.parse_seeds(seeds) if seeds is not None else None,
        "repeats": repeats,
        "root_seed": root_seed,
        "eval_lengths": sweeps.parse_eval_lengths(eval_lengths) if eval_lengths else None,
    }
    chosen = make_engine(registry, engine, workers, scheduler, engine_opt or [])
    if resume is not None:
        planning = [spec, *given["grid"], *given["ranges"], *(set_ or []), out]
        planning += [v for k, v in given.items() if k not in ("grid", "ranges")]
        if any(v is not None and v != {} for v in planning):
            raise fail("--resume DIR takes engine options only; the sweep is in DIR", 2)
        opened = Sweep.open(resume)
    elif spec is None:
        raise fail("name a task or a spec file to sweep, or --resume DIR", 2)
    else:
        opened = Sweep.create(spec, out, settings=set_ or [], registry=registry, **given)
    with opened as sweep:
        sweep.claim()
        with StopOnSignals(), SweepProgress(len(sweep.runs), len(sweep.missing()), quiet) as on:
            summary = sweep.run(chosen, on_event=on)
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        show(summary, task_target(registry, sweep.folder.sweep.base["task"]["name"]))


class StopOnSignals(SignalScope):
    """Ctrl-C and SIGTERM stop a sweep the same way: the first raises KeyboardInterrupt (the
    engine stops its workers, finished runs stay recorded); later ones are ignored so that the
    cleanup is never cut short into a traceback, and a watchdog ends the process if the
    cleanup takes longer than GRACE seconds."""

    GRACE = 20.0

    def __init__(self) -> None:
        self.received = False

    def handle(self, signum: int, frame: Any) -> None:
        if self.received:
            return
        self.received = True
        watchdog = threading.Timer(self.GRACE, self.give_up)
        watchdog.daemon = True
        watchdog.start()
        raise KeyboardInterrupt

    @staticmethod
    def give_up() -> None:
        typer.echo("error: the sweep's workers did not stop in time; exiting", err=True)
        os._exit(130)


def task_target(registry: Registry, task: str) -> str | None:
    try:
        return str(registry.get("task", task).cls.target_metric)
    except Exception:  # the table is still useful without knowing which metric to show first
        return None


class SweepProgress:
    """Progress over runs on stderr: a bar (runs done, rate, time left, failed and running) on
    a terminal or in a notebook, a line per finished run otherwise."""

    def __init__(self, total: int, todo: int, quiet: bool) -> None:
        self.total, self.todo, self.quiet = total, todo, quiet
        self.done = self.failed = self.running = 0
        self.before = total - todo
        self.bar: Bar | None = None

    def __enter__(self) -> Any:
        if self.quiet:
            return None
        self.bar = Bar("sweep", self.total, "runs", file=sys.stderr, completed=self.before)
        if not self.bar.shown:
            typer.echo(f"{self.todo} of {self.total} runs to go", err=True)
            return self.plain
        self.bar.update(self.before, self.status())
        return self.rich

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()

    def status(self) -> str:
        return f"failed {self.failed}  running {self.running}"

    def count(self, event: Event) -> None:
        if event.kind == "start":
            self.running += 1
        else:
            self.running -= 1
        if event.kind == "finish":
            self.done += 1
            self.failed += event.record is not None and event.record["status"] != "ok"

    def plain(self, event: Event) -> None:
        self.count(event)
        where = f"[{self.before + self.done}/{self.total}] {event.run.name}"
        if event.kind == "lost":
            typer.echo(f"{where}: its worker was lost; running it again, alone", err=True)
        elif event.kind == "finish" and event.record is not None:
            typer.echo(f"{where}: {line(event.record)}", err=True)

    def rich(self, event: Event) -> None:
        self.count(event)
        if self.bar is not None:
            self.bar.update(self.before + self.done, self.status())


def line(record: dict[str, Any]) -> str:
    if record["status"] != "ok":
        return f"failed: {record['error']}"
    s = record["summary"]
    if isinstance(s.get("score"), float):  # scored by the sweep's finish (seqnet bench chomsky)
        outcome = f"score {100 * s['score']:.1f} %"  # a share of outputs right: 0..1
    else:
        outcome = "solved" if s.get("reached_target") else "not solved"
    return f"{outcome} in {s.get('steps')} steps, {s.get('seconds', 0.0):.2f} s"


def short(value: Any) -> str:
    """A setting or metric in a table cell: floats to 4 significant digits."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


SHOWN = ("steps",)
"""What the table shows after the task's target metric (or the loss, for a task without one);
summary.json and --json hold every metric."""


def show(summary: dict[str, Any], target: str | None) -> None:
    """The summary as a table that fits 80 columns: a row per setting, the target metric, loss
    and steps as mean [min–max] across seeds (every metric is in summary.json and --json)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    groups = summary["groups"]
    paths = list(groups[0]["setting"]) if groups else []
    names: list[str] = []
    for group in groups:
        names += [n for n in group["metrics"] if n not in names]
    wanted = [n for n in (target if target in names else "loss", *SHOWN) if n in names]
    table = Table(box=None, title=f"{summary['sweep']}: {summary['done']} of {summary['runs']}"
                  f" runs, {summary['failed']} failed", title_justify="left",
                  caption="mean \\[min–max] over each setting's seeds; every metric is in"
                  " summary.json", caption_justify="left")  # fmt: skip
    for path in paths:
        table.add_column(path.rsplit(".", 1)[-1], overflow="fold")
    lengths = list(groups[0].get("reached_at", {})) if groups else []
    table.add_column("ok", justify="right")
    table.add_column("reached", justify="right")
    for length in lengths:
        table.add_column(f"reached@{length}", justify="right")
    for name in wanted:
        table.add_column(name, justify="right", no_wrap=True)
    for group in groups:
        cells = [Text(short(group["setting"][p])) for p in paths]
        cells += [Text(f"{group['ok']}/{group['seeds']}"), Text(str(group["reached_target"]))]
        for length in lengths:
            at = group["reached_at"][length]
            cells.append(Text(f"{at['seeds']}/{at['of']}"))
        for name in wanted:
            m = group["metrics"].get(name)
            shown = f"{m['mean']:.3g} [{m['min']:.3g}–{m['max']:.3g}]" if m else "-"
            cells.append(Text(shown))
        table.add_row(*cells)
    console = Console()
    console.print(table)
    for group in groups:
        for error in group["errors"]:
            console.print(f"failed: {error}", markup=False, highlight=False)
