"""A CSV file with a header, read into a table of numbers: named columns, checked cells."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from seqnet import Array
from seqnet_datafiles.files import fail, open_data, text_of


def read_table(path: Path, names: list[str] | None) -> tuple[list[str], Array, Array]:
    """(the columns read, their values (rows, columns), each row's line number) for the
    columns `names` (all when None); a DataError names the line and column of a bad cell."""
    with open_data(path) as f:
        raw = f.read()
    text = text_of(path, 1, raw, "file")
    rows = csv.reader(io.StringIO(text, newline=""))
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
    values: list[list[float]] = []
    lines: list[int] = []
    try:
        for cells in rows:
            line = rows.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise fail(path, line, f"{len(cells)} cells, but the header has {len(header)}")
            row = []
            for name, j in zip(wanted, where, strict=True):
                value = _number(cells[j])
                if value is None:
                    raise fail(path, line, f"column '{name}' is not a number ({cells[j]!r})")
                if not math.isfinite(value):
                    raise fail(path, line, f"column '{name}' is NaN or infinity ({cells[j]!r})")
                row.append(value)
            values.append(row)
            lines.append(line)
    except csv.Error as error:
        raise fail(path, rows.line_num, f"not valid CSV ({error})") from None
    if not values:
        raise fail(path, None, "the file has a header but no rows")
    return wanted, np.array(values, dtype=np.float64), np.array(lines, dtype=np.int64)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
