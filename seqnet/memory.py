"""The memory a run will need, estimated before anything large is allocated, against what the
machine has: one check, in `seqnet.runner.build`, for every size a spec holds.
"""

from __future__ import annotations

import os
from itertools import pairwise
from typing import Any

import numpy as np

from seqnet.errors import SeqnetError

CACHE_PER_UNIT = 8
"""Arrays of size H that a cell's forward keeps per step and sequence for backward (LSTM: 7)."""


class TooLarge(SeqnetError):
    """A size the machine cannot hold (a usage error: ask for less)."""

    exit_code = 2


def available() -> int:
    """Bytes this process can still get: MemAvailable from /proc/meminfo, else physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):
        return 16 * 2**30


def gigabytes(n: float) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def parameter_count(
    cell_cls: type[Any], options: dict[str, Any], hidden: int, inputs: int
) -> float:
    """Parameters of one layer, from tiny probes of the cell: a recurrent cell's count is a
    polynomial a·H² + b·H·D + c·H + d·D + e, fitted exactly on nine small (H, D) pairs."""
    rng = np.random.default_rng(0)  # the probes' values are thrown away; only sizes count
    rows, counts = [], []
    try:
        for h in (2, 3, 4):
            for d in (2, 3, 4):
                params = cell_cls(**{**options, "hidden": h}).init(rng, d)
                counts.append(sum(np.asarray(v).size for v in params.values()))
                rows.append([h * h, h * d, h, d, 1])
    except Exception:  # a cell that cannot be probed this small: assume four gates, like an LSTM
        return 4.0 * hidden * (hidden + inputs + 1)
    coef = np.linalg.lstsq(np.array(rows, float), np.array(counts, float), rcond=None)[0]
    return float(np.dot(coef, [hidden * hidden, hidden * inputs, hidden, inputs, 1]))


def check_sizes(spec: Any, task: Any, sizes: list[int]) -> float:
    """`check` for a model given as a list of layers, from each layer's output size (`sizes`):
    parameters counted as if every layer were an LSTM of that width over the one before (an
    upper bound for the built-in layers), activations as CACHE_PER_UNIT per unit and step."""
    widths = [task.input_size, *sizes]
    params = sum(4.0 * h * (d + h + 1) for d, h in pairwise(widths))
    params += (widths[-1] + 1) * task.output_size
    try:
        steps = task.sample(np.random.default_rng(0), 1).x.shape[0]
    except (SeqnetError, OSError):
        steps = 0
    t = spec.train
    per_step = CACHE_PER_UNIT * sum(sizes) + task.input_size + 2 * task.output_size
    need = np.dtype(spec.model.dtype).itemsize * (
        4 * params + float(steps) * (t.batch + t.eval_samples) * per_step
    )
    have = available()
    if need > have:
        raise TooLarge(
            f"this run needs about {gigabytes(need)} (layer widths {sizes}, train.batch"
            f" {t.batch:,}, train.eval_samples {t.eval_samples:,}, steps per sequence {steps:,};"
            f" {params:,.0f} parameters at most), more than the {gigabytes(have)} this machine"
            " has available"
        )
    return float(need)


def check(spec: Any, task: Any, cell_cls: type[Any], what: dict[str, Any] | None = None) -> float:
    """Refuse (TooLarge, one line) a run whose estimated memory is past what is available;
    returns the estimate in bytes. `spec` is a resolved RunSpec whose task is `task`."""
    m, t = spec.model, spec.train
    options = spec.options("model")
    first = parameter_count(cell_cls, options, m.hidden, task.input_size)
    rest = parameter_count(cell_cls, options, m.hidden, m.hidden) * (m.layers - 1)
    head = (m.hidden + 1) * task.output_size
    params = first + rest + head
    try:
        steps = task.sample(np.random.default_rng(0), 1).x.shape[0]  # T of one sequence
    except (SeqnetError, OSError):
        # a task that reads a data file it no longer has (eval --data elsewhere): its
        # sequences are bounded by that file; count the parameters alone
        steps = 0
    per_step = CACHE_PER_UNIT * m.hidden * m.layers + task.input_size + 2 * task.output_size
    sequences = t.batch + t.eval_samples
    itemsize = np.dtype(m.dtype).itemsize
    # parameters, gradients and two optimizer slots; activations of a batch and a held-out set
    need = itemsize * (4 * params + float(steps) * sequences * per_step)
    have = available()
    if need > have:
        asked = what or {
            "model.hidden": m.hidden,
            "model.layers": m.layers,
            "train.batch": t.batch,
            "train.eval_samples": t.eval_samples,
            "steps per sequence": steps,
        }
        shown = ", ".join(f"{k} {v:,}" for k, v in asked.items())
        raise TooLarge(
            f"this run needs about {gigabytes(need)} ({shown}; {params:,.0f} parameters),"
            f" more than the {gigabytes(have)} this machine has available"
        )
    return float(need)
