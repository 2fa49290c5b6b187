"""Why a binadd run fails on long sums: where its wrong outputs are, and what its hidden units do.

    python benchmarks/carry_dynamics.py RUN_DIR [--bits 32] [--samples 2000] [--cut 7,8]
    python benchmarks/carry_dynamics.py RUN_DIR --long 10000:1000
    python benchmarks/carry_dynamics.py RUN_DIR --runs

For an Elman binadd run folder: the wrong outputs on `--samples` fresh sums of `--bits` bits by
(a, b, carry in); the smallest margin by position in the sum; each hidden unit's mean |h| in the
first 9 steps (all an 8-bit sum has) and after step 16; the eigenvalues of W_h; and, with
`--cut`, exact_match at 64, 1,024 and 10,000 bits (500 sums each) before and after those units'
outgoing weights (their W_h rows and head weights) are set to 0. With `--long BITS:SAMPLES`:
only the wrong outputs on those sums (drawn as `seqnet eval` draws them), each with its carry in
and the length of the carry-propagate run (a != b) before it. With `--runs`: the margins
during and after a carry-propagate run of k steps, by the carry into it.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from seqnet.interfaces import Batch
from seqnet.lengths import eval_groups, evaluate_lengths, forward_chunked
from seqnet.rundir import RunDir
from seqnet.runner import build
from seqnet_binadd.task import to_bits

PREFIX = 24
"""Random bit pairs before a probe: the state has left the zero initial state by then."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--bits", type=int, default=32)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--cut", default="", help="units to cut, e.g. 7,8")
    parser.add_argument("--long", default="", help="BITS:SAMPLES, e.g. 10000:1000")
    parser.add_argument("--runs", action="store_true", help="the carry over propagate runs")
    args = parser.parse_args()

    ckpt, spec = RunDir.open(args.run).load()
    parts = build(spec)
    params = ckpt.params
    task_cls = type(parts.task)
    if args.long:
        bits, samples = (int(v) for v in args.long.split(":"))
        long_sums(parts, params, task_cls(bits=bits), samples)
        return
    if args.runs:
        propagate_runs(parts, params, task_cls(bits=PREFIX), args.samples)
        return
    task = task_cls(bits=args.bits)
    batch = task.sample(np.random.default_rng([0, args.bits]), args.samples)
    layer = parts.model.layers[0]
    carry0 = layer.initial_carry(args.samples, np.dtype("float64"))
    weights = parts.model.sub(params, "layers.0.")
    h, _, _ = layer.forward(weights, batch.x, carry0, None)  # (T, B, H)
    z = (h @ params["head.W"] + params["head.b"])[..., 0]  # (T, B)
    signed = (2.0 * batch.y[..., 0] - 1.0) * z  # margin of every output, (T, B)
    rows = task.step_rows(batch)
    a, b, c = rows["a"], rows["b"], rows["carry in"]

    wrong = signed < 0
    print(f"{args.samples} sums of {args.bits} bits: exact {1 - wrong.any(axis=0).mean():.3f},"
          f" {int(wrong.sum())} wrong outputs")  # fmt: skip
    kinds = Counter(
        (int(a[t, i]), int(b[t, i]), int(c[t, i])) for t, i in zip(*np.nonzero(wrong), strict=True)
    )
    print("wrong outputs by (a, b, carry in):", dict(kinds.most_common()))
    print("smallest margin by position t in the sum:")
    for t in range(signed.shape[0]):
        print(f"  t={t:3d}  {signed[t].min():6.2f}")

    early, late = np.abs(h[:9]).mean(axis=(0, 1)), np.abs(h[16:]).mean(axis=(0, 1))
    print("unit  mean|h| t<9  t>=16  head.W")
    for unit in range(h.shape[2]):
        print(
            f"{unit:4d}  {early[unit]:10.2f}  {late[unit]:5.2f}  {params['head.W'][unit, 0]:6.2f}"
        )
    eig = np.linalg.eigvals(params["layers.0.W_h"])
    print("eigenvalues of W_h by real part:", np.round(sorted(eig, key=lambda e: e.real), 3))

    if args.cut:
        units = [int(u) for u in args.cut.split(",")]
        block = params["layers.0.W_h"][np.ix_(units, units)]
        print(f"W_h among units {units}:\n{np.round(block, 3)}\neigenvalues"
              f" {np.round(np.linalg.eigvals(block), 3)}")  # fmt: skip
        options = spec.options("task")
        lengths = [64, 1024, 10000]
        before = evaluate_lengths(parts.model, params, task_cls, options, lengths, 500)
        cut = {name: value.copy() for name, value in params.items()}
        cut["layers.0.W_h"][units, :] = 0.0
        cut["head.W"][units, :] = 0.0
        after = evaluate_lengths(parts.model, cut, task_cls, options, lengths, 500)
        for length in map(str, lengths):
            print(f"exact_match at {length} bits: {before[length]['exact_match']:.3f},"
                  f" with units {units} cut {after[length]['exact_match']:.3f}")  # fmt: skip


def propagate_runs(parts: Any, params: Any, task: Any, samples: int) -> None:
    """After PREFIX random bit pairs, k carry-propagate steps (a != b, the carry into the run
    passes through it) and then 4 random pairs: the smallest margin over the run's outputs and
    over the 4 after it, and the fraction of sums with a wrong output, by the carry into the
    run."""
    rng = np.random.default_rng(0)
    print(f"after {PREFIX} random bit pairs, k propagate steps, then 4 random pairs"
          f" ({samples} sums): smallest margin in the run / after it, sums wrong")  # fmt: skip
    print("     k    carry in 0              carry in 1")
    for k in (4, 8, 12, 16, 24, 32, 64, 256):
        n = PREFIX + k + 4
        words = rng.integers(0, 2, size=(n, samples, 2), dtype=np.uint8)  # (n, B, 2)
        words[PREFIX : PREFIX + k, :, 1] = 1 - words[PREFIX : PREFIX + k, :, 0]
        x = np.zeros((n + 1, samples, 2))
        x[:n] = words
        a, b = task.decode(words[..., 0]), task.decode(words[..., 1])
        y = np.stack([to_bits(p + q, n + 1) for p, q in zip(a, b, strict=True)], axis=1)
        z = forward_chunked(parts.model, params, x)[..., 0]  # (n + 1, B)
        signed = (2.0 * y - 1.0) * z
        carry = task.step_rows(Batch(x, y[..., None], np.ones(y.shape)))["carry in"][PREFIX]
        row = []
        for c in (0, 1):
            pick = carry == c
            inside = signed[PREFIX : PREFIX + k, pick].min()
            after = signed[PREFIX + k :, pick].min()
            wrong = (signed[:, pick] < 0).any(axis=0).mean()
            row.append(f"{inside:6.2f} / {after:6.2f}  {wrong:.3f}")
        print(f"  {k:4d}   " + "   ".join(row))


def long_sums(parts: Any, params: Any, task: Any, samples: int) -> None:
    """Every wrong output on `samples` long sums: position, (a, b, carry in), the run of
    carry-propagate steps before it. Drawn in the groups `seqnet eval` uses, so the same sums."""
    rng = np.random.default_rng([0, task.spec.bits])
    done, wrong = 0, 0
    for batch in eval_groups(parts.model, task, samples, rng):
        z = forward_chunked(parts.model, params, batch.x)[..., 0]  # (T, B)
        signed = (2.0 * batch.y[..., 0] - 1.0) * z
        rows = task.step_rows(batch)
        a, b, c = rows["a"], rows["b"], rows["carry in"]
        for t, i in zip(*np.nonzero(signed < 0), strict=True):
            run = 0
            while t - run - 1 >= 0 and a[t - run - 1, i] != b[t - run - 1, i]:
                run += 1
            kind = (int(a[t, i]), int(b[t, i]), int(c[t, i]))
            print(f"sum {done + i}, step {t}: (a, b, carry in) = {kind},"
                  f" after {run} propagate steps, margin {signed[t, i]:.2f}")  # fmt: skip
            wrong += 1
        done += batch.x.shape[1]
    print(f"{wrong} wrong outputs in {samples} sums of {task.spec.bits} bits")


if __name__ == "__main__":
    main()
