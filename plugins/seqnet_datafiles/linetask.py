"""What the `sequences` and `textlines` tasks share: files of one sequence per line, indexed,
split, bucketed by length for training, and read in a stream for evaluation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from seqnet import Array, Batch, LossName, spec_init
from seqnet_datafiles.encode import Buckets, Encoded, Encoder
from seqnet_datafiles.files import numbered_lines
from seqnet_datafiles.index import Lines, Reader, Scan, derive, parsed
from seqnet_datafiles.parts import FilesSpec, split_lines
from seqnet_datafiles.records import Kinds, Schema

SHOWN = 10
"""Steps of a labelling or read-then-write example shown, so each stays one readable line."""


def show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list):
        return "[" + " ".join(show(v) for v in value) + "]"
    return str(value)


class LineTask:
    """A task whose every line is one sequence; subclasses give `name`, `parse` (a line's text
    to a Record) and `example` (the bundled file read when no path is given)."""

    name: ClassVar[str]
    seed_option: ClassVar[str] = "seed"
    parse: ClassVar[Any]  # a Parse, kept as a staticmethod
    example: ClassVar[Path]
    # the loss and target metric depend on the data: classes or numbers (set per instance)
    loss: LossName = "softmax_ce"
    target_metric: str = "accuracy"

    class Spec(FilesSpec):
        fitted: Schema | None = Field(
            None,
            description="what training data taught the task (form, kinds, vocabulary, classes,"
            " target mean); null: derived from the training part, then saved with the run",
        )

    spec: Any

    @spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.seed = 0 if spec.seed is None else spec.seed
        given: Schema | None = self.spec.fitted
        self._parts: list[Lines] | None = None
        self._scan: Scan | None = None
        if given is None:
            given = derive(self.scan(), self.parts())
        self.schema = given
        self.encoder = Encoder(given)
        classes = given.targets == "classes"
        self.loss = "softmax_ce" if classes else "mse"
        self.target_metric = "accuracy" if classes else "skill"
        self._buckets: Buckets | None = None
        self._reader: Reader | None = None

    def scan(self) -> Scan:
        """Index the files (once): each part's lines, checked against the schema if pinned."""
        pinned = self.spec.fitted
        scan = Scan(type(self).parse, Kinds() if pinned is None else Kinds.of(pinned))
        files = self.spec.files(type(self).example)
        if isinstance(files, tuple):
            self._parts = [scan.lines(path) for path in files]
        else:
            whole = scan.lines(files)
            index = split_lines(files, len(whole), self.spec.split, self.seed)
            self._parts = [whole.take(i) for i in index]
        self._scan = scan
        return scan

    def parts(self) -> list[Lines]:
        if self._parts is None:
            self.scan()
        assert self._parts is not None
        return self._parts

    def derived(self) -> dict[str, Any]:
        return {"fitted": self.schema.model_dump(mode="json"), "seed": self.seed}

    @property
    def input_size(self) -> int:
        return self.encoder.input_size

    @property
    def vocab_size(self) -> int | None:
        """For symbol inputs, x holds token ids below this (an `embedding` first layer reads
        them; any other first layer gets them one-hot); None: x holds vectors."""
        return self.encoder.input_size if self.encoder.tokens else None

    @property
    def output_size(self) -> int:
        return self.encoder.output_size

    def kinds(self) -> Kinds:
        return Kinds.of(self.schema)

    def encode(self, lines: Lines, index: Array) -> Batch:
        if self._reader is None:
            self.parts()
            assert self._scan is not None
            self._reader = Reader(self._scan, self.schema)
        return self.encoder.batch(self._reader.encoded(lines, index.tolist()))

    def sample(self, rng: np.random.Generator, batch: int) -> Batch:
        """Training sequences of similar length (padding under a quarter of the batch), read
        from the binary copy the scan made: the file is not parsed again."""
        train = self.parts()[0]
        if self._buckets is None:
            self._buckets = Buckets(train.steps)
        return self.encode(train, self._buckets.draw(rng, batch))

    def _some(self, part: int, rng: np.random.Generator, count: int) -> Batch:
        lines = self.parts()[part]
        chosen = np.arange(len(lines))
        if len(lines) > count:
            chosen = np.sort(rng.choice(len(lines), size=count, replace=False))
        return self.encode(lines, chosen)

    def heldout(self, rng: np.random.Generator, count: int) -> Batch:
        """The validation part: all of it, or `count` of its lines at random if it is larger."""
        return self._some(1, rng, count)

    def test(self, rng: np.random.Generator, count: int) -> Batch:
        """The test part: all of it, or `count` of its lines at random if it is larger."""
        return self._some(2, rng, count)

    def read(self, path: Path | None, batch: int, targets: bool = True) -> Iterator[Batch]:
        """A file's sequences in order (the test part when path is None), `batch` at a time."""
        if path is None:
            test = self.parts()[2]
            for start in range(0, len(test), batch):
                yield self.encode(test, np.arange(start, min(start + batch, len(test))))
            return
        kinds = self.kinds()
        lines: list[Encoded] = []
        for number, _, raw in numbered_lines(path):
            record = parsed(type(self).parse, path, number, raw, kinds, targets)
            lines.append(self.encoder.encoded(record, path, number))
            if len(lines) == batch:
                yield self.encoder.batch(lines)
                lines = []
        if lines:
            yield self.encoder.batch(lines)

    def totals(self, outputs: Array, batch: Batch) -> dict[str, float]:
        return self.encoder.totals(outputs, batch)

    def finish(self, totals: dict[str, float]) -> dict[str, float]:
        return self.encoder.finish(totals)

    def metrics(self, outputs: Array, batch: Batch) -> dict[str, float]:
        return self.finish(self.totals(outputs, batch))

    def predictions(self, outputs: Array, batch: Batch) -> list[dict[str, Any]]:
        field = {"labelling": "target", "classification": "label",
                 "read-then-write": "output"}[self.schema.form]  # fmt: skip
        out = []
        for i in range(outputs.shape[1]):
            got = self.encoder.values(outputs, batch, i)
            out.append({field: got[0] if self.schema.form == "classification" else got})
        return out

    def examples(self, outputs: Array, batch: Batch, count: int) -> list[str]:
        lines = []
        for i in range(min(count, outputs.shape[1])):
            want = self.encoder.wanted(batch, i)
            got = self.encoder.values(outputs, batch, i)
            if self.schema.targets == "classes":
                wrong = sum(a != b for a, b in zip(want, got, strict=True))
                mark = "✓" if wrong == 0 else f"✗ ({wrong} wrong)"
                if self.schema.form == "classification":
                    mark = "✓" if wrong == 0 else "✗"
            else:
                mark = f"(error {show(float(np.abs(np.subtract(got, want)).mean()))})"
            more = " …" if len(want) > SHOWN else ""
            lines.append(f"{show(want[:SHOWN])}{more} → {show(got[:SHOWN])}{more}  {mark}")
        return lines
