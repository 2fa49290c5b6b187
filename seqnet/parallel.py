"""A Model's forward and backward split over the batch, one slice per thread.

The rows of a batch do not meet until their gradients are summed, so each of `threads` threads
can run the whole Model (every layer and the head) on its own slice of the batch. numpy lets go
of the GIL inside matrix products and element-wise loops on large arrays, so the slices run at
the same time, each on one BLAS thread; the recurrent loop's element-wise work, which BLAS
threads never touch, is then split between the cores too.

This pays only where each slice still has plenty of work: a call whose slices would have fewer
than `min_slice_work` (rows × hidden units) goes to the model whole, on the BLAS threads its
caller set. Measured on 2 cores (benchmarks/RESULTS.md): a GRU at B=256, H=512, T=64 and an
Elman net at B=256, H=128, T=64 gained 6–16 % over 2 BLAS threads; at B=32 and at H=16 the
split was slower. Which calls split depends only on shapes and `threads`, and gradients are
summed in slice order, so a run's numbers never depend on timing.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, reduce
from itertools import pairwise
from typing import TypeVar

import numpy as np
from threadpoolctl import ThreadpoolController

from seqnet.interfaces import Array, Carry, Params
from seqnet.model import ModelCache, Sequential

MIN_SLICE_WORK = 128 * 128
"""Rows × hidden units a slice needs for splitting to pay (measured; see the module doc)."""

Result = TypeVar("Result")


@cache
def blas() -> ThreadpoolController:
    """One controller for the process: making one inspects every loaded library (~ms)."""
    return ThreadpoolController()


@dataclass
class SplitCache:
    """The caches of a split forward, one per slice of the batch, for `backward`."""

    slices: list[slice]
    caches: list[ModelCache]


class BatchParallel:
    """`model.forward` and `model.backward` with the batch split over `threads` threads.

    The same signatures and results as the Model's (up to the order in which floating-point
    sums are taken). When training, the generator given to `forward` draws one seed per slice.
    """

    def __init__(
        self, model: Sequential, threads: int, min_slice_work: int = MIN_SLICE_WORK
    ) -> None:
        self.model = model
        self.threads = threads
        self.min_slice_work = min_slice_work
        self.pool: ThreadPoolExecutor | None = None

    def slices(self, batch: int) -> list[slice]:
        """Contiguous row ranges, one per thread; a single range when splitting would not pay."""
        n = min(self.threads, batch)
        if n < 2 or (batch // n) * self.model.width < self.min_slice_work:
            return [slice(0, batch)]
        edges = [batch * k // n for k in range(n + 1)]
        return [slice(a, b) for a, b in pairwise(edges)]

    def forward(
        self,
        params: Params,
        x: Array,
        carries: list[Carry] | None = None,
        rng: np.random.Generator | None = None,
    ) -> tuple[Array, list[Carry], ModelCache | SplitCache]:
        """As Model.forward: logits (T, B, V), each layer's final carry, the cache."""
        slices = self.slices(x.shape[1])
        if len(slices) == 1:
            return self.model.forward(params, x, carries, rng)
        rngs: list[np.random.Generator | None] = [None] * len(slices)
        # Seeds drawn here, in order (no races), and as numbers: Generator.spawn would count
        # children in its SeedSequence, which a checkpoint's stream state does not hold.
        if rng is not None:
            rngs = [np.random.default_rng(seed) for seed in rng.integers(2**63, size=len(slices))]

        def run(k: int) -> tuple[Array, list[Carry], ModelCache]:
            rows = slices[k]
            part = None if carries is None else [tuple(a[rows] for a in c) for c in carries]
            return self.model.forward(params, x[:, rows], part, rngs[k])

        results = self.map(run, len(slices))
        logits = np.concatenate([r[0] for r in results], axis=1)
        finals = [join_carries([r[1][i] for r in results]) for i in range(len(self.model.layers))]
        return logits, finals, SplitCache(slices, [r[2] for r in results])

    def backward(
        self,
        params: Params,
        cache: ModelCache | SplitCache,
        dlogits: Array,
        dcarries: list[Carry] | None = None,
    ) -> tuple[Params, list[Carry]]:
        """As Model.backward: every parameter's gradient and the initial carries' gradients."""
        if not isinstance(cache, SplitCache):
            return self.model.backward(params, cache, dlogits, dcarries)
        slices = cache.slices

        def run(k: int) -> tuple[Params, list[Carry]]:
            rows = slices[k]
            part = None if dcarries is None else [tuple(a[rows] for a in c) for c in dcarries]
            return self.model.backward(params, cache.caches[k], dlogits[:, rows], part)

        results = self.map(run, len(slices))
        grads = {name: reduce(np.add, [r[0][name] for r in results]) for name in params}
        dcarries0 = [
            join_carries([r[1][i] for r in results]) for i in range(len(self.model.layers))
        ]
        return grads, dcarries0

    def map(self, fn: Callable[[int], Result], count: int) -> list[Result]:
        """fn(0), …, fn(count - 1) on the pool's threads, each on one BLAS thread."""
        if self.pool is None:
            self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="seqnet-batch")
        with blas().limit(limits=1, user_api="blas"):
            return list(self.pool.map(fn, range(count)))


def join_carries(parts: list[Carry]) -> Carry:
    """One carry from the slices' carries, rows in slice order."""
    return tuple(np.concatenate(rows, axis=0) for rows in zip(*parts, strict=True))
