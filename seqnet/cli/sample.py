"""`seqnet sample DIR`: text from a trained character model (`Run.sample`, seqnet.generate)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from seqnet.cli.app import app, friendly
from seqnet.cli.options import CheckpointOpt, which_checkpoint

if TYPE_CHECKING:
    pass


@app.command()
@friendly
def sample(
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="A run folder of a character model (charlm).")
    ],
    chars: Annotated[
        int, typer.Option(min=0, max=1_000_000, metavar="N", help="Characters to generate.")
    ] = 300,
    temperature: Annotated[
        float,
        typer.Option(
            min=0.0,
            metavar="T",
            help="Below 1 plays safe, above 1 takes chances; 0 always takes the likeliest.",
        ),
    ] = 0.8,
    prime: Annotated[
        str | None,
        typer.Option(
            metavar="TEXT",
            help="Text the model reads before it writes (default: a newline, or the first"
            " symbol of the text if it has none).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, metavar="N", help="Seed of the draws.")] = 0,
    checkpoint: CheckpointOpt = None,
) -> None:
    """Write text with a trained character model: the prime, then what the model adds."""
    from seqnet.runs import Run

    run = Run.open(folder, checkpoint=which_checkpoint(checkpoint))
    typer.echo(run.sample(chars, temperature, prime, seed))
