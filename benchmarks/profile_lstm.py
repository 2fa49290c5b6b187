"""Where an LSTM training step's time goes: line_profiler over LSTMCell.forward and .backward,
per source line the calls per time step and the share of the function's time."""

from __future__ import annotations

import argparse
import inspect
import linecache

import numpy as np
from line_profiler import LineProfiler
from threadpoolctl import threadpool_limits

from seqnet_lstm import LSTMCell

POINTS = ((32, 128, 64, 128), (256, 512, 64, 512), (32, 16, 100, 2))
"""(B, H, T, D): bench.py's two LSTM points (D = H there) and the adding task's default run."""


def profile(B: int, H: int, T: int, D: int, dtype: str, reps: int) -> None:
    cell = LSTMCell(hidden=H)
    rng = np.random.default_rng(0)
    params = {k: v.astype(dtype) for k, v in cell.init(rng, D).items()}
    x = rng.standard_normal((T, B, D)).astype(dtype)
    dh = rng.standard_normal((T, B, H)).astype(dtype)
    carry = cell.initial_carry(B, np.dtype(dtype))
    # the kernel: $SEQNET_KERNEL, else numba when installed
    forward, backward = type(cell).forward, type(cell).backward
    profiler = LineProfiler(forward, backward)
    wrapped_f, wrapped_b = profiler(forward), profiler(backward)
    _, final, cache = forward(cell, params, x, carry)  # warm-up, unprofiled
    backward(cell, params, cache, dh, final, input_grad=False)
    for _ in range(reps):
        _, final, cache = wrapped_f(cell, params, x, carry)
        wrapped_b(cell, params, cache, dh, final, input_grad=False)
    stats = profiler.get_stats()
    print(f"\n### B={B} H={H} T={T} D={D} {dtype}, {cell.kernel} kernel, {reps} forward+backward\n")
    print("| function | line | calls/step | share of fn | share of step | source |")
    print("| --- | --- | --- | --- | --- | --- |")
    timings = {fn: lines for (_, _, fn), lines in stats.timings.items() if lines}
    step_total = sum(t for lines in timings.values() for _, _, t in lines)
    for fn, lines in timings.items():
        fn_total = sum(t for _, _, t in lines)
        filename = inspect.getsourcefile(forward) or ""
        for lineno, hits, t in sorted(lines):
            if t / step_total < 0.01:
                continue
            src = linecache.getline(filename, lineno).strip().replace("|", "\\|")[:70]
            print(
                f"| {fn} | {lineno} | {hits / reps / T:.2f} | {100 * t / fn_total:.1f}% "
                f"| {100 * t / step_total:.1f}% | `{src}` |"
            )
    fwd = sum(t for _, _, t in timings["LSTMCell.forward"])
    lines_per_step = {fn: sum(h for _, h, _ in lines) / reps / T for fn, lines in timings.items()}
    print(
        f"\nforward {100 * fwd / step_total:.0f}% / backward {100 - 100 * fwd / step_total:.0f}%"
        " of the time; source lines run per time step (each a numpy call or less): "
        + ", ".join(f"{fn} {n:.1f}" for fn, n in lines_per_step.items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    args = parser.parse_args()
    threadpool_limits(args.threads)
    for B, H, T, D in POINTS:
        profile(B, H, T, D, args.dtype, max(1, args.reps // (10 if H >= 512 else 1)))


if __name__ == "__main__":
    main()
