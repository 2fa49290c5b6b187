"""What the commands show while and after training: numbers for people, the summary line, and
the progress display."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from seqnet.runs import Run
    from seqnet.specs import RunSpec
    from seqnet.training import Record


def number(value: Any) -> str:
    """A metric for people: four decimals, or four significant digits when it is huge or tiny
    (a diverged loss of 1e300 is not 300 digits)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    return f"{value:.4f}" if value == 0 or 1e-3 <= abs(value) < 1e6 else f"{value:.4g}"


def summary_line(summary: dict[str, Any], reached: bool, spec: RunSpec | None = None) -> str:
    """`binadd with elman, seed 0: solved after ...`; `solved` says which metric reached what."""
    skip = {"task", "cell", "seed", "steps", "seconds", "reached_target"}
    metrics = ", ".join(f"{k} {number(v)}" for k, v in summary.items() if k not in skip)
    status = "solved" if reached else "not solved"
    target = f"; target: {solved_means(spec)}" if spec is not None else ""
    return (
        f"{summary['task']} with {summary['cell']}, seed {summary['seed']}: {status} after "
        f"{summary['steps']} steps in {summary['seconds']:.2f} s; held-out {metrics}{target}"
    )


def solved_means(spec: RunSpec) -> str:
    """What `solved` means for this run: the target metric and level, patience, margin."""
    from seqnet.plugins import default_registry

    metric = default_registry().get("task", spec.task.name).cls.target_metric
    t = spec.train
    said = f"{metric} >= {t.target:g} on held-out data"
    if t.patience > 1:
        said += f" at {t.patience} evaluations in a row"
    if t.margin > 0:
        said += f", margin >= {t.margin:g}"
    return said


class ProgressDisplay:
    """Progress while training, as the callbacks a Run trains with: a rich bar on a terminal,
    plain lines otherwise, or none (quiet). The total is the run's budget, read when shown
    (a resume may raise it)."""

    def __init__(self, run: Run, quiet: bool, to_stderr: bool = False) -> None:
        self.run = run
        self.quiet = quiet
        self.to_stderr = to_stderr
        self.bar: Any = None

    @property
    def total(self) -> int:
        return self.run.spec.train.steps

    def __enter__(self) -> list[object]:
        if self.quiet:
            return []
        if not (sys.stderr if self.to_stderr else sys.stdout).isatty():
            return [self]
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.bar = Progress(
            TextColumn("training"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            transient=True,
            console=Console(stderr=self.to_stderr),
        )
        self.bar.start()
        self.task_id = self.bar.add_task("train", total=None, status="")
        return [self]

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def on_eval(self, record: Record) -> None:
        if self.bar is None:
            typer.echo(f"step {record.step}/{self.total}  {self.status(record)}",
                       err=self.to_stderr)  # fmt: skip
        else:
            self.bar.update(self.task_id, total=self.total, completed=record.step,
                            status=self.status(record))  # fmt: skip

    @staticmethod
    def status(record: Record) -> str:
        shown = [f"loss {number(record.loss)}"]
        for name, value in record.metrics.items():
            # at other lengths (`margin@64`), only what the stop rule looks at
            base, at, _ = name.partition("@")
            if name != "loss" and (not at or base in ("exact_match", "margin")):
                shown.append(f"{name} {number(value)}")
        return "  ".join(shown)
