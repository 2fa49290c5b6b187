"""`seqnet sample DIR`: text from a trained character model, and `generate`, the call behind it.

Works with any task that reads one-hot symbols and predicts the next one (input size equals
output size) and has `encode(text) -> ids` and `decode(ids) -> text`, as charlm does.
Registered on `seqnet.cli.app.app` when seqnet.cli imports this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol, runtime_checkable

import typer

from seqnet.cli.app import app, fail, friendly
from seqnet.cli.options import CheckpointOpt, which_checkpoint

if TYPE_CHECKING:
    import numpy as np

    from seqnet.interfaces import Array, Params
    from seqnet.model import Sequential


@runtime_checkable
class Generating(Protocol):
    """Optional task methods behind `seqnet sample`: text to symbol ids and back."""

    def encode(self, text: str) -> Array: ...

    def decode(self, ids: Array) -> str: ...


def generate(
    model: Sequential,
    params: Params,
    task: Generating,
    prime: str,
    count: int,
    temperature: float,
    rng: np.random.Generator,
) -> str:
    """`count` symbols after `prime`, each drawn from softmax(logits / temperature) and fed
    back as the next input; temperature 0 takes the most likely symbol every time."""
    import numpy as np

    ids = task.encode(prime)
    logits, carries, _ = model.forward(params, ids.astype(np.int64)[:, None])  # (T, 1, V)
    drawn = []
    for _ in range(count):
        last = logits[-1, 0].astype(np.float64)  # (V,)
        if temperature == 0.0:
            symbol = int(last.argmax())
        else:
            z = last / temperature
            p = np.exp(z - z.max())
            symbol = int(rng.choice(len(p), p=p / p.sum()))
        drawn.append(symbol)
        logits, carries, _ = model.forward(params, np.array([[symbol]]), carries)
    return task.decode(np.array(drawn, dtype=np.intp))


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
    import numpy as np
    from threadpoolctl import threadpool_limits

    from seqnet.errors import SeqnetError
    from seqnet.rundir import RunDir
    from seqnet.runner import build

    ckpt, spec = RunDir.open(folder).load(which=which_checkpoint(checkpoint))
    parts = build(spec)
    task = parts.task
    if not isinstance(task, Generating) or task.input_size != task.output_size:
        raise fail(f"task '{spec.task.name}' does not generate text (try a charlm run)", 2)
    if prime is None:
        try:
            task.encode("\n")
            prime = "\n"
        except SeqnetError:  # a text without newlines: start from its first symbol
            prime = task.decode(np.zeros(1, dtype=np.intp))
    if not prime:
        raise fail("--prime must hold at least one character", 2)
    try:
        task.encode(prime)
    except SeqnetError as error:
        raise fail(f"--prime: {error}", 2) from None
    trained = ckpt.params["head.W"].shape[1]
    if trained != task.output_size:
        raise fail(
            f"the text has {task.output_size} distinct characters now, the model was trained on"
            f" {trained}: has the file changed since training?",
            2,
        )
    with threadpool_limits(1):  # one step at a time: tiny matrices
        text = generate(
            parts.model,
            ckpt.params,
            task,
            prime,
            chars,
            temperature,
            np.random.default_rng(seed),
        )
    typer.echo(prime + text)
