"""Where a default run's training step goes, by phase: sampling, forward, loss, backward, norm and
clipping, the optimizer, and the held-out evaluation (amortized over its interval); CPU time per
step, so that a shared machine's waits are left out. One BLAS thread, as `seqnet run`."""

from __future__ import annotations

import argparse
import time
from functools import partial

from threadpoolctl import threadpool_limits

import seqnet
from seqnet.losses import get_loss
from seqnet.model import cast_batch
from seqnet.parallel import BatchParallel
from seqnet.runner import build, load_spec
from seqnet.training import Streams, clip_gradients, global_norm
from seqnet.validation import Validation


def add_since(spent: dict[str, float], name: str, since: float) -> float:
    """Add the CPU time since `since` to `spent[name]`; returns now."""
    now = time.process_time()
    spent[name] = spent.get(name, 0.0) + now - since
    return now


def phases(task: str, dtype: str, steps: int, rounds: int) -> dict[str, float]:
    """Milliseconds of CPU per training step in each phase: the fastest of `rounds` rounds."""
    spec = load_spec(task, ["train.seed=0", f"model.dtype={dtype}"])
    parts = build(spec)
    model, data, optimizer = parts.model, parts.task, parts.optimizer
    streams = Streams.from_seed(0)
    params = model.init(streams.init)
    net = BatchParallel(model, 1)
    loss_fn = get_loss(data.loss)
    validation = Validation.draw(data, spec.train, streams.eval)
    best: dict[str, float] = {}
    for _ in range(rounds):
        spent: dict[str, float] = {}
        mark = partial(add_since, spent)
        for _ in range(steps):
            t = time.process_time()
            batch = cast_batch(data.sample(streams.data, spec.train.batch), model.dtype)
            t = mark("sample", t)
            logits, _, cache = net.forward(params, batch.x, rng=streams.dropout)
            t = mark("forward", t)
            _, dlogits = loss_fn(logits, batch.y, batch.mask)
            t = mark("loss", t)
            grads, _ = net.backward(params, cache, dlogits)
            t = mark("backward", t)
            clip_gradients(grads, global_norm(grads), spec.optimizer.clip or float("inf"))
            t = mark("norm + clip", t)
            optimizer.step(params, grads)
            mark("adam", t)
        evaluations = max(1, steps // spec.train.eval_every)
        t = time.process_time()
        for _ in range(evaluations):
            validation.score(net, params, spec.train)
        mark("evaluation", t)
        for name, seconds in spent.items():
            per_step = seconds / (evaluations * spec.train.eval_every if name == "evaluation"
                                  else steps)  # fmt: skip
            best[name] = min(best.get(name, float("inf")), per_step * 1e3)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("task", nargs="?", default="adding")
    parser.add_argument("--steps", type=int, default=200, help="training steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    seqnet.keep_freed_memory()  # as the seqnet command does
    threadpool_limits(1)
    from seqnet_lstm.cell import default_kernel

    print(f"{args.task}, default spec, LSTM kernel {default_kernel()}; ms of CPU per step\n")
    rows = {dtype: phases(args.task, dtype, args.steps, args.rounds)
            for dtype in ("float64", "float32")}  # fmt: skip
    names = list(rows["float64"])
    print("| dtype | " + " | ".join(names) + " | total |")
    print("| --- " * (len(names) + 2) + "|")
    for dtype, row in rows.items():
        cells = " | ".join(f"{row[n]:.3f}" for n in names)
        print(f"| {dtype} | {cells} | {sum(row.values()):.3f} |")


if __name__ == "__main__":
    main()
