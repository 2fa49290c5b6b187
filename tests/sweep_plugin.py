"""A plugin for the sweep tests only (loaded by module name, never installed).

`fragile`: tiny binary addition that fails on purpose (raises, scores NaN, or kills its own
worker process); `threads`: an engine on a thread pool, the shape a third party's engine takes.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

import seqnet
from seqnet.interfaces import Array, Batch, PluginSpec
from seqnet_binadd.task import BinaryAdditionTask

Fault = Literal["none", "raise", "nan", "exit", "exit_once"]


class FragileTask(BinaryAdditionTask):
    """3-bit binary addition that can fail on purpose (sweep tests)."""

    name: ClassVar[str] = "fragile"
    defaults: ClassVar[dict[str, dict[str, Any]]] = {
        "model": {"hidden": 8},
        "train": {"steps": 20, "eval_every": 10, "eval_samples": 50, "batch": 8},
    }

    class Spec(BinaryAdditionTask.Spec):
        bits: int = Field(3, gt=0)
        fault: Fault = "none"
        marker: str = Field("", description="exit_once: die only while this file is missing")

    def __init__(self, **options: Any) -> None:
        spec = self.Spec(**options)
        super().__init__(bits=spec.bits)
        self.fault, self.marker = spec.fault, Path(spec.marker)

    def sample(self, rng: np.random.Generator, batch: int) -> Batch:
        if self.fault == "raise":
            raise RuntimeError("fragile task failed on purpose")
        if self.fault == "exit" or (self.fault == "exit_once" and not self.marker.exists()):
            if self.fault == "exit_once":
                self.marker.touch()
            os._exit(3)  # the worker process dies mid-run, as on an out-of-memory kill
        return super().sample(rng, batch)

    def metrics(self, outputs: Array, batch: Batch) -> dict[str, float]:
        scores = super().metrics(outputs, batch)
        if self.fault == "nan":
            scores["exact_match"] = math.nan
        return scores


class ThreadEngine:
    """Runs on a thread pool in this process (sweep tests: a third party's engine)."""

    name: ClassVar[str] = "threads"

    class Spec(PluginSpec):
        workers: int = 2

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers

    @contextlib.contextmanager
    def executor(self) -> Iterator[Executor]:
        with ThreadPoolExecutor(self.workers) as pool:
            yield pool

    def slots(self) -> int:
        return self.workers


@seqnet.hookimpl
def seqnet_register_tasks(register: seqnet.Register) -> None:
    register(FragileTask)


@seqnet.hookimpl
def seqnet_register_engines(register: seqnet.Register) -> None:
    register(ThreadEngine)
