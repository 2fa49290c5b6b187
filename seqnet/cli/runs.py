"""Commands that read a trained run folder: `eval`, `predict`, `plot`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from seqnet.cli.app import app, fail, friendly
from seqnet.cli.options import CheckpointOpt, DataOpt, DirArg, JsonOpt, SetOpt, which_checkpoint

if TYPE_CHECKING:
    from seqnet.runner import Parts
    from seqnet.specs import RunSpec


MAX_LENGTHS = 100_000
"""The most lengths one `--lengths` may name (ranges included)."""


def parse_lengths(text: str) -> list[int]:
    """`8,64,1024` or ranges `41-500` (both ends included), mixed: `8,41-500`."""
    if len(text) > 1000:
        raise fail(f"--lengths is {len(text):,} characters long; at most 1,000", 2)
    bad = (
        "--lengths must be positive whole numbers or ranges A-B, separated by commas"
        f" (got '{text}')"
    )
    lengths: list[int] = []
    try:
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            low, dash, high = part.partition("-")
            first, last = int(low), int(high if dash else low)
            if first < 1 or last < first or len(lengths) + last - first + 1 > MAX_LENGTHS:
                raise ValueError
            lengths += range(first, last + 1)
    except ValueError:
        raise fail(bad, 2) from None
    if not lengths:
        raise fail(bad, 2)
    return lengths


@app.command("eval")
@friendly
def eval_command(
    folder: DirArg,
    lengths: Annotated[
        str | None,
        typer.Option(
            metavar="N,N,...",
            help="Lengths to score, e.g. 41,100,500 or 41-500 (default: the trained length);"
            " with several, a last row gives the mean over them.",
            show_default=False,
        ),
    ] = None,
    samples: Annotated[
        int,
        typer.Option(min=1, max=10_000_000, metavar="N", help="Fresh sequences per length."),
    ] = 1000,
    seed: Annotated[int, typer.Option(min=0, metavar="N", help="Seed of the fresh data.")] = 0,
    data: DataOpt = None,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
    checkpoint: CheckpointOpt = None,
) -> None:
    """Score a trained run at other lengths on fresh data: each of the task's metrics (the mean
    over every sequence scored); or a data file (--data FILE; a run of a task that reads files
    scores its test part by default)."""
    from threadpoolctl import threadpool_limits

    from seqnet import overrides, specs
    from seqnet.errors import SpecError
    from seqnet.interfaces import FileData
    from seqnet.lengths import evaluate_lengths, length_option
    from seqnet.plugins import default_registry
    from seqnet.progress import Bar
    from seqnet.rundir import RunDir
    from seqnet.runner import build
    from seqnet.scoring import score_file

    registry = default_registry()
    ckpt, spec = RunDir.open(folder).load(registry, which_checkpoint(checkpoint))
    parsed = [overrides.parse_override(text) for text in set_ or []]
    for path, _ in parsed:
        if not path.startswith("task.") or path == "task.name":
            raise SpecError(f"eval can change task options only (task.<option>), not '{path}'")
    trained = spec
    key_name = f"task.{length_option(registry.get('task', spec.task.name).cls)}" if lengths else ""
    asked = parse_lengths(lengths) if lengths else []
    # --lengths is applied before --set is validated (and wins over a --set of the same
    # option); the task's Spec checks the shortest and the longest length asked
    kept = [(p, v) for p, v in parsed if p != key_name]
    ends = sorted({min(asked), max(asked)}) if asked else []
    checked = [
        specs.resolve(
            overrides.apply_overrides(ckpt.spec, [*kept, (key_name, n)], registry), registry
        )
        for n in ends
    ]
    if checked:
        spec = checked[0]
    else:
        spec = specs.resolve(overrides.apply_overrides(ckpt.spec, parsed, registry), registry)
    if not asked:
        parts = build(spec, registry)
        if isinstance(parts.task, FileData):
            with threadpool_limits(1):
                scores = score_file(parts.model, ckpt.params, parts.task, data)
            show_scores(scores, data, as_json)
            return
        if getattr(type(parts.task), "length_option", None) is None and data is None:
            show_heldout(parts, ckpt.params, spec, samples, seed, as_json)
            return
    if data is not None:
        raise fail(f"task '{spec.task.name}' does not read data files; --data is for those", 2)
    parts = build(trained, registry)  # the trained model; each length's task is made in turn
    task_cls = type(parts.task)
    key = length_option(task_cls)
    options = spec.options("task")
    wanted = asked or [int(options[key])]
    bar = Bar("evaluating", samples * sum(wanted), "steps", count=False)  # stderr, if a terminal
    try:
        with threadpool_limits(1):  # tiny matrices: one BLAS thread is the fastest
            table = evaluate_lengths(
                parts.model, ckpt.params, task_cls, options, wanted, samples, seed,
                on_progress=lambda done, _: bar.update(done),
            )  # fmt: skip
    finally:
        bar.close()
    names = sorted({name for row in table.values() for name in row} - {"loss"})
    # each length weighs the same (the score of Delétang et al. 2023 over lengths 41..500)
    mean = {n: sum(row[n] for row in table.values()) / len(table) for n in names}
    if as_json:  # 12 significant digits: no float noise (0.12799999999999997)
        rounded = {n: {k: float(f"{v:.12g}") for k, v in row.items()} for n, row in table.items()}
        mean_rounded = {k: float(f"{v:.12g}") for k, v in mean.items()}
        typer.echo(json.dumps({"lengths": rounded, "mean": mean_rounded}))
        return
    typer.echo("  ".join([f"{key:>8}", *(f"{n:>13}" for n in names)]))
    rows = [*table.items(), ("mean", mean)] if len(table) > 1 else list(table.items())
    for length, row in rows:
        typer.echo("  ".join([f"{length:>8}", *(f"{row[n]:>13.6f}" for n in names)]))


def show_heldout(
    parts: Parts, params: Any, spec: RunSpec, samples: int, seed: int, as_json: bool
) -> None:
    """Score a task without a length (charlm) on its held-out data: the task's `heldout` (the
    tail of charlm's text; `--set task.path=FILE` for another file), else fresh samples."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from seqnet.lengths import forward_chunked
    from seqnet.losses import get_loss
    from seqnet.training import cast_batch, heldout

    task, model = parts.task, parts.model
    trained = params["head.W"].shape[-1] if "head.W" in params else task.output_size
    if task.output_size != trained or model.input_size != task.input_size:
        raise fail(
            f"the task now has {task.output_size} outputs, the model was trained on {trained}"
            " (a text with other characters?)",
            2,
        )
    with threadpool_limits(1):
        batch = cast_batch(heldout(task, np.random.default_rng(seed), samples), model.dtype)
        logits = forward_chunked(model, params, batch.x)
        loss, _ = get_loss(task.loss)(logits, batch.y, batch.mask)
        scores = {"loss": float(loss), **task.metrics(logits, batch)}
    if as_json:
        typer.echo(json.dumps({"heldout": {k: float(f"{v:.12g}") for k, v in scores.items()}}))
        return
    count = batch.x.shape[1]
    typer.echo(f"{spec.task.name} held-out data, {count} sequence{'s' if count != 1 else ''}:")
    for name, value in scores.items():
        typer.echo(f"  {name:>16}  {value:.6f}")


def show_scores(scores: dict[str, float], data: Path | None, as_json: bool) -> None:
    where = str(data) if data is not None else "the test part"
    if as_json:
        typer.echo(json.dumps({"data": where, **scores}))
        return
    typer.echo(f"{where}: {int(scores['sequences'])} sequences")
    for name, value in scores.items():
        if name != "sequences":
            typer.echo(f"  {name:>12}  {value:.6f}")


@app.command()
@friendly
def predict(
    folder: DirArg,
    words: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[INPUT...]", help="The task's input, e.g. 12345 67890.", show_default=False
        ),
    ] = None,
    data: DataOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="With --data: write the predictions here, one JSON line per input line"
            " (default: print them).",
            show_default=False,
        ),
    ] = None,
    checkpoint: CheckpointOpt = None,
) -> None:
    """Run a trained model on your own input: `seqnet predict DIR 12345 67890` prints 80235;
    `seqnet predict DIR --data FILE --out predictions.jsonl` predicts every line of a file."""
    from seqnet.interfaces import FileData, Predicting
    from seqnet.rundir import RunDir
    from seqnet.runner import build
    from seqnet.training import cast_batch

    ckpt, spec = RunDir.open(folder).load(which=which_checkpoint(checkpoint))
    parts = build(spec)
    if data is not None or out is not None:
        if data is None or words:
            raise fail("--data FILE predicts a file's lines; give it (and no INPUT words)", 2)
        if not isinstance(parts.task, FileData):
            raise fail(f"task '{spec.task.name}' does not read data files; --data is for those", 2)
        from seqnet.scoring import predict_file, write_lines

        rows = predict_file(parts.model, ckpt.params, parts.task, data)
        if out is None:
            for row in rows:
                typer.echo(json.dumps(row))
        else:
            count = write_lines(rows, out)
            typer.echo(f"{count} predictions written to {out}", err=True)
        return
    if not words:
        raise fail("give the input to predict (INPUT...), or --data FILE", 2)
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
    seed: Annotated[
        int, typer.Option(min=0, metavar="N", help="Seed of that example (as in seqnet eval).")
    ] = 0,
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
        for path in plot_run(run_dir, target, length, seed):
            typer.echo(str(path))
