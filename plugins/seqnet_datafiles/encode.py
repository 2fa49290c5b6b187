"""Records to padded, time-major batches (inputs, targets, masks), and length buckets that keep
a training batch's padding under a quarter of its steps."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqnet import Array, Batch, DataError
from seqnet_datafiles.files import fail
from seqnet_datafiles.records import Record, Schema

MAX_PADDING = 0.25
"""A training batch's padded steps stay below this share of its steps."""


def bucket_starts(longest: int) -> Array:
    """The shortest length of each bucket: a bucket [lo, hi] keeps 3·hi < 4·lo, so a batch
    from one bucket pads at most 1 - lo/hi < 1/4 of its steps."""
    starts = [1]
    while starts[-1] <= longest:
        lo = starts[-1]
        starts.append(-(-4 * lo // 3))  # ceil(4 lo / 3)
    return np.array(starts[:-1], dtype=np.int64)


def padding(steps: Array) -> float:
    """The share of a batch's steps that are padding, for sequences of these lengths."""
    return 1.0 - float(steps.sum()) / (len(steps) * float(steps.max()))


def spans(start: Array, length: Array) -> tuple[Array, Array]:
    """(time, line) of the steps start[i] .. start[i] + length[i] - 1 of every line i."""
    line = np.repeat(np.arange(len(length)), length)
    first = np.cumsum(length) - length  # where each line's steps begin in the flat order
    return start[line] + np.arange(int(length.sum())) - first[line], line


class Buckets:
    """Training lines grouped by length; `draw` picks a line uniformly, then the rest of the
    batch from its bucket (with replacement), so every line is equally likely to be drawn."""

    def __init__(self, steps: Array) -> None:
        self.of = np.searchsorted(bucket_starts(int(steps.max())), steps, side="right") - 1
        self.order = np.argsort(self.of, kind="stable")  # lines, bucket by bucket
        self.first = np.searchsorted(self.of[self.order], np.arange(self.of.max() + 2))

    def draw(self, rng: np.random.Generator, batch: int) -> Array:
        anchor = int(rng.integers(len(self.of)))
        b = self.of[anchor]
        lo, hi = self.first[b], self.first[b + 1]
        chosen: Array = self.order[lo + rng.integers(hi - lo, size=batch)]
        return chosen


def unseen(path: Path, line: int, name: Any) -> DataError:
    return fail(path, line, f"class {name!r} was never seen in training")


@dataclass
class Encoded:
    """One line as a batch wants it: inputs (L, width) float64 or (L,) symbol ids (0: unknown);
    targets (K, target_width) float64 or (K,) class ids, None when a prediction file leaves
    them out; `outputs` steps written after the input (read-then-write)."""

    inputs: Array
    targets: Array | None
    outputs: int


class Encoder:
    """Turns records into a Batch under a schema: numbers and vectors as they are, symbols as
    token ids (0: unknown, and the padding; then the vocabulary; then "write now" for
    read-then-write) or numbers with a write flag, the scored steps in the mask."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.symbol_ids = {s: i + 1 for i, s in enumerate(schema.vocabulary)}
        self.class_ids = {c: i for i, c in enumerate(schema.classes)}
        writes = schema.form == "read-then-write"
        features = len(schema.vocabulary) + 1 if schema.inputs == "symbols" else schema.width
        self.features = features
        self.input_size = features + int(writes)
        self.tokens = schema.inputs == "symbols"
        """x holds token ids (T, B) below input_size, one-hot to a first layer that wants
        vectors (the write flag is the last id)."""
        classes = schema.targets == "classes"
        self.output_size = len(schema.classes) if classes else schema.target_width

    def encoded(self, record: Record, path: Path, line: int) -> Encoded:
        """A parsed line in ids and float64 arrays; a DataError for a class training never saw."""
        s = self.schema
        inputs: Array
        if s.inputs == "symbols":
            inputs = np.array([self.symbol_ids.get(v, 0) for v in record.inputs], np.int64)
        else:
            inputs = np.asarray(record.inputs, dtype=np.float64).reshape(len(record.inputs), -1)
        if record.targets is None:
            return Encoded(inputs, None, record.outputs)
        if s.targets != "classes":
            targets = np.asarray(record.targets, dtype=np.float64).reshape(-1, s.target_width)
            return Encoded(inputs, targets, record.outputs)
        try:
            ids = np.array([self.class_ids[c] for c in record.targets], np.int64)
        except KeyError as error:
            raise unseen(path, line, error.args[0]) from None
        return Encoded(inputs, ids, record.outputs)

    def batch(self, lines: list[Encoded]) -> Batch:
        """The lines right-padded and time-major: x (T, B, D) or token ids (T, B), y (T, B)
        class ids or (T, B, V) numbers, mask (T, B) on the scored steps; filled in one go."""
        s = self.schema
        B = len(lines)
        length = np.array([len(e.inputs) for e in lines])  # (B,)
        written = np.array([e.outputs for e in lines])  # (B,)
        T = int((length + written).max())
        x = np.zeros((T, B), np.int64) if self.tokens else np.zeros((T, B, self.input_size))
        classes = s.targets == "classes"
        y = np.zeros((T, B), np.int64) if classes else np.zeros((T, B, self.output_size))
        mask = np.zeros((T, B))
        t, b = spans(np.zeros(B, np.int64), length)  # every input step: (time, line)
        inputs = np.concatenate([e.inputs for e in lines])  # (N,) ids or (N, width)
        if self.tokens:
            x[t, b] = inputs
        else:
            x[t, b, : s.width] = inputs
        if s.form == "read-then-write":
            t, b = spans(length, written)
            if self.tokens:
                x[t, b] = self.features  # the id of "write now"
            else:
                x[t, b, self.features] = 1.0  # write now
            count = written
        elif s.form == "labelling":
            count = length
        else:  # classification: scored at the last step
            t, b, count = length - 1, np.arange(B), np.ones(B, np.int64)
        mask[t, b] = 1.0
        has = np.array([e.targets is not None for e in lines])
        if has.any():
            scored = np.repeat(has, count)
            y[t[scored], b[scored]] = np.concatenate(
                [e.targets for e in lines if e.targets is not None]
            )
        return Batch(x, y, mask)

    def totals(self, outputs: Array, batch: Batch) -> dict[str, float]:
        scored = batch.mask > 0  # (T, B)
        if self.schema.targets == "classes":
            right = outputs.argmax(axis=-1) == batch.y  # (T, B)
            return {
                "right": float((right & scored).sum()),
                "scored": float(scored.sum()),
                "exact": float((right | ~scored).all(axis=0).sum()),
                "sequences": float(scored.shape[1]),
            }
        y = batch.y.astype(np.float64)
        diff = (outputs.astype(np.float64) - y)[scored]  # (N, V)
        base = (y - np.asarray(self.schema.target_mean))[scored]
        return {
            "sse": float(np.square(diff).sum()),
            "sae": float(np.abs(diff).sum()),
            "base": float(np.square(base).sum()),
            "values": float(diff.size),
        }

    def finish(self, totals: dict[str, float]) -> dict[str, float]:
        if self.schema.targets == "classes":
            out = {"accuracy": totals["right"] / max(totals["scored"], 1.0)}
            if self.schema.form != "classification":
                out["exact_match"] = totals["exact"] / max(totals["sequences"], 1.0)
            return out
        n, sse, base = max(totals["values"], 1.0), totals["sse"], totals["base"]
        skill = 1.0 - sse / base if base > 0 else float(sse == 0.0)
        return {"mse": sse / n, "mae": totals["sae"] / n, "skill": skill}

    def values(self, outputs: Array, batch: Batch, i: int) -> list[Any]:
        """What the net says at the scored steps of sequence i: classes or numbers."""
        scored = batch.mask[:, i] > 0
        if self.schema.targets == "classes":
            return [self.schema.classes[int(k)] for k in outputs[scored, i].argmax(axis=-1)]
        got = outputs[scored, i].astype(np.float64)  # (steps, V)
        return [float(v[0]) if self.schema.targets == "numbers" else v.tolist() for v in got]

    def wanted(self, batch: Batch, i: int) -> list[Any]:
        scored = batch.mask[:, i] > 0
        if self.schema.targets == "classes":
            return [self.schema.classes[int(k)] for k in batch.y[scored, i]]
        want = batch.y[scored, i].astype(np.float64)
        return [float(v[0]) if self.schema.targets == "numbers" else v.tolist() for v in want]
