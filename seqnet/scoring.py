"""Scoring and predicting a FileData task's files in a stream: one batch in memory at a time,
metrics summed exactly across batches, predictions written one JSON line per sequence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from seqnet.atomic import atomic_file
from seqnet.errors import SpecError
from seqnet.interfaces import FileData, Params
from seqnet.lengths import forward_chunked
from seqnet.losses import get_loss
from seqnet.model import Sequential, cast_batch

BATCH = 256
"""Sequences scored per forward pass."""


def score_file(
    model: Sequential, params: Params, task: FileData, path: Path | None, batch: int = BATCH
) -> dict[str, float]:
    """The loss (per scored step) and the task's metrics over every sequence of `path` (the
    task's test part when None), and how many sequences there were."""
    loss_fn = get_loss(task.loss)  # type: ignore[attr-defined]
    totals: dict[str, float] = {}
    loss_sum, scored, sequences = 0.0, 0.0, 0
    for raw in task.read(path, batch):
        data = cast_batch(raw, model.dtype)
        logits = forward_chunked(model, params, data.x)
        loss, _ = loss_fn(logits, data.y, data.mask)
        weight = float(data.mask.sum())
        loss_sum += loss * weight
        scored += weight
        sequences += data.x.shape[1]
        for name, value in task.totals(logits, data).items():
            totals[name] = totals.get(name, 0.0) + value
    if not sequences:
        raise SpecError(f"'{path}' holds no sequences to score")
    return {"loss": loss_sum / scored, **task.finish(totals), "sequences": float(sequences)}


def predict_file(
    model: Sequential, params: Params, task: FileData, path: Path, batch: int = BATCH
) -> Iterator[dict[str, Any]]:  # fmt: skip
    """One prediction per sequence of `path`, in order, computed a batch at a time."""
    for raw in task.read(path, batch, targets=False):
        logits = forward_chunked(model, params, cast_batch(raw, model.dtype).x)
        yield from task.predictions(logits, raw)


def write_lines(rows: Iterator[dict[str, Any]], out: Path) -> int:
    """`rows` as JSON Lines in `out`, whole or not at all (a bad line leaves no file)."""
    count = 0
    with atomic_file(out) as f:
        for row in rows:
            f.write((json.dumps(row) + "\n").encode("utf-8"))
            count += 1
    return count
