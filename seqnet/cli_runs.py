"""Commands on run folders: `resume`, `eval`, `predict`, `plot`, and the training shared with `run`.

Registered on `seqnet.cli.app` when seqnet.cli imports this module (at its end).
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from seqnet.cli import ProgressDisplay, SetOpt, app, fail, friendly, summary_line

if TYPE_CHECKING:
    from seqnet.checkpoint import Checkpoint
    from seqnet.rundir import RunDir
    from seqnet.runner import Parts
    from seqnet.specs import RunSpec

DirArg = Annotated[
    Path, typer.Argument(metavar="DIR", help="A run folder (from seqnet run --out).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no examples.")]


class StopOnSignal:
    """While training: the first Ctrl-C or SIGTERM asks the loop to stop after the current step
    (it saves a checkpoint first); a second one stops at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.received: int | None = None
        self.previous: dict[int, Any] = {}

    def __call__(self) -> bool:
        return self.received is not None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signum

    def __enter__(self) -> StopOnSignal:
        try:
            for sig in self.SIGNALS:
                self.previous[sig] = signal.signal(sig, self.handle)
        except ValueError:  # not the main thread: leave the signals alone
            pass
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            # once stopping, the process is on its way out: a late Ctrl-C must not cut the
            # exit short with a traceback from interpreter shutdown
            signal.signal(sig, signal.SIG_IGN if self.received else handler)


def train_folder(
    folder: RunDir,
    spec: RunSpec,
    quiet: bool,
    as_json: bool,
    resume_from: Checkpoint | None,
    parts: Parts | None = None,
    until: int | None = None,
) -> None:
    """Train into `folder`, show progress and the result; turn a stop into a saved checkpoint."""
    from seqnet import checkpoint
    from seqnet.errors import NonFiniteError
    from seqnet.rundir import quoted, train_in
    from seqnet.training import Interrupted

    try:
        with StopOnSignal() as stop, ProgressDisplay(spec, quiet, as_json) as on_log:
            result, summary, _ = train_in(
                folder,
                spec,
                resume_from=resume_from,
                on_log=on_log,
                stop_requested=stop,
                parts=parts,
                until=until,
            )
    except Interrupted as stopped:
        typer.echo(f"interrupted after step {stopped.step}; checkpoint saved in {folder.path}",
                   err=True)  # fmt: skip
        typer.echo(f"resume with: seqnet resume {quoted(folder.path)}", err=True)
        raise typer.Exit(130) from None
    except NonFiniteError as error:
        kept = checkpoint.load(folder.checkpoint_path).step
        typer.echo(f"error: {error}", err=True)
        typer.echo(f"the last good checkpoint (step {kept}) is in {folder.path}", err=True)
        raise typer.Exit(1) from None
    # with --json, stdout holds the JSON object alone (so `| jq` works); the rest is on stderr
    if not quiet:
        for line in result.examples:
            typer.echo(f"  {line}", err=as_json)
        typer.echo(summary_line(summary, result.reached_target, spec), err=as_json)
    typer.echo(f"run folder: {folder.path}", err=as_json or quiet)
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
    from seqnet import specs
    from seqnet.atomic import write_atomic
    from seqnet.rundir import SPEC, RunDir

    with RunDir.owned(folder, "resume") as run_dir:
        if not run_dir.checkpoint_path.exists():  # stopped before its first checkpoint
            spec = run_dir.spec_file()
            train_folder(run_dir, spec, quiet, as_json, None, until=steps)
            return
        ckpt, spec = run_dir.load()
        spec = run_dir.check_spec_file(spec)
        budget = spec.train.steps
        if ckpt.loop["reached"] and steps is None:
            raise fail(
                f"the run in {run_dir.path} is finished: it reached its target at step"
                f" {ckpt.step}; pass --steps N to train on (it stops at the next evaluation"
                " that reaches the target)",
                2,
            )
        if steps is None and ckpt.step >= budget:
            raise fail(f"the run's budget of {budget} steps is spent; pass --steps N", 2)
        until = budget if steps is None else ckpt.step + steps
        if until > budget:
            spec = spec.model_copy(update={"train": spec.train.model_copy(update={"steps": until})})
            write_atomic(run_dir.path / SPEC, specs.dump(spec, "yaml"))
        train_folder(run_dir, spec, quiet, as_json, ckpt, until=until)


def parse_lengths(text: str) -> list[int]:
    if len(text) > 1000:
        raise fail(f"--lengths is {len(text):,} characters long; at most 1,000", 2)
    try:
        lengths = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise fail(
            f"--lengths must be whole numbers separated by commas (got '{text}')", 2
        ) from None
    if not lengths or min(lengths) < 1:
        raise fail(f"--lengths must be positive whole numbers (got '{text}')", 2)
    return lengths


@app.command("eval")
@friendly
def eval_command(
    folder: DirArg,
    lengths: Annotated[
        str | None,
        typer.Option(
            metavar="N,N,...",
            help="Lengths to score (default: the trained length).",
            show_default=False,
        ),
    ] = None,
    samples: Annotated[
        int,
        typer.Option(min=1, max=10_000_000, metavar="N", help="Fresh sequences per length."),
    ] = 1000,
    seed: Annotated[int, typer.Option(min=0, metavar="N", help="Seed of the fresh data.")] = 0,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score a trained run at other lengths on fresh data, with the task's own metrics (each
    the mean over all the sequences scored)."""
    from threadpoolctl import threadpool_limits

    from seqnet import specs
    from seqnet.errors import SpecError
    from seqnet.lengths import evaluate_lengths, length_option
    from seqnet.plugins import default_registry
    from seqnet.rundir import RunDir
    from seqnet.runner import build

    registry = default_registry()
    ckpt, spec = RunDir.open(folder).load(registry)
    parsed = [specs.parse_override(text) for text in set_ or []]
    for path, _ in parsed:
        if not path.startswith("task.") or path == "task.name":
            raise SpecError(f"eval can change task options only (task.<option>), not '{path}'")
    task_cls = registry.get("task", spec.task.name).cls
    key = length_option(task_cls)
    asked: list[int | None] = list(parse_lengths(lengths)) if lengths else [None]
    table_specs = []
    for asked_length in asked:  # each length with --set, validated together by the task's Spec
        given = parsed
        if asked_length is not None:  # --lengths wins over a --set of the same option
            given = [(p, v) for p, v in parsed if p != f"task.{key}"]
            given.append((f"task.{key}", asked_length))
        table_specs.append(
            specs.resolve(specs.apply_overrides(ckpt.spec, given, registry), registry)
        )
    parts = build(spec, registry)  # the trained model; each length's task is made in turn
    options = table_specs[0].options("task")
    wanted = [int(s.options("task")[key]) for s in table_specs]
    with threadpool_limits(1):  # tiny matrices: one BLAS thread is the fastest
        table = evaluate_lengths(parts.model, ckpt.params, task_cls, options, wanted, samples, seed)
    if as_json:  # 12 significant digits: no float noise (0.12799999999999997)
        rounded = {n: {k: float(f"{v:.12g}") for k, v in row.items()} for n, row in table.items()}
        typer.echo(json.dumps({"lengths": rounded}))
        return
    names = sorted({name for row in table.values() for name in row} - {"loss"})
    typer.echo("  ".join([f"{key:>8}", *(f"{n:>13}" for n in names)]))
    for length, row in table.items():
        typer.echo("  ".join([f"{length:>8}", *(f"{row[n]:>13.6f}" for n in names)]))


@app.command()
@friendly
def predict(
    folder: DirArg,
    words: Annotated[
        list[str], typer.Argument(metavar="INPUT...", help="The task's input, e.g. 12345 67890.")
    ],
) -> None:
    """Run a trained model on your own input: `seqnet predict DIR 12345 67890` prints 80235."""
    from seqnet.interfaces import Predicting
    from seqnet.rundir import RunDir
    from seqnet.runner import build
    from seqnet.training import cast_batch

    ckpt, spec = RunDir.open(folder).load()
    parts = build(spec)
    if not isinstance(parts.task, Predicting):
        raise fail(f"task '{spec.task.name}' cannot read input (it has no parse/format)", 2)
    try:
        batch = cast_batch(parts.task.parse(list(words)), parts.model.dtype)
    except ValueError as error:
        raise fail(str(error), 2) from None
    from seqnet.lengths import forward_chunked

    logits = forward_chunked(parts.model, ckpt.params, batch.x)
    for line in parts.task.format(logits, batch):
        typer.echo(line)


@app.command()
@friendly
def plot(
    folder: DirArg,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR", help="Where to write PNGs (default DIR/plots).", show_default=False
        ),
    ] = None,
    length: Annotated[
        int,
        typer.Option(
            min=1, max=1000, metavar="N", help="Length of the example the hidden plot shows."
        ),
    ] = 48,
) -> None:
    """Draw a run: learning curves, and the hidden activations across one long example."""
    from seqnet.plots import PlotError, matplotlib_or_fail, plot_run
    from seqnet.rundir import RunDir

    run_dir = RunDir.open(folder)
    try:
        matplotlib_or_fail()
    except PlotError as error:
        raise fail(str(error), 2) from None
    target = out or run_dir.path / "plots"
    if run_dir.path.resolve() in (target.resolve(), *target.resolve().parents):
        run_dir.claim("plot")  # it writes into the run folder: no run may write there meanwhile
    with run_dir:
        for path in plot_run(run_dir, target, length):
            typer.echo(str(path))
