"""Why a parity run fails on long streams: what a run of equal bits does to its hidden state.

    python benchmarks/parity_dynamics.py RUN_DIR [--samples 2000]
    python benchmarks/parity_dynamics.py RUN_DIR --long 100000:100

For an Elman parity run folder (h' = tanh(x W_x + h W_h + b)): from the states after 24 random
bits, the smallest margin over `--samples` streams after k more 0s and then the bits 1, 0, 0, 1,
and the fraction of streams wrong on one of those four; then where the 0-map and the 1-map
(input held at 0 or at 1) end up from those states after 2,000 steps, with the largest
|eigenvalue| of the 0-map's Jacobian at each end state. With `--long LENGTH:SAMPLES`: each
wrong stream among those drawn as `seqnet eval` draws them, with the bits before its first
wrong output.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from seqnet.lengths import eval_groups, forward_chunked
from seqnet.rundir import RunDir
from seqnet.runner import build

PREFIX = 24
"""Random bits before the probe: the state has left the zero initial state by then."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--long", default="", help="LENGTH:SAMPLES, e.g. 100000:100")
    args = parser.parse_args()

    ckpt, spec = RunDir.open(args.run).load()
    parts = build(spec)
    if args.long:
        length, samples = (int(v) for v in args.long.split(":"))
        long_streams(parts, ckpt.params, type(parts.task)(length=length), samples)
        return
    p = ckpt.params
    w_x, w_h, b = p["layers.0.W_x"][0], p["layers.0.W_h"], p["layers.0.b"]
    w, c = p["head.W"][:, 0], float(p["head.b"][0])

    def step(h: Any, x: int) -> Any:
        return np.tanh(x * w_x + h @ w_h + b)  # (B, H)

    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, size=(PREFIX, args.samples))  # (PREFIX, B)
    start = np.zeros((args.samples, w_h.shape[0]))  # (B, H)
    for t in range(PREFIX):
        start = step(start, bits[t][:, None])
    check = forward_chunked(parts.model, p, bits[..., None].astype(np.float64))[-1, :, 0]
    assert np.allclose(start @ w + c, check), "not an Elman net with one layer"
    parity = bits.sum(axis=0) % 2  # (B,)

    print(f"after {PREFIX} random bits, k 0s, then 1, 0, 0, 1 ({args.samples} streams):")
    print("     k   smallest margin at the 4 steps   streams wrong")
    for k in (0, 4, 8, 12, 16, 20, 30, 60, 200):
        h, want = start, parity
        for _ in range(k):
            h = step(h, 0)
        margins = []
        for x in (1, 0, 0, 1):
            h, want = step(h, x), want ^ x
            margins.append((2 * want - 1) * (h @ w + c))
        signed = np.array(margins)  # (4, B)
        row = " ".join(f"{m:6.2f}" for m in signed.min(axis=1))
        print(f"  {k:4d}   {row}   {(signed.min(axis=0) < 0).mean():.3f}")

    for x in (0, 1):
        h = start
        for _ in range(2000):
            h = step(h, x)
        ends = np.unique(np.round(h, 4), axis=0)
        print(f"{x}-map: {len(ends)} distinct states after 2,000 steps of input {x}")
        if x == 0:
            for end in ends[:4]:
                jacobian = (1.0 - end**2)[None, :] * w_h  # d h' / d h, row-vector convention
                top = np.abs(np.linalg.eigvals(jacobian)).max()
                print(f"  logit {end @ w + c:6.2f}, largest |eigenvalue| of the Jacobian {top:.3f}")


def long_streams(parts: Any, params: Any, task: Any, samples: int) -> None:
    """Each wrong stream among `samples`: its first wrong step and the bits before it."""
    rng = np.random.default_rng([0, task.spec.length])
    done, wrong = 0, 0
    for batch in eval_groups(parts.model, task, samples, rng):
        z = forward_chunked(parts.model, params, batch.x)[..., 0]  # (T, B)
        signed = (2.0 * batch.y[..., 0] - 1.0) * z
        x = batch.x[..., 0].astype(int)
        for i in np.nonzero((signed < 0).any(axis=0))[0]:
            t = int(np.argmax(signed[:, i] < 0))
            before = "".join(map(str, x[max(0, t - 30) : t + 1, i]))
            count = int((signed[:, i] < 0).sum())
            print(f"stream {done + i}: first wrong output at step {t} (bits up to it: ...{before}),"
                  f" margin {signed[t, i]:.2f}; {count} wrong outputs")  # fmt: skip
            wrong += 1
        done += batch.x.shape[1]
    print(f"{wrong} wrong streams in {samples} of {task.spec.length} bits")


if __name__ == "__main__":
    main()
