"""The values of a file's lines in binary, written while the file is indexed: float64 numbers and
int32 ids of symbols and classes, in an unnamed temporary file read back with one pread a line.
Training draws its batches from here, so no line is parsed twice and none is held in memory."""

from __future__ import annotations

import os
import tempfile
import weakref
from array import array

import numpy as np

from seqnet import Array, SeqnetError
from seqnet_datafiles.records import Kinds

FLUSH = 4 * 2**20
"""Bytes gathered before they are written out."""


def padded(nbytes: int) -> int:
    """Bytes rounded up to a multiple of 8, so a row's float64 targets start aligned."""
    return -(-nbytes // 8) * 8


class Store:
    """Rows of (inputs, targets) appended once, then read in any order. The file has no name
    (unlinked at once), so it is gone when the process ends, however it ends."""

    def __init__(self) -> None:
        self.folder = tempfile.gettempdir()
        try:
            with tempfile.TemporaryFile(dir=self.folder) as f:
                self.fd = os.dup(f.fileno())
        except OSError as error:
            raise self.failed(error) from None
        weakref.finalize(self, os.close, self.fd)
        self.pending = bytearray()
        self.written = 0  # bytes already in the file
        self.starts = array("q", [0])  # byte offset of each row, then the end
        self.lengths = array("q")  # input steps of each row

    def failed(self, error: OSError) -> SeqnetError:
        return SeqnetError(
            f"cannot keep a binary copy of the data in {self.folder} ({error.strerror}); set"
            " TMPDIR to a folder with free space about the size of the data file"
        )

    def __len__(self) -> int:
        return len(self.lengths)

    def add(self, inputs: Array, targets: Array) -> int:
        """Append a row: inputs (L, ...) then targets, each as its bytes; the row's number."""
        data = inputs.tobytes()
        self.pending += data
        self.pending += bytes(padded(len(data)) - len(data))
        self.pending += targets.tobytes()
        self.starts.append(self.written + len(self.pending))
        self.lengths.append(len(inputs))
        if len(self.pending) >= FLUSH:
            self.flush()
        return len(self.lengths) - 1

    def flush(self) -> None:
        try:
            with memoryview(self.pending) as view:
                done = 0
                while done < len(view):
                    done += os.write(self.fd, view[done:])
        except OSError as error:
            raise self.failed(error) from None
        self.written += len(self.pending)
        self.pending.clear()

    def row(self, row: int, kinds: Kinds) -> tuple[Array, Array]:
        """A row's inputs, (L, width) float64 or (L,) symbol ids, and its targets,
        (K, target_width) float64 or (K,) class ids, as they were added."""
        start, end = self.starts[row], self.starts[row + 1]
        if self.pending:
            self.flush()
        raw = os.pread(self.fd, end - start, start)
        L = self.lengths[row]
        inputs: Array
        if kinds.inputs == "symbols":
            inputs = np.frombuffer(raw, np.int32, L)
            size = padded(4 * L)
        else:
            inputs = np.frombuffer(raw, np.float64, L * kinds.width).reshape(L, kinds.width)
            size = 8 * L * kinds.width
        if kinds.targets == "classes":
            return inputs, np.frombuffer(raw, np.int32, offset=size)
        targets = np.frombuffer(raw, np.float64, offset=size)
        return inputs, targets.reshape(-1, kinds.target_width)
