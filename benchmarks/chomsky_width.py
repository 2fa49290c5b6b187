"""What a training step of each benchmark cell costs at 64, 128 and 256 hidden units, relative
to 64: CPU time of one forward and backward on a batch of 32 reverse_string sequences of input
length 20 (the training range's mean), one BLAS thread. `python benchmarks/chomsky_width.py`.
"""

from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_limits

from seqnet import load_spec
from seqnet.lengths import at_length
from seqnet.runner import build

CELLS = {"elman": ["model.activation=relu"], "lstm": [], "stack_rnn": [], "tape_rnn": []}
REPEATS = 20


def step_seconds(cell: str, hidden: int) -> float:
    spec = load_spec("reverse_string", [f"model.cell={cell}", f"model.hidden={hidden}",
                                        "model.dtype=float64", *CELLS[cell]])  # fmt: skip
    parts = build(spec)
    params = parts.model.init(np.random.default_rng(0))
    batch = at_length(parts.task, 20).sample(np.random.default_rng(0), 32)
    logits, _, cache = parts.model.forward(params, batch.x)  # warm up
    parts.model.backward(params, cache, np.full_like(logits, 1e-3))
    best = float("inf")
    for _ in range(REPEATS):
        start = time.process_time()
        logits, _, cache = parts.model.forward(params, batch.x)
        parts.model.backward(params, cache, np.full_like(logits, 1e-3))
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    with threadpool_limits(limits=1):
        for cell in CELLS:
            times = {h: step_seconds(cell, h) for h in (64, 128, 256)}
            shown = "  ".join(f"H={h}: {1000 * t:5.1f} ms ({t / times[64]:.1f}×)"
                              for h, t in times.items())  # fmt: skip
            print(f"{cell:>9}  {shown}", flush=True)


if __name__ == "__main__":
    main()
