"""Training commands: `run` a spec into a new folder, `resume` a run folder; and the training
loop they share (progress, Ctrl-C, the result lines)."""

from __future__ import annotations

import json
import sys
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from seqnet.cli.app import SignalScope, app, friendly
from seqnet.cli.display import summary_line
from seqnet.cli.options import DirArg, JsonOpt, QuietOpt, SetOpt, SpecArg, opt, overrides

if TYPE_CHECKING:
    from seqnet.runs import Run


@app.command()
@friendly
def run(
    spec: SpecArg,
    cell: Annotated[str | None, opt("Recurrent cell (model.cell), e.g. elman.", "NAME")] = None,
    hidden: Annotated[str | None, opt("Hidden units per layer (model.hidden).", "N")] = None,
    layers: Annotated[str | None, opt("Stacked recurrent layers (model.layers).", "N")] = None,
    dropout: Annotated[
        str | None, opt("Dropout between stacked layers (model.dropout), e.g. 0.2.", "P")
    ] = None,
    steps: Annotated[str | None, opt("Maximum training steps (train.steps).", "N")] = None,
    batch: Annotated[str | None, opt("Sequences per step (train.batch).", "N")] = None,
    lr: Annotated[str | None, opt("Learning rate (optimizer.lr).", "RATE")] = None,
    optimizer: Annotated[str | None, opt("Optimizer (optimizer.name), e.g. adam.", "NAME")] = None,
    seed: Annotated[str | None, opt("Root seed of every random stream (train.seed).", "N")] = None,
    set_: SetOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object, last line.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress and no examples.")
    ] = False,
    out: Annotated[
        str | None,
        opt(
            "Run folder for spec, metrics, checkpoint and summary"
            " (default runs/<task>-<cell>-<timestamp>).",
            "DIR",
        ),
    ] = None,
) -> None:
    """Train a model on a task until it is solved or the step budget runs out.

    Everything lands in a run folder; Ctrl-C saves a checkpoint to `seqnet resume` from.
    """
    from seqnet.runs import Run

    flags = {"cell": cell, "hidden": hidden, "layers": layers, "dropout": dropout, "steps": steps,
             "batch": batch, "lr": lr, "optimizer": optimizer, "seed": seed}  # fmt: skip
    with Run.create(spec, out or None, settings=overrides(flags, set_)) as made:
        train_and_show(made, None, quiet, as_json)


class StopOnSignal(SignalScope):
    """While training: the first Ctrl-C or SIGTERM asks the loop to stop after the current step
    (it saves a checkpoint first); a second one stops at once."""

    def __init__(self) -> None:
        self.received: int | None = None

    def __call__(self) -> bool:
        return self.received is not None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signum


def train_and_show(run: Run, steps: int | None, quiet: bool, as_json: bool) -> None:
    """Train, show progress and the result; turn a stop into a saved checkpoint."""
    from seqnet import checkpoint
    from seqnet.errors import NonFiniteError
    from seqnet.progress import ProgressBar
    from seqnet.rundir import quoted
    from seqnet.training import Interrupted

    # with --json, stdout holds the JSON object alone: progress goes to stderr
    shown = [] if quiet else [ProgressBar(sys.stderr if as_json else sys.stdout)]
    try:
        with StopOnSignal() as stop:
            result = run.train(steps, callbacks=shown, stop_requested=stop)
    except Interrupted as stopped:
        typer.echo(f"interrupted after step {stopped.step}; checkpoint saved in {run.path}",
                   err=True)  # fmt: skip
        typer.echo(f"resume with: seqnet resume {quoted(run.path)}", err=True)
        raise typer.Exit(130) from None
    except NonFiniteError as error:
        kept = checkpoint.load(run.folder.checkpoint_path).step
        typer.echo(f"error: {error}", err=True)
        typer.echo(f"the last good checkpoint (step {kept}) is in {run.path}", err=True)
        raise typer.Exit(1) from None
    # with --json, stdout holds the JSON object alone (so `| jq` works); the rest is on stderr
    summary = run.summary
    if not quiet:
        for line in result.examples:
            typer.echo(f"  {line}", err=as_json)
        typer.echo(summary_line(summary, result.reached_target, run.spec), err=as_json)
    typer.echo(f"run folder: {run.path}", err=as_json or quiet)
    if as_json:
        typer.echo(json.dumps(summary))


@app.command()
@friendly
def resume(
    folder: DirArg,
    steps: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Train N more steps (default: what is left of train.steps).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Continue a run from its checkpoint, exactly as if it had never stopped.

    --steps N trains N more steps now and leaves the run's budget (train.steps) as it was,
    unless N goes past it.
    """
    from seqnet.runs import Run

    with Run.open(folder) as opened:
        train_and_show(opened, steps, quiet, as_json)
