"""The LSTM's gate-code paths side by side: forward + backward of LSTMCell per kernel (numpy,
numba), rounds interleaved in one process, one BLAS thread; reports the ratio numba ÷ numpy."""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from seqnet_lstm import LSTMCell
from seqnet_lstm.cell import available_kernels

POINTS = ((32, 128, 64, 128), (256, 512, 64, 512), (32, 16, 100, 2))
"""(B, H, T, D): bench.py's two LSTM points (D = H there) and the adding task's default run."""


def seconds(cell: LSTMCell, problem: tuple[dict[str, np.ndarray], ...], budget: float) -> float:
    """Fastest of three chunks of at least `budget` s each, per forward + backward."""
    params, x, dh, carry = problem
    best = float("inf")
    for _ in range(3):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < budget or n == 0:
            _, final, cache = cell.forward(params, x, carry)  # type: ignore[arg-type]
            cell.backward(params, cache, dh, final, input_grad=False)  # type: ignore[arg-type]
            n += 1
        best = min(best, elapsed / n)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-hidden", type=int, default=512, help="skip larger points")
    parser.add_argument("--budget", type=float, default=0.05, help="seconds per chunk")
    args = parser.parse_args()
    threadpool_limits(1)
    kernels = available_kernels()
    print(f"{args.dtype}, 1 BLAS thread, {args.rounds} rounds; kernels {', '.join(kernels)}\n")
    print("| B | H | T | D | " + " | ".join(f"{k} ms" for k in kernels) + " | ratio (min–max) |")
    print("| --- " * (5 + len(kernels)) + "|")
    for B, H, T, D in (p for p in POINTS if p[1] <= args.max_hidden):
        cell = LSTMCell(hidden=H)
        rng = np.random.default_rng(0)
        params = {k: v.astype(args.dtype) for k, v in cell.init(rng, D).items()}
        x, dh = (rng.standard_normal((T, B, n)).astype(args.dtype) for n in (D, H))
        problem = (params, x, dh, cell.initial_carry(B, np.dtype(args.dtype)))
        times: dict[str, list[float]] = {k: [] for k in kernels}
        for r in range(args.rounds):
            for k in kernels if r % 2 == 0 else kernels[::-1]:  # alternate who goes first
                cell.kernel = k
                _, final, cache = cell.forward(*problem[:2], problem[3])  # type: ignore[arg-type]
                cell.backward(params, cache, dh, final)  # warm-up (and compile)
                times[k].append(seconds(cell, problem, args.budget))
        med = {k: statistics.median(v) for k, v in times.items()}
        ratios = [a / b for a, b in zip(times[kernels[0]], times[kernels[-1]], strict=True)]
        print(
            f"| {B} | {H} | {T} | {D} | "
            + " | ".join(f"{1e3 * med[k]:.2f}" for k in kernels)
            + f" | {statistics.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f}) |"
        )


if __name__ == "__main__":
    main()
