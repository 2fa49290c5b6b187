"""Reading a user's data file line by line: byte offsets, line numbers, and one-line errors.

Every problem is a seqnet.DataError naming the file, the line and what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from seqnet import DataError

SNIFF = 8192
"""Bytes read to tell a binary file from text before anything else is read."""


def fail(path: Path, line: int | None, what: str, kind: str = "line") -> DataError:
    where = f"{path}: {kind} {line}: " if line is not None else f"{path}: "
    return DataError(where + what)


def open_data(path: Path) -> BinaryIO:
    """The file opened for binary reading; a DataError if it is missing, a folder, empty or
    binary (a NUL byte in its first bytes)."""
    try:
        f = path.open("rb")
    except FileNotFoundError:
        raise fail(path, None, "no such file") from None
    except IsADirectoryError:
        raise fail(path, None, "is a folder, not a data file") from None
    except OSError as error:
        raise fail(path, None, f"cannot be read: {error.strerror}") from None
    head = f.read(SNIFF)
    if not head.strip():
        f.close()
        raise fail(path, None, "the file is empty")
    if b"\x00" in head:
        f.close()
        raise fail(path, None, "holds NUL bytes: a binary file, not text")
    f.seek(0)
    return f


def text_of(path: Path, number: int, raw: bytes, kind: str = "line") -> str:
    """A line's text; a DataError if it is not UTF-8 or holds a NUL byte."""
    if b"\x00" in raw:
        raise fail(path, number, "holds a NUL byte: a binary file, not text", kind)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise fail(path, number, f"not UTF-8 (byte {error.start} of the line)", kind) from None


def numbered_lines(path: Path, skip: int = 0) -> Iterator[tuple[int, int, bytes]]:
    """(line number from 1, byte offset, raw bytes) of every line that is not blank, after the
    first `skip` lines (a header)."""
    with open_data(path) as f:
        offset = 0
        for number, raw in enumerate(f, start=1):
            if number > skip and raw.strip():
                yield number, offset, raw
            offset += len(raw)
