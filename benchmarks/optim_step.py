"""Time one optimizer step (the flat one-pass path) at a realistic size, per optimizer and option.

    python benchmarks/optim_step.py [--size 279680] [--dtype float32] [--repeat 7]

Parameters are views of one flat buffer, as `seqnet.Model.init` makes them; the default size is
a 2-layer LSTM with H = 128 on 128 inputs and a 128-unit head: 279,680 numbers in 7 arrays. Each
optimizer gets the same gradients; the time is the fastest of `--repeat` chunks of 50 steps.
"""

from __future__ import annotations

import argparse
import itertools
import time
from typing import Any

import numpy as np

from seqnet.plugins import default_registry

CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("adam", {}),
    ("adam", {"weight_decay": 0.01}),
    ("adam", {"amsgrad": True}),
    ("adamw", {}),
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "weight_decay": 0.01}),
    ("rmsprop", {}),
    ("rmsprop", {"centered": True, "momentum": 0.9}),
    ("adagrad", {}),
    ("adam", {"schedule": {"name": "cosine", "steps": 1000}}),
]


def flat_problem(size: int, pieces: int, dtype: str) -> tuple[dict[str, Any], dict[str, Any]]:
    rng = np.random.default_rng(0)
    buffer = rng.standard_normal(size).astype(dtype)
    cuts = np.linspace(0, size, pieces + 1).astype(int)
    params = {f"p{i}": buffer[a:b] for i, (a, b) in enumerate(itertools.pairwise(cuts))}
    grads = {n: rng.standard_normal(p.shape).astype(dtype) * 1e-3 for n, p in params.items()}
    return params, grads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=279680)
    parser.add_argument("--pieces", type=int, default=7)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--only", default="", help="optimizer name to time alone")
    args = parser.parse_args()
    registry = default_registry()
    known = set(registry.names("optimizer"))
    print(f"size={args.size} pieces={args.pieces} dtype={args.dtype}")
    for name, options in CONFIGS:
        if name not in known or (args.only and name != args.only):
            continue
        try:
            opt = registry.get("optimizer", name).cls(**options)
        except Exception:  # an option this version does not have
            continue
        params, grads = flat_problem(args.size, args.pieces, args.dtype)
        opt.step(params, grads)  # warm up: builds the flat state
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            for _ in range(50):
                opt.step(params, grads)
            best = min(best, (time.perf_counter() - start) / 50)
        print(f"{name:8s} {options!s:55s} {best * 1e6:9.1f} µs/step")


if __name__ == "__main__":
    main()
