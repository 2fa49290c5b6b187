"""A measuring process for one side (seqnet or torch), driven by bench.py over JSON lines.

Each side runs in its own process, so neither library's threads, allocator or imports touch the
other's timings (and seqnet's process never imports torch, as for a real user).

Requests on stdin, one JSON object a line; one JSON reply a line on stdout:
  {"op": "steps", "point": {...}, "threads": n, "seconds": s} -> {"steps_per_s": ..., "loss": ...}
  {"op": "roof", "threads": n, "size": N} -> {"gflops": ...}   (numpy float32 N³ matmul)
  {"op": "about", "threads": n} -> {"blas": ...}   (numpy's BLAS and the kernels it runs)
`python worker.py SIDE --memory POINT_JSON` instead runs two steps in a fresh process and
prints the resident memory before the first step and the peak after, in MiB.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sides import SIDES, Point


def thread_limit(side: str, threads: int) -> AbstractContextManager[Any]:
    """numpy's BLAS through threadpoolctl; torch through set_num_threads."""
    if side == "torch":
        import torch

        torch.set_num_threads(threads)
    from threadpoolctl import threadpool_limits

    limits: AbstractContextManager[Any] = threadpool_limits(threads)
    return limits


def rate(step: Callable[[], Any], seconds: float) -> float:
    """Steps per second of the fastest chunk (≥ 5 ms each, at least three) after a warm-up step.

    The fastest chunk, as timeit advises: on a shared machine, slower chunks measure the other
    tenants; the round-by-round ratios in bench.py then compare like with like.
    """
    step()
    start = time.perf_counter()
    step()
    once = max(time.perf_counter() - start, 1e-7)
    per_chunk = max(1, int(0.005 / once))
    rates: list[float] = []
    deadline = time.perf_counter() + seconds
    while not rates or (time.perf_counter() < deadline and len(rates) < 200):
        start = time.perf_counter()
        for _ in range(per_chunk):
            step()
        rates.append(per_chunk / (time.perf_counter() - start))
    # at least three chunks
    while len(rates) < 3:
        start = time.perf_counter()
        for _ in range(per_chunk):
            step()
        rates.append(per_chunk / (time.perf_counter() - start))
    return max(rates)


def roof(size: int) -> float:
    """GFLOP/s of numpy's float32 (size × size) @ (size × size): best of a few runs."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best / 1e9


def blas_kernels() -> str:
    """numpy's BLAS, its version and the CPU kernels it runs: OpenBLAS takes them from the CPU
    unless $OPENBLAS_CORETYPE names them (Haswell's AVX2 ones where AVX-512 is there run GEMMs
    at about half the speed)."""
    import os

    import numpy  # noqa: F401 -- loads the BLAS that threadpoolctl then reports
    from threadpoolctl import threadpool_info

    blas = next((i for i in threadpool_info() if i["user_api"] == "blas"), None)
    if blas is None:
        return "none found"
    setting = os.environ.get("OPENBLAS_CORETYPE", "unset")
    return (
        f"{blas['internal_api']} {blas['version']}, {blas.get('architecture', '?')} kernels"
        f" (OPENBLAS_CORETYPE {setting})"
    )


def serve(side: str) -> None:
    steps: dict[Point, Callable[[int], float]] = {}
    for line in sys.stdin:
        request = json.loads(line)
        with thread_limit(side, request["threads"]):
            if request["op"] == "roof":
                reply: dict[str, Any] = {"gflops": roof(request["size"])}
            elif request["op"] == "about":
                reply = {"blas": blas_kernels()}
            else:
                point = Point(**request["point"])
                if point not in steps:
                    steps = {point: SIDES[side](point, 0)}  # keep one point's arrays alive
                threads = request["threads"]
                step = steps[point]
                loss = step(threads)
                reply = {
                    "steps_per_s": rate(partial(step, threads), request["seconds"]),
                    "loss": loss,
                }
        print(json.dumps(reply), flush=True)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory(side: str, point: Point, threads: int) -> None:
    with thread_limit(side, threads):
        step = SIDES[side](point, 0)
        before = rss_mib()
        step(threads)
        step(threads)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"before_mib": before, "peak_mib": peak, "step_mib": peak - before}))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[2] == "--memory":
        memory(sys.argv[1], Point(**json.loads(sys.argv[3])), threads=1)
    else:
        serve(sys.argv[1])
