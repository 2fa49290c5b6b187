"""Where one bench.py point's seqnet step goes: forward, loss, backward, optimizer (µs a step).

    python benchmarks/point_phases.py elman 1 128 8       # cell B H T
    python benchmarks/point_phases.py elman 32 16 8 --steps 5000

The same step as bench.py's seqnet side (sides.seqnet_step), on one thread, timed phase by phase
with perf_counter (wall clock: run it on a quiet machine), after a warm-up.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sides import Point, seqnet_parts


def phases(point: Point, steps: int, warmup: int = 200) -> dict[str, float]:
    from seqnet.losses import mse
    from seqnet.parallel import BatchParallel

    parts = seqnet_parts(point)
    params, optimizer, x, y, mask = parts.params, parts.optimizer, parts.x, parts.y, parts.mask
    net = BatchParallel(parts.model, 1)
    spent = dict.fromkeys(("forward", "loss", "backward", "optimizer"), 0.0)
    for i in range(warmup + steps):
        a = time.perf_counter()
        logits, _, cache = net.forward(params, x)
        b = time.perf_counter()
        _, dlogits = mse(logits, y, mask)
        c = time.perf_counter()
        grads, _ = net.backward(params, cache, dlogits)
        d = time.perf_counter()
        optimizer.step(params, grads)
        e = time.perf_counter()
        if i >= warmup:
            for name, took in zip(spent, (b - a, c - b, d - c, e - d), strict=True):
                spent[name] += took
    return {name: 1e6 * total / steps for name, total in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cell", choices=["elman", "lstm", "gru"])
    parser.add_argument("B", type=int)
    parser.add_argument("H", type=int)
    parser.add_argument("T", type=int)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args()
    point = Point(args.cell, args.B, args.H, args.T, dtype=args.dtype)
    with threadpool_limits(1):
        spent = phases(point, args.steps)
    cells = ", ".join(f"{name} {us:.1f}" for name, us in spent.items())
    print(f"{point.label}: {cells}; step {sum(spent.values()):.1f} µs")


if __name__ == "__main__":
    main()
