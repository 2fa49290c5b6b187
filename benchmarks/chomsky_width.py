"""What a training step of each benchmark cell costs at 64, 128 and 256 hidden units, relative
to 64: CPU time of one forward and backward on a batch of 32 reverse_string sequences of input
length 20 (the training range's mean), one BLAS thread.
`python benchmarks/chomsky_width.py [float32|float64]` (default float32, the benchmark's).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from seqnet import load_spec
from seqnet.lengths import at_length
from seqnet.runner import build

CELLS = {"elman": ["model.activation=relu"], "lstm": [], "stack_rnn": [], "tape_rnn": []}
REPEATS = 20


def step_seconds(cell: str, hidden: int, dtype: str) -> float:
    spec = load_spec("reverse_string", [f"model.cell={cell}", f"model.hidden={hidden}",
                                        f"model.dtype={dtype}", *CELLS[cell]])  # fmt: skip
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
    dtype = sys.argv[1] if len(sys.argv) > 1 else "float32"
    with threadpool_limits(limits=1):
        for cell in CELLS:
            times = {h: step_seconds(cell, h, dtype) for h in (64, 128, 256)}
            shown = "  ".join(f"H={h}: {1000 * t:5.1f} ms ({t / times[64]:.1f}×)"
                              for h, t in times.items())  # fmt: skip
            print(f"{cell:>9}  {shown}", flush=True)


if __name__ == "__main__":
    main()
