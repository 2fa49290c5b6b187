"""Evaluation at other lengths: fresh samples, scored in pieces so 100,000 steps fit in memory.

A task says which of its options is the length through `length_option` (binadd: `bits`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seqnet.errors import SpecError
from seqnet.interfaces import Array, Carry, Params, Task
from seqnet.model import Sequential
from seqnet.training import cast_batch

ELEMENTS = 2_000_000
"""Sequences are drawn in groups of about ELEMENTS / T, so a batch stays near 100 MB."""
TIME_CHUNK = 4096
"""The model runs this many steps at a time, carrying its state across chunks."""


def length_option(task_cls: type[Any]) -> str:
    name = getattr(task_cls, "length_option", None)
    if not isinstance(name, str):
        raise SpecError(f"task '{task_cls.name}' does not say which option is its length")
    return name


def forward_chunked(model: Sequential, params: Params, x: Array) -> Array:
    """Logits (T, B, V) for x (T, B, D), TIME_CHUNK steps at a time (the same numbers)."""
    carries: list[Carry] | None = None
    pieces = []
    for start in range(0, x.shape[0], TIME_CHUNK):
        logits, carries, _ = model.forward(params, x[start : start + TIME_CHUNK], carries)
        pieces.append(logits)
    return np.concatenate(pieces) if len(pieces) > 1 else pieces[0]


def evaluate_length(
    model: Sequential, params: Params, task: Task, samples: int, rng: np.random.Generator
) -> dict[str, float]:
    """The task's metrics over `samples` fresh sequences, averaged over groups by group size
    (exact for metrics that are means over sequences of equal scored length)."""
    totals: dict[str, float] = {}
    done, group = 0, 1  # one sequence first, to learn T; then groups of about ELEMENTS / T
    while done < samples:
        batch = cast_batch(task.sample(rng, min(group, samples - done)), model.dtype)
        n = batch.x.shape[1]
        logits = forward_chunked(model, params, batch.x)
        for name, value in task.metrics(logits, batch).items():
            totals[name] = totals.get(name, 0.0) + value * n
        done += n
        group = max(1, ELEMENTS // batch.x.shape[0])
    return {name: total / done for name, total in totals.items()}


def evaluate_lengths(
    model: Sequential,
    params: Params,
    task_cls: type[Any],
    options: dict[str, Any],
    lengths: list[int],
    samples: int,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """{str(length): metrics} on fresh data: one generator per length from (seed, length)."""
    key = length_option(task_cls)
    out: dict[str, dict[str, float]] = {}
    for length in lengths:
        task = task_cls(**{**options, key: length})
        rng = np.random.default_rng([seed, length])
        out[str(length)] = evaluate_length(model, params, task, samples, rng)
    return out
