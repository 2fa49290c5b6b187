"""The `timeseries` task: forecast columns of a CSV file `horizon` rows ahead from a window of
rows, in normalised units, scored in the file's units against the naive last-value forecast."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import BaseModel, Field, field_validator

from seqnet import Array, Batch, DataError, LossName, spec_init
from seqnet_datafiles.parts import FilesSpec
from seqnet_datafiles.table import read_table

MAX_WINDOW = 100_000


class Stats(BaseModel, extra="forbid", frozen=True):
    """The columns read and their training mean and spread; saved with the run."""

    inputs: list[str]
    targets: list[str]
    mean: list[float]
    std: list[float]


class Series:
    """One file's rows, normalised, and which rows are forecast targets of which part."""

    def __init__(self, path: Path, inputs: list[str], values: Array, lines: Array) -> None:
        self.path, self.inputs, self.values, self.lines = path, inputs, values, lines


class TimeseriesTask:
    """Forecast `target` columns `horizon` rows ahead from the last `window` rows of `columns`.

    x: (W, B, C) the window, each column normalised by the training part's mean and standard
    deviation; y: (W, B, K) the normalised targets, scored (mask) at the last step only. The
    split is by time: validation and test forecasts come after every training forecast.
    Metrics in the file's units: `mse`, `mae`, and `skill` = 1 - MSE / MSE of the naive
    forecast (the last value in the window).
    """

    name: ClassVar[str] = "timeseries"
    loss: ClassVar[LossName] = "mse"
    target_metric: ClassVar[str] = "skill"
    seed_option: ClassVar[str] = "seed"
    example: ClassVar[Path] = Path(__file__).parent / "data" / "example.csv"
    defaults: ClassVar[dict[str, dict[str, Any]]] = {
        "model": {"cell": "lstm", "hidden": 32, "layers": 1},
        "optimizer": {"name": "adam", "lr": 0.01, "clip": 1.0},
        "train": {"steps": 1000, "batch": 32, "eval_every": 50, "eval_samples": 1000},
    }

    class Spec(FilesSpec):
        columns: list[str] | None = Field(None, description="columns to read; null: all")
        target: list[str] | None = Field(
            None, description="columns to forecast; null: the last of `columns`"
        )
        window: Annotated[int, Field(ge=1, le=MAX_WINDOW, description="rows read per forecast")] = (
            24
        )
        horizon: Annotated[int, Field(ge=1, le=MAX_WINDOW, description="rows ahead")] = 1
        fitted: Stats | None = Field(
            None, description="columns and training statistics; null: from the training part"
        )

        @field_validator("target", mode="before")
        @classmethod
        def one_or_more(cls, value: Any) -> Any:
            return [value] if isinstance(value, str) else value

    @spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.seed = 0 if spec.seed is None else spec.seed
        self._parts: list[tuple[Series, Array]] | None = None
        self.stats = self.spec.fitted or self.fit()
        self.mean = np.asarray(self.stats.mean)
        self.std = np.asarray(self.stats.std)
        self.targets = [self.stats.inputs.index(t) for t in self.stats.targets]

    def names(self) -> tuple[list[str] | None, list[str] | None]:
        if self.spec.fitted is not None:
            return self.spec.fitted.inputs, self.spec.fitted.targets
        return self.spec.columns, self.spec.target

    def load(self, path: Path) -> Series:
        inputs, targets = self.names()
        names = None if inputs is None else inputs + [t for t in targets or [] if t not in inputs]
        read, values, lines = read_table(path, names)
        return Series(path, read, values, lines)

    def first_target(self) -> int:
        return self.spec.window + self.spec.horizon - 1

    def forecasts(self, series: Series, lo: int, hi: int, part: str) -> Array:
        """Rows in [lo, hi) that a whole window can forecast; a DataError if none."""
        n, W, h = len(series.values), self.spec.window, self.spec.horizon
        if n < W + h:
            raise DataError(f"{series.path}: the series has {n} rows, but task.window={W} and"
                            f" task.horizon={h} need at least {W + h}")  # fmt: skip
        rows = np.arange(max(lo, self.first_target()), hi)
        if len(rows) == 0:
            raise DataError(f"{series.path}: the {part} part (rows {lo + 1} to {hi}) has no row"
                            " that a whole window before it can forecast; change task.split or"
                            " task.window")  # fmt: skip
        return rows

    def parts(self) -> list[tuple[Series, Array]]:
        """(series, target rows) of train, validation and test."""
        if self._parts is None:
            files = self.spec.files(self.example)
            if isinstance(files, tuple):
                loaded = [self.load(p) for p in files]
                self._parts = [
                    (s, self.forecasts(s, 0, len(s.values), part))
                    for s, part in zip(loaded, ("train", "validation", "test"), strict=True)
                ]
            else:
                s = self.load(files)
                n = len(s.values)
                a = n - round(n * self.spec.split[1]) - round(n * self.spec.split[2])
                b = a + round(n * self.spec.split[1])
                bounds = [(0, a, "train"), (a, b, "validation"), (b, n, "test")]
                self._parts = [(s, self.forecasts(s, lo, hi, p)) for lo, hi, p in bounds]
        return self._parts

    def fit(self) -> Stats:
        series, rows = self.parts()[0]
        seen = series.values[: rows[-1] + 1]  # every row up to the last training forecast
        std = seen.std(axis=0)
        _, targets = self.names()
        return Stats(
            inputs=series.inputs,
            targets=targets or [series.inputs[-1]],
            mean=seen.mean(axis=0).tolist(),
            std=np.where(std > 0, std, 1.0).tolist(),
        )

    def derived(self) -> dict[str, Any]:
        return {"fitted": self.stats.model_dump(mode="json"), "seed": self.seed}

    @property
    def input_size(self) -> int:
        return len(self.stats.inputs)

    @property
    def output_size(self) -> int:
        return len(self.targets)

    def windows(self, series: Series, rows: Array) -> Batch:
        W, h = self.spec.window, self.spec.horizon
        values = series.values  # (N, C); only the rows a batch reads are normalised
        start = rows - h - W + 1
        x = (values[start[None, :] + np.arange(W)[:, None]] - self.mean) / self.std  # (W, B, C)
        y = np.zeros((W, len(rows), len(self.targets)))
        known = rows < len(values)  # rows past the end (predict) have no target
        y[-1, known] = ((values[rows[known]] - self.mean) / self.std)[:, self.targets]
        mask = np.zeros((W, len(rows)))
        mask[-1] = 1.0
        return Batch(x, y, mask)

    def sample(self, rng: np.random.Generator, batch: int) -> Batch:
        series, rows = self.parts()[0]
        return self.windows(series, rows[rng.integers(len(rows), size=batch)])

    def _some(self, part: int, rng: np.random.Generator, count: int) -> Batch:
        series, rows = self.parts()[part]
        if len(rows) > count:
            rows = np.sort(rng.choice(rows, size=count, replace=False))
        return self.windows(series, rows)

    def heldout(self, rng: np.random.Generator, count: int) -> Batch:
        """Validation forecasts: all, or `count` of them at random."""
        return self._some(1, rng, count)

    def test(self, rng: np.random.Generator, count: int) -> Batch:
        """Test forecasts: all, or `count` of them at random."""
        return self._some(2, rng, count)

    def read(self, path: Path | None, batch: int, targets: bool = True) -> Iterator[Batch]:
        """Every forecast a file allows (the test part's when path is None), in row order;
        without targets (to predict), also the `horizon` rows past the file's end."""
        if path is None:
            series, rows = self.parts()[2]
        else:
            series = self.load(path)
            end = len(series.values) + (0 if targets else self.spec.horizon)
            rows = self.forecasts(series, 0, end, "whole")
        for start in range(0, len(rows), batch):
            yield self.windows(series, rows[start : start + batch])

    def units(self, values: Array) -> Array:
        """Normalised targets (..., K) in the file's units."""
        out: Array = values * self.std[self.targets] + self.mean[self.targets]
        return out

    def totals(self, outputs: Array, batch: Batch) -> dict[str, float]:
        scored = batch.mask > 0  # (T, B)
        want = self.units(batch.y[scored].astype(np.float64))  # (N, K)
        got = self.units(outputs[scored].astype(np.float64))
        naive = self.units(batch.x[scored][:, self.targets].astype(np.float64))
        return {
            "sse": float(np.square(got - want).sum()),
            "sae": float(np.abs(got - want).sum()),
            "naive": float(np.square(naive - want).sum()),
            "values": float(want.size),
        }

    def finish(self, totals: dict[str, float]) -> dict[str, float]:
        n, sse, naive = max(totals["values"], 1.0), totals["sse"], totals["naive"]
        skill = 1.0 - sse / naive if naive > 0 else float(sse == 0.0)
        return {"mse": sse / n, "mae": totals["sae"] / n, "naive_mse": naive / n, "skill": skill}

    def metrics(self, outputs: Array, batch: Batch) -> dict[str, float]:
        return self.finish(self.totals(outputs, batch))

    def predictions(self, outputs: Array, batch: Batch) -> list[dict[str, Any]]:
        got = self.units(outputs[-1].astype(np.float64))  # (B, K)
        return [dict(zip(self.stats.targets, map(float, row), strict=True)) for row in got]

    def examples(self, outputs: Array, batch: Batch, count: int) -> list[str]:
        want = self.units(batch.y[-1].astype(np.float64))  # (B, K)
        got = self.units(outputs[-1].astype(np.float64))
        naive = self.units(batch.x[-1][:, self.targets].astype(np.float64))
        return [
            f"{', '.join(self.stats.targets)}: {_show(want[i])} forecast {_show(got[i])}"
            f" (naive {_show(naive[i])})"
            for i in range(min(count, len(want)))
        ]


def _show(values: Array) -> str:
    return " ".join(f"{v:.4g}" for v in values)
