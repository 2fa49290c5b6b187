"""The lines of a data file, indexed and stored in one streaming pass (line numbers, steps,
values in binary), the schema derived from the training part, and stored lines read back."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqnet import Array, DataError
from seqnet_datafiles.encode import Encoded, unseen
from seqnet_datafiles.files import fail, numbered_lines, text_of
from seqnet_datafiles.records import Bad, Kinds, Record, Schema
from seqnet_datafiles.store import Store

Parse = Callable[[str, Kinds, str, bool], Record]
"""(line text, the file's kinds, where they were found, targets required) -> Record."""


@dataclass
class Lines:
    """Some lines of one file: their line numbers, rows in the scan's store, steps (input +
    output) and, for classification, the id of each line's label (else -1)."""

    path: Path
    numbers: Array
    rows: Array
    steps: Array
    labels: Array

    def __len__(self) -> int:
        return len(self.numbers)

    def take(self, index: Array) -> Lines:
        return Lines(self.path, self.numbers[index], self.rows[index], self.steps[index],
                     self.labels[index])  # fmt: skip


def parsed(parse: Parse, path: Path, number: int, raw: bytes, kinds: Kinds, targets: bool,
           first: str = "the training data") -> Record:  # fmt: skip
    try:
        return parse(text_of(path, number, raw), kinds, first, targets)
    except Bad as error:
        raise fail(path, number, str(error)) from None


class Scan:
    """Index files in one pass each, checking every line and keeping its values in a Store;
    symbols and classes get ids in the order they first appear."""

    def __init__(self, parse: Parse, kinds: Kinds) -> None:
        self.parse = parse
        self.kinds = kinds
        self.first = ""
        self.symbols: dict[str, int] = {}
        self.classes: dict[Any, int] = {}
        self.store = Store()

    def lines(self, path: Path) -> Lines:
        numbers, rows, steps, labels = array("q"), array("q"), array("q"), array("q")
        for number, _, raw in numbered_lines(path):
            first = self.first or f"{path.name} line {number}"
            record = parsed(self.parse, path, number, raw, self.kinds, True, first)
            self.first = first
            numbers.append(number)
            rows.append(self.keep(record))
            steps.append(record.steps)
            label = -1
            if self.kinds.form == "classification" and self.kinds.targets == "classes":
                label = self.classes[record.targets[0]]  # type: ignore[index]
            labels.append(label)
        if not numbers:
            raise DataError(f"{path}: the file is empty")
        self.store.flush()
        arrays = (np.frombuffer(a, dtype=np.int64) for a in (numbers, rows, steps, labels))
        return Lines(path, *arrays)

    def keep(self, record: Record) -> int:
        """Store a checked record's values; its row."""
        symbols, classes, values = self.symbols, self.classes, record.targets
        assert values is not None
        if self.kinds.inputs == "symbols":
            ids = [symbols.setdefault(v, len(symbols)) for v in record.inputs]
            inputs: Array = np.array(ids, np.int32)
        else:
            inputs = np.asarray(record.inputs, np.float64)
        if self.kinds.targets == "classes":
            ids = [classes.setdefault(c, len(classes)) for c in values]
            targets: Array = np.array(ids, np.int32)
        else:
            targets = np.asarray(values, np.float64)
        return self.store.add(inputs, targets)

    def values(self, lines: Lines) -> Iterator[tuple[int, Array, Array]]:
        """(index, inputs, targets) of each line, as the store holds them (scan ids)."""
        for i, row in enumerate(lines.rows.tolist()):
            yield (i, *self.store.row(row, self.kinds))


KEEP_BYTES = 2**26
"""A store up to this size (its bytes plus KEPT_OVERHEAD a line) keeps each line it has read,
decoded: a small model on a small file spent a seventh of its time reading (the digits, LSTM
64, float32: 0.14 ms of CPU to sample a batch of 32 beside a 0.8 ms step; 0.05 ms kept)."""
KEPT_OVERHEAD = 512
"""Bytes of Python objects around one kept line (the Encoded and its two arrays), about."""


class Reader:
    """A scan's stored lines under a schema: scan ids become the schema's ids."""

    def __init__(self, scan: Scan, schema: Schema) -> None:
        self.scan = scan
        size = scan.store.starts[-1] + KEPT_OVERHEAD * len(scan.store)
        self.kept: dict[int, Encoded] | None = {} if size <= KEEP_BYTES else None
        vocabulary = {s: i + 1 for i, s in enumerate(schema.vocabulary)}
        classes = {c: i for i, c in enumerate(schema.classes)}
        # a dict's order is the order of its ids
        self.symbols = np.array([vocabulary.get(s, 0) for s in scan.symbols], np.int64)
        self.classes = np.array([classes.get(c, -1) for c in scan.classes], np.int64)
        self.unknown = bool((self.classes < 0).any())  # a class the schema never saw is here
        self.writes = schema.form == "read-then-write"
        self.kinds = scan.kinds

    def encoded(self, lines: Lines, index: list[int]) -> list[Encoded]:
        scan, symbols, classes = (
            self.scan,
            self.kinds.inputs == "symbols",
            self.kinds.targets == "classes",
        )
        out = []
        kept = self.kept
        for i, row in zip(index, lines.rows[index].tolist(), strict=True):
            if kept is not None and row in kept:
                out.append(kept[row])
                continue
            inputs, targets = scan.store.row(row, self.kinds)
            if symbols:
                inputs = self.symbols[inputs]
            if classes:
                targets = self.classes[targets]
                if self.unknown and (targets < 0).any():
                    raise unseen(lines.path, int(lines.numbers[i]), self.name(lines, i))
            line = Encoded(inputs, targets, len(targets) if self.writes else 0)
            if kept is not None:
                kept[row] = line
            out.append(line)
        return out

    def name(self, lines: Lines, i: int) -> Any:
        """The first class of line i that the schema does not know."""
        _, targets = self.scan.store.row(int(lines.rows[i]), self.kinds)
        return list(self.scan.classes)[int(targets[np.argmax(self.classes[targets] < 0)])]


def class_order(c: Any) -> tuple[bool, Any]:
    return (isinstance(c, str), c)


def derive(scan: Scan, parts: list[Lines]) -> Schema:
    """The schema of the training part (parts[0]); DataError if validation or test hold a
    class training never saw, or training has fewer than two classes."""
    kinds, train = scan.kinds, parts[0]
    assert kinds.form and kinds.inputs and kinds.targets
    vocabulary: set[str] = set()
    classes: set[Any] = set()
    total, count = np.zeros(kinds.target_width), 0
    if kinds.form == "classification" and kinds.targets == "classes":
        names = {i: label for label, i in scan.classes.items()}
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
        seen_symbols = np.zeros(len(scan.symbols), bool)
        seen_classes = np.zeros(len(scan.classes), bool)
        for _, inputs, targets in scan.values(train):
            if kinds.inputs == "symbols":
                seen_symbols[inputs] = True
            if kinds.targets == "classes":
                seen_classes[targets] = True
            else:
                total += targets.sum(axis=0)
                count += len(targets)
        vocabulary = {s for s, i in scan.symbols.items() if seen_symbols[i]}
        if kinds.targets == "classes":
            classes = {c for c, i in scan.classes.items() if seen_classes[i]}
    if kinds.targets == "classes" and kinds.form != "classification":
        order = list(scan.classes)
        for part in parts[1:]:
            for i, _, targets in scan.values(part):
                outside = targets[~seen_classes[targets]]
                if len(outside):
                    first = sorted({order[j] for j in outside.tolist()}, key=class_order)[0]
                    raise fail(part.path, int(part.numbers[i]),
                               f"class {first!r} never appears in the training part")  # fmt: skip
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
