"""Subnormal floats in float32 backprop through time: how often, and what they cost.

    python benchmarks/subnormals.py [--T 200] [--B 32] [--H 128] [--cells elman,lstm,gru]

A long sequence scored only at its last step (as in the adding problem) makes the gradient
decay towards the start; in float32 it can reach subnormal numbers (below 1.2e-38), which
x86 cores multiply through a slow microcode path. For each cell this times forward + backward
in float64, in float32, and in float32 with the SSE flush-to-zero and denormals-are-zero bits
set (what torch.set_flush_denormal does), and counts subnormals in the input gradient.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from threadpoolctl import threadpool_limits

from seqnet import recurrent
from seqnet.plugins import load_registry

MXCSR_OFFSET = 28  # glibc's x86-64 fenv_t: 28 bytes of x87 state, then the SSE MXCSR
FTZ_DAZ = 0x8040  # flush-to-zero (bit 15) and denormals-are-zero (bit 6)


@contextmanager
def flush_subnormals() -> Iterator[None]:
    """FTZ and DAZ on for the calling thread (x86-64 Linux only), restored on exit."""
    libc = ctypes.CDLL(None)
    saved = (ctypes.c_ubyte * 32)()
    if libc.fegetenv(saved) != 0:
        raise OSError("fegetenv failed")
    changed = (ctypes.c_ubyte * 32)(*saved)
    mxcsr = int.from_bytes(bytes(saved[MXCSR_OFFSET : MXCSR_OFFSET + 4]), "little") | FTZ_DAZ
    changed[MXCSR_OFFSET : MXCSR_OFFSET + 4] = list(mxcsr.to_bytes(4, "little"))
    libc.fesetenv(changed)
    try:
        yield
    finally:
        libc.fesetenv(saved)


def subnormal_fraction(a: np.ndarray) -> float:
    tiny = np.finfo(a.dtype).tiny
    return float(np.mean((a != 0) & (np.abs(a) < tiny)))


def measure(
    cell_name: str, dtype: str, B: int, H: int, T: int, repeats: int
) -> tuple[float, float]:
    """Median seconds of the cell's sequence forward + backward, and the subnormal share of dx."""
    cell = load_registry().get("cell", cell_name).cls(hidden=H)
    rng = np.random.default_rng(0)
    params = {k: v.astype(dtype) for k, v in cell.init(rng, H).items()}
    x = rng.standard_normal((T, B, H)).astype(dtype)
    carry0 = cell.initial_carry(B, np.dtype(dtype))
    dh = np.zeros((T, B, H), dtype=dtype)
    dh[-1] = rng.standard_normal((B, H))  # scored at the last step only
    dcarry = tuple(np.zeros_like(part) for part in carry0)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _, _, cache = recurrent.sequence_forward(cell, params, x, carry0)
        dx, _, _ = recurrent.sequence_backward(cell, params, cache, dh, dcarry)
        times.append(time.perf_counter() - start)
    return statistics.median(times), subnormal_fraction(dx)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", default="elman,lstm,gru")
    parser.add_argument("--T", type=int, default=200)
    parser.add_argument("--B", type=int, default=32)
    parser.add_argument("--H", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if sys.platform != "linux" or ctypes.sizeof(ctypes.c_void_p) != 8:
        sys.exit("this measurement sets the x86-64 MXCSR through glibc: Linux x86-64 only")
    print(f"B={args.B} H={args.H} T={args.T}, loss at the last step only, 1 BLAS thread")
    print("| cell | float64 ms | float32 ms | float32 + FTZ/DAZ ms | subnormal share of dx |")
    print("| --- | --- | --- | --- | --- |")
    with threadpool_limits(1):
        for name in args.cells.split(","):
            f64, _ = measure(name, "float64", args.B, args.H, args.T, args.repeats)
            f32, share = measure(name, "float32", args.B, args.H, args.T, args.repeats)
            with flush_subnormals():
                ftz, _ = measure(name, "float32", args.B, args.H, args.T, args.repeats)
            print(
                f"| {name} | {1e3 * f64:.1f} | {1e3 * f32:.1f} | {1e3 * ftz:.1f} | {share:.1%} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
