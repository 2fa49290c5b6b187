"""Progress bars (rich) for training, `seqnet eval` and `seqnet sweep`: live on a terminal,
updated in place in a Jupyter notebook, and silent (or plain lines) when output is a file.

`ProgressBar` is the training callback; `Bar` is the display it and the commands share.
"""

from __future__ import annotations

import importlib
import io
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.progress import Task as BarTask
    from rich.text import Text

    from seqnet.callbacks import Start
    from seqnet.training import Record, Result

NOTEBOOK_EVERY = 0.2
"""Seconds between two redraws of a notebook's bar (each one is a message to the browser)."""


def number(value: Any) -> str:
    """A metric for people: four decimals, or four significant digits when it is huge or tiny
    (a diverged loss of 1e300 is not 300 digits)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    return f"{value:.4f}" if value == 0 or 1e-3 <= abs(value) < 1e6 else f"{value:.4g}"


def in_notebook() -> bool:
    """True inside a Jupyter kernel (rich's test: IPython's ZMQ shell)."""
    from rich.console import Console

    return Console().is_jupyter


def is_terminal(file: TextIO) -> bool:
    try:
        return file.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


def rate_column(unit: str) -> Any:
    """A rich column: `12.3 steps/s` (or per minute, when slower than one a second)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: BarTask) -> Text:
            speed = task.finished_speed or task.speed
            if speed is None:
                return Text(f"- {unit}/s")
            if speed < 1:
                return Text(f"{speed * 60:.1f} {unit}/min")
            return Text(f"{speed:,.1f} {unit}/s" if speed < 100 else f"{speed:,.0f} {unit}/s")

    return Rate()


def two_lines(bar: Bar, *columns: Any, **options: Any) -> Any:
    """A rich Progress that draws its bar on one line and `bar.status` (metrics, which may be
    long) on the lines below, so that neither squeezes the other."""
    from rich.console import Group, RenderableType
    from rich.progress import Progress
    from rich.text import Text

    class TwoLines(Progress):
        def get_renderable(self) -> RenderableType:
            table = self.make_tasks_table(self.tasks)
            return Group(table, Text(bar.status)) if bar.status else table

    return TwoLines(*columns, **options)


class Bar:
    """One progress bar: rich's live bar when `file` is a terminal, a display updated in place
    in a Jupyter notebook, and nothing otherwise (`shown` is False; callers print lines of
    their own there if they want). Shows the label, the bar, done/total (or a percentage),
    the rate in `unit`s per second and the time left; a status text goes on the line below."""

    def __init__(
        self,
        label: str,
        total: float,
        unit: str,
        *,
        file: TextIO | None = None,
        completed: int = 0,
        count: bool = True,
    ) -> None:
        file = file or sys.stderr
        self.notebook = in_notebook()
        self.shown = self.notebook or is_terminal(file)
        self.status = ""
        self.handle: Any = None
        self.drawn = 0.0
        if not self.shown:
            return
        from rich import progress
        from rich.console import Console

        if self.notebook:  # rendered to text here and shown through IPython's display
            console = Console(file=io.StringIO(), width=100, color_system=None,
                              force_jupyter=False)  # fmt: skip
        else:
            console = Console(file=file, force_terminal=True)
        done = progress.MofNCompleteColumn() if count else progress.TaskProgressColumn()
        self.progress = two_lines(
            self,
            progress.TextColumn(label),
            progress.BarColumn(bar_width=30),
            done,
            rate_column(unit),
            progress.TimeRemainingColumn(),
            console=console,
            transient=not self.notebook,  # a notebook keeps the last state as the cell's output
        )
        self.task = self.progress.add_task(label, total=total, completed=completed)
        if self.notebook:
            self.draw()
        else:
            self.progress.start()

    def update(self, completed: float, status: str | None = None) -> None:
        if not self.shown:
            return
        if status is not None:
            self.status = status
        self.progress.update(self.task, completed=completed)
        if self.notebook and time.monotonic() - self.drawn >= NOTEBOOK_EVERY:
            self.draw()

    def draw(self) -> None:
        # IPython ships no types (and is there only inside a notebook)
        display: Any = importlib.import_module("IPython.display").display
        console = self.progress.console
        with console.capture() as captured:
            console.print(self.progress.get_renderable())
        shown = {"text/plain": captured.get().rstrip("\n")}
        if self.handle is None:
            self.handle = display(shown, raw=True, display_id=True)  # updated in place after
        else:
            self.handle.update(shown, raw=True)
        self.drawn = time.monotonic()

    def close(self) -> None:
        if not self.shown:
            return
        self.shown = False
        if self.notebook:
            self.draw()
        else:
            self.progress.stop()


class OnProgress:
    """An `on_progress(done, total)` function that draws a `Bar` (made at the first call,
    when the total is known), for `Run.evaluate` and `seqnet.evaluate_lengths`; closed at
    the end of the `with` block."""

    def __init__(self, label: str, unit: str = "steps", file: TextIO | None = None) -> None:
        self.label, self.unit, self.file = label, unit, file
        self.bar: Bar | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = Bar(self.label, total, self.unit, file=self.file, count=False)
        self.bar.update(done)

    def __enter__(self) -> OnProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def status(record: Record) -> str:
    """The training loss and the held-out metrics of an evaluation, `loss 0.0129  ...`; at
    other lengths (`margin@64`) only what the stop rule looks at."""
    shown = [f"loss {number(record.loss)}"]
    for name, value in record.metrics.items():
        base, at, _ = name.partition("@")
        if name != "loss" and (not at or base in ("exact_match", "margin")):
            shown.append(f"{name} {number(value)}")
    return "  ".join(shown)


class ProgressBar:
    """The training callback that shows progress: steps done of the budget, steps per second
    and time left, with the last evaluation's metrics; live on a terminal and in a notebook.
    When `file` (default stderr) is neither, it prints one line per evaluation instead
    (`step 50/3000  loss 0.7043  ...`), unless `lines` is False."""

    def __init__(self, file: TextIO | None = None, *, lines: bool = True) -> None:
        self.file = file
        self.lines = lines
        self.bar: Bar | None = None
        self.total = 0

    def on_start(self, start: Start) -> None:
        self.total = start.steps
        self.bar = Bar("training", start.steps, "steps", file=self.file, completed=start.step)

    def on_step(self, record: Record) -> None:
        if self.bar is not None and self.bar.shown:
            self.bar.update(record.step)

    def on_eval(self, record: Record) -> None:
        if self.bar is not None and self.bar.shown:
            self.bar.update(record.step, status(record))
        elif self.lines:
            line = f"step {record.step}/{self.total}  {status(record)}"
            print(line, file=self.file or sys.stderr, flush=True)

    def on_end(self, result: Result) -> None:
        self.close()

    def on_error(self, error: BaseException) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


__all__ = ["Bar", "OnProgress", "ProgressBar", "number", "status"]
