"""Commands that read a trained run folder: `eval`, `predict`, `plot`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from seqnet.cli.app import app, fail, friendly
from seqnet.cli.options import CheckpointOpt, DataOpt, DirArg, JsonOpt, SetOpt, which_checkpoint

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
    from seqnet.progress import OnProgress
    from seqnet.runs import Run

    run = Run.open(folder, checkpoint=which_checkpoint(checkpoint))
    asked = parse_lengths(lengths) if lengths else None
    with OnProgress("evaluating") as on_progress:  # a bar on stderr, on a terminal only
        scores = run.evaluate(asked, samples, seed, data, set_ or [], on_progress)
    if "data" in scores:
        show_scores(scores, as_json)
    elif "heldout" in scores:
        show_heldout(run.spec.task.name, scores, as_json)
    else:
        show_lengths(run.spec.task.name, scores, as_json)


def show_lengths(task: str, scores: dict[str, Any], as_json: bool) -> None:
    """A row per length (and their mean, with several), or the JSON object."""
    table, mean = scores["lengths"], scores["mean"]
    if as_json:  # 12 significant digits: no float noise (0.12799999999999997)
        rounded = {n: {k: float(f"{v:.12g}") for k, v in row.items()} for n, row in table.items()}
        mean_rounded = {k: float(f"{v:.12g}") for k, v in mean.items()}
        typer.echo(json.dumps({"lengths": rounded, "mean": mean_rounded}))
        return
    from seqnet.lengths import length_option
    from seqnet.plugins import default_registry

    key = length_option(default_registry().get("task", task).cls)
    names = list(mean)
    typer.echo("  ".join([f"{key:>8}", *(f"{n:>13}" for n in names)]))
    rows = [*table.items(), ("mean", mean)] if len(table) > 1 else list(table.items())
    for length, row in rows:
        typer.echo("  ".join([f"{length:>8}", *(f"{row[n]:>13.6f}" for n in names)]))


def show_heldout(task: str, scores: dict[str, Any], as_json: bool) -> None:
    held = scores["heldout"]
    if as_json:
        typer.echo(json.dumps({"heldout": {k: float(f"{v:.12g}") for k, v in held.items()}}))
        return
    count = scores["sequences"]
    typer.echo(f"{task} held-out data, {count} sequence{'s' if count != 1 else ''}:")
    for name, value in held.items():
        typer.echo(f"  {name:>16}  {value:.6f}")


def show_scores(scores: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(scores))
        return
    typer.echo(f"{scores['data']}: {int(scores['sequences'])} sequences")
    for name, value in scores.items():
        if name not in ("data", "sequences"):
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
    from seqnet.runs import Run

    run = Run.open(folder, checkpoint=which_checkpoint(checkpoint))
    if data is not None or out is not None:
        if data is None or words:
            raise fail("--data FILE predicts a file's lines; give it (and no INPUT words)", 2)
        if out is not None and out.is_dir():
            raise fail(f"--out {out}: is a folder; give the file to write", 2)
        if out is not None and not out.parent.is_dir():  # before any line is predicted
            raise fail(f"--out {out}: no folder {out.parent} to write it in", 2)
        rows = run.predict_file(data)
        if out is None:
            for row in rows:
                typer.echo(json.dumps(row))
        else:
            from seqnet.scoring import write_lines

            count = write_lines(rows, out)
            typer.echo(f"{count} predictions written to {out}", err=True)
        return
    if not words:
        raise fail("give the input to predict (INPUT...), or --data FILE", 2)
    for line in run.predict(words):
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
    from seqnet.runs import Run

    for path in Run.open(folder).plot(out, length, seed):
        typer.echo(str(path))
