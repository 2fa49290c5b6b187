"""A CSV file with a header, read line by line into a table of numbers: named columns, checked
cells, and a bound on the values kept."""

from __future__ import annotations

import csv
import math
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from seqnet import Array
from seqnet_datafiles.files import fail, open_data, text_of

MAX_VALUES = 2**27
"""Values a series may hold: 1 GiB as float64 (the series is kept in memory, unlike the lines
of `sequences` and `textlines`)."""


def read_table(path: Path, names: list[str] | None) -> tuple[list[str], Array, Array]:
    """(the columns read, their values (rows, columns), each row's line number) for the
    columns `names` (all when None), read line by line; a DataError names the line and column
    of a bad cell, or the line where the values outgrow MAX_VALUES."""
    with open_data(path) as f:
        rows = csv.reader(decoded(path, f))
        try:
            header = next(rows)
        except (StopIteration, csv.Error):
            raise fail(path, None, "the file is empty") from None
        header = [h.strip() for h in header]
        if all(_number(h) is not None for h in header):
            raise fail(path, 1, "the first line must be a header of column names", "line")
        wanted = header if names is None else names
        for name in wanted:
            if name not in header:
                raise fail(path, None, f"no column '{name}' (the header has {', '.join(header)})")
        where = [header.index(n) for n in wanted]
        values, lines = array("d"), array("q")
        try:
            for cells in rows:
                line = rows.line_num
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(header):
                    raise fail(path, line, f"{len(cells)} cells, but the header has {len(header)}")
                for name, j in zip(wanted, where, strict=True):
                    value = _number(cells[j])
                    if value is None:
                        raise fail(path, line, f"column '{name}' is not a number ({cells[j]!r})")
                    if not math.isfinite(value):
                        raise fail(path, line, f"column '{name}' is NaN or infinity ({cells[j]!r})")
                    values.append(value)
                lines.append(line)
                if len(values) > MAX_VALUES:
                    raise fail(path, line, f"more than {MAX_VALUES:,} values: timeseries holds"
                               " the series in memory (8 bytes a value); read fewer columns or"
                               " a shorter file")  # fmt: skip
        except csv.Error as error:
            raise fail(path, rows.line_num, f"not valid CSV ({error})") from None
    if not lines:
        raise fail(path, None, "the file has a header but no rows")
    table = np.frombuffer(values, dtype=np.float64).reshape(len(lines), len(wanted))
    return wanted, table, np.frombuffer(lines, dtype=np.int64)


def decoded(path: Path, f: BinaryIO) -> Iterator[str]:
    """The file's lines as text, one at a time; a DataError names a line that is not UTF-8."""
    for number, raw in enumerate(f, start=1):
        yield text_of(path, number, raw)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
