"""How sharp a trained stack_rnn or tape_rnn run's memory actions are at one test length: the
mean action probabilities while it reads the input and while it answers, where the errors
begin, and the accuracy in each quarter of the answer.
`python benchmarks/chomsky_actions.py RUN_DIR [LENGTH] [SEQUENCES]` (default 500, 8).

A stack that reverses ℓ tokens must push ℓ times: a pop probability ε at each push blurs the
bottom of the stack, and the answer fails about where ℓ·ε stops being small.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from seqnet.lengths import at_length
from seqnet.rundir import RunDir
from seqnet.runner import build

NAMES = {3: ("push", "pop", "no-op"), 5: ("stay", "left", "right", "jump left", "jump right")}


def main(folder: Path, length: int, sequences: int) -> None:
    ckpt, spec = RunDir.open(folder).load()
    parts = build(spec)
    if spec.model.cell not in ("stack_rnn", "tape_rnn"):
        raise SystemExit(f"{folder} is a {spec.model.cell} run; this looks at stack_rnn/tape_rnn")
    task = at_length(parts.task, length)
    batch = task.sample(np.random.default_rng([spec.train.seed, length]), sequences)
    logits, _, cache = parts.model.forward(ckpt.params, batch.x)
    probs = cache.caches[0][4]  # the cell's cache: (x, states, reads, outs, probs, ...)
    names = NAMES[probs.shape[-1]]
    answering = np.asarray(batch.mask)[:, 0] > 0  # (T,): every sequence has the same layout
    for phase, steps in (("reading", ~answering), ("answering", answering)):
        mean = probs[steps].mean(axis=(0, 1))
        shown = ", ".join(f"{n} {p:.2e}" for n, p in zip(names, mean, strict=True))
        print(f"{phase:>9}: {shown}")
    right = np.argmax(logits, axis=-1) == np.asarray(batch.y)  # (T, B)
    outputs = right[answering]  # (m, B)
    wrong = np.flatnonzero(~outputs.all(axis=1))
    first = f"output {wrong[0]} of {outputs.shape[0]}" if wrong.size else "none"
    print(f"accuracy {outputs.mean():.4f} at length {length}; first error at {first}")
    quarters = np.array_split(outputs, 4)  # where in the answer the errors are
    print("by quarter of the answer: " + ", ".join(f"{q.mean():.4f}" for q in quarters))


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args:
        raise SystemExit(__doc__)
    main(
        Path(args[0]), int(args[1]) if len(args) > 1 else 500, int(args[2]) if len(args) > 2 else 8
    )
