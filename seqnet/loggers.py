"""Callbacks that log every evaluation somewhere else than metrics.jsonl: a CSV file, and
TensorBoard event files (through tensorboardX, the optional extra `seqnet[tensorboard]`).
"""

from __future__ import annotations

import csv
import importlib.util
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from seqnet.errors import SeqnetError

if TYPE_CHECKING:
    from seqnet.callbacks import Start
    from seqnet.training import Record, Result

MISSING = "the TensorBoard logger needs tensorboardX: pip install 'seqnet[tensorboard]'"


class CSVLogger:
    """A row per evaluation in a CSV file: `step`, `loss` (training), `grad_norm`, `seconds`,
    then the held-out metrics as metrics.jsonl names them (`val_loss`, `exact_match`,
    `margin@64`, ...). The header is the first evaluation's columns. With `append`, rows go
    after those already in the file (for a resumed run) and no second header is written."""

    def __init__(self, path: str | Path, *, append: bool = False) -> None:
        self.path = Path(path)
        self.append = append
        self.file: TextIO | None = None
        self.writer: csv.DictWriter[str] | None = None

    def on_start(self, start: Start) -> None:
        has_rows = self.append and self.path.exists() and self.path.stat().st_size > 0
        self.file = self.path.open("a" if self.append else "w", encoding="utf-8", newline="")
        self.header_written = has_rows

    def on_eval(self, record: Record) -> None:
        if self.file is None:
            raise SeqnetError("CSVLogger: on_eval before on_start (pass it in callbacks=)")
        row = record.as_dict()
        if self.writer is None:
            self.writer = csv.DictWriter(self.file, fieldnames=list(row))
            if not self.header_written:
                self.writer.writeheader()
        self.writer.writerow(row)
        self.file.flush()  # a reader (or a crash) sees every finished evaluation

    def on_end(self, result: Result) -> None:
        self.close()

    def on_error(self, error: BaseException) -> None:
        self.close()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
            self.writer = None


def summary_writer(logdir: Path) -> Any:
    """tensorboardX's SummaryWriter on `logdir`, or one line saying how to install it."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise SeqnetError(MISSING) from None
    return SummaryWriter(logdir=str(logdir))


class TensorBoardLogger:
    """TensorBoard event files in `logdir` (`tensorboard --logdir DIR` shows them): at every
    evaluation, each number of the record as a scalar at its step (`loss` is the training
    loss, `val_loss` the held-out one); with `every_step`, the training loss and gradient
    norm at every step too (as `step/loss`, `step/grad_norm`). Needs tensorboardX
    (`pip install 'seqnet[tensorboard]'`); without it, constructing one says so."""

    def __init__(self, logdir: str | Path, *, every_step: bool = False) -> None:
        self.logdir = Path(logdir)
        self.every_step = every_step
        self.writer: Any = None
        if importlib.util.find_spec("tensorboardX") is None:  # fail here, not after training
            raise SeqnetError(MISSING)

    def on_start(self, start: Start) -> None:
        self.writer = summary_writer(self.logdir)

    def on_step(self, record: Record) -> None:
        if self.every_step and self.writer is not None:
            self.writer.add_scalar("step/loss", record.loss, record.step)
            self.writer.add_scalar("step/grad_norm", record.grad_norm, record.step)

    def on_eval(self, record: Record) -> None:
        for name, value in record.as_dict().items():
            if name != "step" and isinstance(value, float) and math.isfinite(value):
                self.writer.add_scalar(name, value, record.step)
        self.writer.flush()

    def on_end(self, result: Result) -> None:
        self.close()

    def on_error(self, error: BaseException) -> None:
        self.close()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


__all__ = ["CSVLogger", "TensorBoardLogger"]
