"""The lines of a data file, indexed in one streaming pass (line numbers, byte offsets, steps),
and the schema derived from the training part (a second pass only when it needs one)."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqnet import Array, DataError
from seqnet_datafiles.files import fail, numbered_lines, open_data, read_at, text_of
from seqnet_datafiles.records import Bad, Kinds, Record, Schema

Parse = Callable[[str, Kinds, str, bool], Record]
"""(line text, the file's kinds, where they were found, targets required) -> Record."""


@dataclass
class Lines:
    """Some lines of one file: their line numbers, byte offsets and steps (input + output)."""

    path: Path
    numbers: Array
    offsets: Array
    steps: Array
    labels: Array  # classification: an id per line into Scan.labels, else -1

    def __len__(self) -> int:
        return len(self.numbers)

    def take(self, index: Array) -> Lines:
        return Lines(self.path, self.numbers[index], self.offsets[index], self.steps[index],
                     self.labels[index])  # fmt: skip

    def records(self, parse: Parse, kinds: Kinds, index: Array | None = None,
                targets: bool = True) -> list[Record]:  # fmt: skip
        """The records of the lines at `index` (all when None), in that order."""
        chosen = np.arange(len(self)) if index is None else index
        out = []
        with open_data(self.path) as f:
            for i in chosen:
                number = int(self.numbers[i])
                raw = read_at(f, int(self.offsets[i]))
                out.append(parsed(parse, self.path, number, raw, kinds, targets))
        return out


def parsed(parse: Parse, path: Path, number: int, raw: bytes, kinds: Kinds, targets: bool,
           first: str = "the training data") -> Record:  # fmt: skip
    try:
        return parse(text_of(path, number, raw), kinds, first, targets)
    except Bad as error:
        raise fail(path, number, str(error)) from None


class Scan:
    """Index files in one pass each, checking every line; classification labels get ids."""

    def __init__(self, parse: Parse, kinds: Kinds) -> None:
        self.parse = parse
        self.kinds = kinds
        self.first = ""
        self.labels: dict[Any, int] = {}

    def lines(self, path: Path) -> Lines:
        numbers, offsets, steps, labels = array("q"), array("q"), array("q"), array("q")
        for number, offset, raw in numbered_lines(path):
            first = self.first or f"{path.name} line {number}"
            record = parsed(self.parse, path, number, raw, self.kinds, True, first)
            self.first = first
            numbers.append(number)
            offsets.append(offset)
            steps.append(record.steps)
            label = -1
            if self.kinds.form == "classification" and self.kinds.targets == "classes":
                assert record.targets is not None
                label = self.labels.setdefault(record.targets[0], len(self.labels))
            labels.append(label)
        if not numbers:
            raise DataError(f"{path}: the file is empty")
        arrays = (np.frombuffer(a, dtype=np.int64) for a in (numbers, offsets, steps, labels))
        return Lines(path, *arrays)


def class_order(c: Any) -> tuple[bool, Any]:
    return (isinstance(c, str), c)


def stream(lines: Lines, parse: Parse, kinds: Kinds, chunk: int = 256) -> Iterator[Record]:
    for start in range(0, len(lines), chunk):
        yield from lines.records(parse, kinds, np.arange(start, min(start + chunk, len(lines))))


def derive(scan: Scan, parts: list[Lines]) -> Schema:
    """The schema of the training part (parts[0]); DataError if validation or test hold a
    class training never saw, or training has fewer than two classes."""
    kinds, train = scan.kinds, parts[0]
    assert kinds.form and kinds.inputs and kinds.targets
    vocabulary: set[str] = set()
    classes: set[Any] = set()
    total, count = np.zeros(kinds.target_width), 0
    if kinds.form == "classification" and kinds.targets == "classes":
        names = {i: label for label, i in scan.labels.items()}
        seen = set(np.unique(train.labels).tolist())
        classes = {names[i] for i in seen}
        for part in parts[1:]:
            outside = ~np.isin(part.labels, list(seen))
            if outside.any():
                i = int(np.argmax(outside))
                label = names[int(part.labels[i])]
                raise fail(part.path, int(part.numbers[i]),
                           f"label {label!r} never appears in the training part")  # fmt: skip
    if kinds.inputs == "symbols" or kinds.targets != "classes" or kinds.form != "classification":
        for record in stream(train, scan.parse, kinds):
            if kinds.inputs == "symbols":
                vocabulary.update(record.inputs)
            assert record.targets is not None
            if kinds.targets == "classes":
                classes.update(record.targets)
            else:
                values = np.asarray(record.targets, dtype=np.float64).reshape(-1, len(total))
                total += values.sum(axis=0)
                count += len(values)
    if kinds.targets == "classes" and kinds.form != "classification":
        for part in parts[1:]:
            for i, record in enumerate(stream(part, scan.parse, kinds)):
                assert record.targets is not None
                unseen = set(record.targets) - classes
                if unseen:
                    raise fail(part.path, int(part.numbers[i]), f"class"
                               f" {sorted(unseen, key=class_order)[0]!r} never appears in the"
                               " training part")  # fmt: skip
    if kinds.targets == "classes" and len(classes) < 2:
        raise DataError(f"{train.path}: the training part holds only one class"
                        f" ({next(iter(classes))!r}); a classifier needs two or more")  # fmt: skip
    return Schema(
        form=kinds.form,
        inputs=kinds.inputs,
        width=kinds.width,
        targets=kinds.targets,
        target_width=kinds.target_width,
        vocabulary=sorted(vocabulary),
        classes=sorted(classes, key=class_order),
        target_mean=(total / max(count, 1)).tolist() if kinds.targets != "classes" else [],
    )
