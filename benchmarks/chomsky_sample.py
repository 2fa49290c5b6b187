"""Time one batch of each Chomsky task's sampler at a training and a test length.

    python benchmarks/chomsky_sample.py [--batch 128] [--lengths 40,500] [--repeat 5]

The time is the fastest of `--repeat` calls of `task.sample(rng, batch)` at exactly each length
(what a training step and an evaluation at that length pay before the forward pass).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import seqnet_chomsky as chomsky


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lengths", default="40,500")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    lengths = [int(n) for n in args.lengths.split(",")]
    print(f"{'task':<28}" + "".join(f"{'ℓ = ' + str(n):>12}" for n in lengths) + "   (ms)")
    for level in chomsky.LEVELS.values():
        for cls in level:
            cells = []
            for length in lengths:
                task = cls(length=length, length_min=0)
                rng = np.random.default_rng(0)
                best = np.inf
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    task.sample(rng, args.batch)
                    best = min(best, time.perf_counter() - start)
                cells.append(f"{best * 1e3:>12.2f}")
            print(f"{cls.name:<28}" + "".join(cells))


if __name__ == "__main__":
    main()
