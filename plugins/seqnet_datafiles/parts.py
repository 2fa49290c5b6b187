"""Where a task's training, validation and test data come from: one file split by fractions
under a seed, or three files. The options every data-file task shares."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import Field, field_validator, model_validator

from seqnet import Array, DataError, PluginSpec, SpecError

PARTS = ("train", "validation", "test")
Fraction = Annotated[float, Field(gt=0.0, lt=1.0, allow_inf_nan=False)]


class FilesSpec(PluginSpec):
    """`path` (split by `split` under `seed`) or `train`, `validation` and `test` paths."""

    path: Path | None = Field(
        None, description="one data file, split into train, validation and test by `split`"
    )
    train: Path | None = Field(None, description="the training file (with validation, test)")
    validation: Path | None = Field(None, description="the validation file (early stopping)")
    test: Path | None = Field(None, description="the test file (the final score)")
    split: tuple[Fraction, Fraction, Fraction] = Field(
        (0.8, 0.1, 0.1), description="fractions of `path` for train, validation and test"
    )
    seed: Annotated[int, Field(ge=0)] | None = Field(
        None, description="seed of the split; null: the run's train.seed"
    )

    @field_validator("path", "train", "validation", "test")
    @classmethod
    def absolute(cls, path: Path | None) -> Path | None:
        """Kept absolute, so a saved run finds its files from any folder."""
        return None if path is None else path.expanduser().absolute()

    @model_validator(mode="after")
    def one_source(self) -> FilesSpec:
        files = [self.train, self.validation, self.test]
        if self.path is not None and any(f is not None for f in files):
            raise ValueError("give either path (split by `split`) or train/validation/test")
        if not math.isclose(sum(self.split), 1.0, abs_tol=1e-9):
            raise ValueError(f"split fractions must add up to 1 (they add up to {sum(self.split)})")
        return self

    def files(self, example: Path) -> tuple[Path, Path, Path] | Path:
        """Three paths, or the one path to split (the bundled example when none is given)."""
        files = (self.train, self.validation, self.test)
        if any(f is not None for f in files):
            missing = [p for p, f in zip(PARTS, files, strict=True) if f is None]
            if missing:
                raise SpecError(
                    "task: with separate files, give all three of task.train, task.validation"
                    f" and task.test (missing: {', '.join(missing)})"
                )
            return (self.train, self.validation, self.test)  # type: ignore[return-value]
        return self.path if self.path is not None else example


def split_lines(path: Path, n: int, fractions: tuple[float, ...], seed: int,
                kind: str = "lines") -> list[Array]:  # fmt: skip
    """Sorted indices of the n lines in each part: exact counts, a random permutation of the
    lines under `seed`. A DataError if a part would be empty."""
    counts = [round(n * f) for f in fractions[1:]]
    counts.insert(0, n - sum(counts))
    for part, count in zip(PARTS, counts, strict=True):
        if count <= 0:
            raise DataError(
                f"{path}: {n} {kind} leave the {part} part empty"
                f" (split {list(fractions)}); give more data or change task.split"
            )
    order = np.random.default_rng(seed).permutation(n)
    bounds = np.cumsum([0, *counts])
    return [np.sort(order[a:b]) for a, b in itertools.pairwise(bounds)]
