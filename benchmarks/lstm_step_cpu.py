"""Where a small LSTM training step's CPU time goes: its GEMMs alone, the cell's forward and
backward per gate-code path, the whole step (bench.py's), and PyTorch's step; one thread.

    python benchmarks/lstm_step_cpu.py                  # B=32 H=128 T=64, float32 and float64
    python benchmarks/lstm_step_cpu.py --dtype float64 --rounds 5

CPU time (time.process_time), so that on a shared machine the waits for a core do not count;
each item is timed in chunks of `--reps` calls, in rounds whose order flips every round, and the
minimum over chunks is reported with the median beside it. PyTorch runs in a separate process
(its own BLAS and threads), timed the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sides import Point, seqnet_step, torch_available, torch_step


def cpu_ms(fn: Callable[[], Any], reps: int) -> float:
    start = time.process_time()
    for _ in range(reps):
        fn()
    return 1e3 * (time.process_time() - start) / reps


def gemms(B: int, H: int, T: int, dtype: str) -> dict[str, Callable[[], Any]]:
    """The five products of a step (D = H), shaped as cell.py calls them."""
    D = H
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T * B, D)).astype(dtype)
    W_x = rng.standard_normal((D, 4 * H)).astype(dtype)
    W_h = rng.standard_normal((H, 4 * H)).astype(dtype)
    h = rng.standard_normal((B, H)).astype(dtype)
    dz = rng.standard_normal((T, B, 4 * H)).astype(dtype)
    states = rng.standard_normal((T * B, H)).astype(dtype)
    hz, dh = np.empty((B, 4 * H), dtype=dtype), np.empty((B, H), dtype=dtype)
    from seqnet_lstm.cell import per_step_operand

    W_h_step, W_hT_step = per_step_operand(W_h, B), per_step_operand(W_h.T, B)
    flat = dz.reshape(T * B, 4 * H)

    def recurrent() -> None:
        for _ in range(T):
            np.dot(h, W_h_step, out=hz)

    def recurrent_back() -> None:
        for t in range(T):
            np.dot(dz[t], W_hT_step, out=dh)

    return {
        "GEMM x W_x": lambda: x @ W_x,
        f"GEMM h W_h ×{T}": recurrent,
        f"GEMM dz W_hᵀ ×{T}": recurrent_back,
        "GEMM dW_x": lambda: x.T @ flat,
        "GEMM dW_h": lambda: states.T @ flat,
    }


def cell_parts(B: int, H: int, T: int, dtype: str, kernel: str) -> dict[str, Callable[[], Any]]:
    from seqnet_lstm import LSTMCell

    cell = LSTMCell(hidden=H)
    cell.kernel = kernel
    rng = np.random.default_rng(0)
    params = {k: v.astype(dtype) for k, v in cell.init(rng, H).items()}
    x = rng.standard_normal((T, B, H)).astype(dtype)
    dh = rng.standard_normal((T, B, H)).astype(dtype)
    carry = cell.initial_carry(B, np.dtype(dtype))
    _, final, cache = cell.forward(params, x, carry)

    def backward() -> None:
        cell.backward(params, cache, dh, final, input_grad=False)

    os.environ["SEQNET_KERNEL"] = kernel  # read when the step's model makes its cell
    step = seqnet_step(Point("lstm", B, H, T, dtype))
    return {
        f"{kernel}: cell forward": lambda: cell.forward(params, x, carry),
        f"{kernel}: cell backward": backward,
        f"{kernel}: training step": lambda: step(1),
    }


def measure(items: dict[str, Callable[[], Any]], rounds: int, reps: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in items}
    for fn in items.values():
        fn()  # warm-up (and numba's compile or cache load)
    for r in range(rounds):
        for name, fn in items.items() if r % 2 == 0 else reversed(items.items()):
            times[name].append(cpu_ms(fn, reps))
    return times


def torch_times(B: int, H: int, T: int, dtype: str, rounds: int, reps: int) -> list[float]:
    """PyTorch's training step in a fresh process, one thread."""
    args = [sys.executable, __file__, "--torch-child", f"{B},{H},{T}", "--dtype", dtype]
    args += ["--rounds", str(rounds), "--reps", str(reps)]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    times: list[float] = json.loads(out)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="32,128,64", help="B,H,T")
    parser.add_argument("--dtype", choices=["float32", "float64", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--reps", type=int, default=10, help="calls per timed chunk")
    parser.add_argument("--torch-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_child:
        import torch

        torch.set_num_threads(1)
        B, H, T = (int(v) for v in args.torch_child.split(","))
        step = torch_step(Point("lstm", B, H, T, args.dtype))
        print(json.dumps(measure({"torch": lambda: step(1)}, args.rounds, args.reps)["torch"]))
        return
    B, H, T = (int(v) for v in args.size.split(","))
    threadpool_limits(1)
    from seqnet_lstm.cell import available_kernels

    print(f"LSTM B={B} H={H} T={T} (D = H), one thread; OPENBLAS_CORETYPE", end=" ")
    print(f"{os.environ.get('OPENBLAS_CORETYPE', 'unset')}; load {os.getloadavg()[0]:.1f}\n")
    print("| dtype | item | CPU ms (min) | median |")
    print("| --- | --- | --- | --- |")
    for dtype in ("float32", "float64") if args.dtype == "both" else (args.dtype,):
        items = gemms(B, H, T, dtype)
        for kernel in available_kernels():
            items.update(cell_parts(B, H, T, dtype, kernel))
        times = measure(items, args.rounds, args.reps)
        if torch_available():
            times["torch: training step"] = torch_times(B, H, T, dtype, args.rounds, args.reps)
        for name, ms in times.items():
            print(f"| {dtype} | {name} | {min(ms):.2f} | {statistics.median(ms):.2f} |")
        total = sum(min(ms) for name, ms in times.items() if name.startswith("GEMM"))
        print(f"| {dtype} | the five GEMMs together | {total:.2f} | |", flush=True)


if __name__ == "__main__":
    main()
