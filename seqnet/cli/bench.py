"""`seqnet bench chomsky`: the Chomsky-hierarchy benchmark as a sweep, then its table and figure.

The library is seqnet.bench (the plan, the score, the table) and the sweep machinery; this
module parses, shows progress and writes table.md, table.json and chomsky.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from seqnet.cli.app import app, fail, friendly

bench_app = typer.Typer(
    help="Standard benchmarks, run as sweeps.", no_args_is_help=True, add_completion=False
)
app.add_typer(bench_app, name="bench")


def opt(help_text: str, metavar: str) -> Any:
    return typer.Option(help=help_text, metavar=metavar, show_default=False)


@bench_app.command("chomsky")
@friendly
def chomsky(
    tasks: Annotated[str | None, opt("Tasks, comma-separated (default: all 15).", "A,B")] = None,
    cells: Annotated[
        str | None, opt("Cells: elman,stack_rnn,tape_rnn,lstm (the default).", "A,B")
    ] = None,
    seeds: Annotated[
        str | None, opt("Seeds for every task and cell (default 0-1).", "LIST")
    ] = None,
    steps: Annotated[
        int | None, opt("Training steps per run at most (default 10000).", "N")
    ] = None,
    batch: Annotated[int | None, opt("Sequences per step (default 32).", "N")] = None,
    hidden: Annotated[int | None, opt("Hidden units (default 256).", "N")] = None,
    lr: Annotated[float | None, opt("Adam's learning rate (default 0.001).", "LR")] = None,
    tape_computation: Annotated[
        int | None,
        opt("Computation steps per input token for tape_rnn (default 0; paper: 0-2).", "K"),
    ] = None,
    lengths: Annotated[
        str | None, opt("Test lengths, LOW-HIGH (default 41-500).", "LOW-HIGH")
    ] = None,
    samples: Annotated[int | None, opt("Test sequences per length (default 4).", "N")] = None,
    dtype: Annotated[
        str | None, opt("Precision: float32 (the default, the paper's) or float64.", "NAME")
    ] = None,
    out: Annotated[
        str | None, opt("Benchmark folder (default sweeps/chomsky-<time>).", "DIR")
    ] = None,
    resume: Annotated[
        str | None, opt("Continue the benchmark in DIR: run only what is missing.", "DIR")
    ] = None,
    report: Annotated[
        str | None, opt("Only write DIR's table and figure from the runs finished so far.", "DIR")
    ] = None,
    engine: Annotated[
        str | None, opt("Where runs run: process (default), dask, or an engine plugin.", "NAME")
    ] = None,
    workers: Annotated[
        int | None, opt("Worker processes (default: the number of cores).", "N")
    ] = None,
    scheduler: Annotated[str | None, opt("A Dask scheduler address.", "ADDRESS")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress.")] = False,
) -> None:
    """Train every Chomsky task × cell × seed on lengths 1..40, score each run as Delétang et
    al. (2023) do on lengths 41..500, and write table.md, table.json and chomsky.png.

    A cell's score is its best seed's: per length the share of right outputs per sequence,
    averaged over sequences, then over lengths. Ctrl-C stops; --resume DIR runs what is missing.
    """
    from seqnet import bench
    from seqnet.cli.sweep import StopOnSignals, SweepProgress
    from seqnet.plugins import default_registry
    from seqnet.rundir import quoted, unused_folder
    from seqnet.spec_errors import validate
    from seqnet.sweep.plan import parse_seeds
    from seqnet.sweep.runner import SweepInterrupted
    from seqnet.sweep.session import Sweep, make_engine

    registry = default_registry()
    planning = [tasks, cells, seeds, steps, batch, hidden, lr, tape_computation, lengths, samples,
                dtype, out]  # fmt: skip
    if resume is not None or report is not None:
        if any(v is not None for v in planning) or (resume is not None and report is not None):
            raise fail("--resume DIR and --report DIR take no planning options", 2)
        opened = Sweep.open(resume or report or "")
        if opened.folder.sweep.source != "chomsky":
            raise fail(f"'{opened.path}' is a sweep, not a Chomsky benchmark", 2)
    else:
        given: dict[str, Any] = {"steps": steps, "batch": batch, "hidden": hidden, "lr": lr,
                                 "samples": samples, "dtype": dtype,
                                 "tape_computation": tape_computation}  # fmt: skip
        if lengths is not None:
            low, sep, high = lengths.partition("-")
            if not sep or not low.strip().isdigit() or not high.strip().isdigit():
                raise fail(f"--lengths '{lengths}' must look like 41-500", 2)
            given |= {"test_min": int(low), "test_max": int(high)}
        protocol = validate(bench.Protocol, {k: v for k, v in given.items() if v is not None},
                            ("bench",))  # fmt: skip
        protocol.lengths()  # a range that counts down is an error now, not in every worker
        sweep = bench.plan(
            names(tasks, list(bench.TASKS)),
            names(cells, list(bench.CELLS)),
            parse_seeds(seeds if seeds is not None else "0-1"),
            protocol,
            registry,
        )
        path = Path(out) if out else unused_folder(Path("sweeps"), "chomsky")
        opened = Sweep.from_plan(sweep, path)
    with opened as bench_sweep:
        if report is None:
            chosen = make_engine(registry, engine, workers, scheduler, [])
            bench_sweep.claim()
            todo = len(bench_sweep.missing())
            try:
                with StopOnSignals(), SweepProgress(len(bench_sweep.runs), todo, quiet) as on:
                    bench_sweep.run(chosen, on_event=on)
            except SweepInterrupted:  # the same stop, with the command that resumes a benchmark
                where = quoted(bench_sweep.folder.path)
                raise SweepInterrupted(
                    f"interrupted: {len(bench_sweep.results)} of {len(bench_sweep.runs)} runs"
                    f" recorded in {where};"
                    f" run the rest with: seqnet bench chomsky --resume {where}"
                ) from None
        write_report(bench_sweep.folder)


def names(text: str | None, default: list[str]) -> list[str]:
    if text is None:
        return default
    return [part.strip() for part in text.split(",") if part.strip()]


def write_report(folder: Any) -> None:
    """table.json, table.md and (with matplotlib) chomsky.png in the benchmark folder."""
    from seqnet import bench

    data, text = bench.write_report(folder)
    typer.echo(text, nl=False)
    typer.echo(
        f"{data['scored']} of {data['runs']} runs scored, {data['cpu_seconds']:.0f} CPU seconds;"
        f" in {folder.path}"
    )
    for cell, c in data["cells"].items():
        if not c["scored"]:
            typer.echo(f"  {cell}: 0/{c['planned']} runs")
            continue
        typer.echo(
            f"  {cell}: {c['scored']}/{c['planned']} runs, {c['cpu_seconds']:.0f} CPU s,"
            f" {c['steps_per_cpu_second'] or 0:.0f} training steps per CPU s; all planned runs"
            f" ≈ {c['estimated_cpu_seconds'] or 0:.0f} CPU s"
        )
    try:
        bench.figure(folder, folder.path / "chomsky.png")
    except ImportError:
        typer.echo("no figure: pip install 'seqnet[plot]' for matplotlib", err=True)
