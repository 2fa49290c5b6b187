"""Text from a trained character model: `generate`, behind `Run.sample` and `seqnet sample`.

Works with any task that reads one-hot symbols and predicts the next one (input size equals
output size) and has `encode(text) -> ids` and `decode(ids) -> text`, as charlm does.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from threadpoolctl import threadpool_limits

from seqnet.errors import SeqnetError, SpecError
from seqnet.interfaces import Array, Params, Task
from seqnet.model import Sequential

MAX_CHARS = 1_000_000
"""The most symbols one call may generate."""


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


def sample_text(
    model: Sequential,
    params: Params,
    task: Task,
    chars: int,
    temperature: float,
    prime: str | None,
    seed: int,
) -> str:
    """The prime (default: a newline, or the text's first symbol if it has none), then `chars`
    symbols the model adds; each bad argument is one line naming it."""
    if not isinstance(task, Generating) or task.input_size != task.output_size:
        raise SpecError(f"task '{task.name}' does not generate text (try a charlm run)")
    if type(chars) is not int or not 0 <= chars <= MAX_CHARS:
        raise SpecError(f"chars must be a whole number from 0 to {MAX_CHARS:,} (got {chars!r})")
    if not isinstance(temperature, (int, float)) or not 0.0 <= temperature < float("inf"):
        raise SpecError(f"temperature must be a finite number >= 0 (got {temperature!r})")
    if prime is None:
        try:
            task.encode("\n")
            prime = "\n"
        except SeqnetError:  # a text without newlines: start from its first symbol
            prime = task.decode(np.zeros(1, dtype=np.intp))
    if not prime:
        raise SpecError("--prime must hold at least one character")
    try:
        task.encode(prime)
    except SeqnetError as error:
        raise SpecError(f"--prime: {error}") from None
    trained = params["head.W"].shape[1]
    if trained != task.output_size:
        raise SpecError(
            f"the text has {task.output_size} distinct characters now, the model was trained on"
            f" {trained}: has the file changed since training?"
        )
    with threadpool_limits(1):  # one step at a time: tiny matrices
        rng = np.random.default_rng(seed)
        return prime + generate(model, params, task, prime, chars, float(temperature), rng)
