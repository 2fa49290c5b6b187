"""Scoring a trained run as `Run.evaluate` and `seqnet eval` do: at lengths on fresh data, on a
task's held-out data, or on a data file. The scoring itself is seqnet.lengths' and
seqnet.scoring's; this module decides which applies and with which task options.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from seqnet import specs
from seqnet.checkpoint import Checkpoint
from seqnet.errors import SpecError
from seqnet.interfaces import FileData, Params
from seqnet.lengths import evaluate_lengths, forward_chunked, length_option, length_option_of
from seqnet.losses import get_loss
from seqnet.model import cast_batch
from seqnet.overrides import apply_overrides
from seqnet.registry import Registry
from seqnet.runner import Parts, build
from seqnet.scoring import score_file
from seqnet.specs import RunSpec
from seqnet.validation import heldout

MAX_LENGTHS = 100_000
"""The most lengths one evaluation may name."""
MAX_SAMPLES = 10_000_000
"""The most fresh sequences per length."""


def checked_lengths(lengths: Sequence[int] | None) -> list[int]:
    """`lengths` as a list of whole numbers >= 1 (at most MAX_LENGTHS of them), or []."""
    if lengths is None:
        return []
    asked = list(lengths)
    if not asked or len(asked) > MAX_LENGTHS:
        raise SpecError(f"lengths must name 1 to {MAX_LENGTHS:,} lengths (got {len(asked):,})")
    for n in asked:
        if type(n) is not int or n < 1:
            raise SpecError(f"lengths must be whole numbers >= 1 (got {n!r})")
    return asked


def evaluate_run(
    ckpt: Checkpoint,
    trained: RunSpec,
    changes: list[tuple[str, Any]],
    lengths: list[int],
    samples: int,
    seed: int,
    data: Path | None,
    registry: Registry,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """What `Run.evaluate` returns (see there), for a checkpoint and its spec; `changes` are
    (task.option, value) pairs already checked to name task options only. `on_progress(done,
    total)` follows the scoring at lengths (seqnet.lengths.evaluate_lengths)."""
    if type(samples) is not int or not 1 <= samples <= MAX_SAMPLES:
        raise SpecError(f"samples must be a whole number from 1 to {MAX_SAMPLES:,}")
    if type(seed) is not int or seed < 0:
        raise SpecError(f"seed must be a whole number >= 0 (got {seed!r})")
    task_cls = registry.get("task", trained.task.name).cls
    key_name = f"task.{length_option(task_cls)}" if lengths else ""
    # the lengths asked win over a change of the same option; the task's Spec checks the
    # shortest and the longest of them
    kept = [(p, v) for p, v in changes if p != key_name]
    ends = sorted({min(lengths), max(lengths)}) if lengths else []
    checked = [
        specs.resolve(apply_overrides(ckpt.spec, [*kept, (key_name, n)], registry), registry)
        for n in ends
    ]
    if checked:
        spec = checked[0]
    else:
        spec = specs.resolve(apply_overrides(ckpt.spec, changes, registry), registry)
    if not lengths:
        parts = build(spec, registry)
        if isinstance(parts.task, FileData):
            with threadpool_limits(1):
                scores = score_file(parts.model, ckpt.params, parts.task, data)
            return {"data": str(data) if data is not None else "the test part", **scores}
        if length_option_of(type(parts.task)) is None and data is None:
            return score_heldout(parts, ckpt.params, samples, seed)
    if data is not None:
        raise SpecError(f"task '{spec.task.name}' does not read data files; --data is for those")
    parts = build(trained, registry)  # the trained model; each length's task is made in turn
    options = spec.options("task")
    wanted = lengths or [int(options[length_option(task_cls)])]
    with threadpool_limits(1):  # tiny matrices: one BLAS thread is the fastest
        table = evaluate_lengths(
            parts.model, ckpt.params, task_cls, options, wanted, samples, seed, on_progress
        )
    names = sorted({name for row in table.values() for name in row} - {"loss"})
    # each length weighs the same (the score of Delétang et al. 2023 over lengths 41..500)
    mean = {n: sum(row[n] for row in table.values()) / len(table) for n in names}
    return {"lengths": {int(k): v for k, v in table.items()}, "mean": mean}


def score_heldout(parts: Parts, params: Params, samples: int, seed: int) -> dict[str, Any]:
    """`{"heldout": metrics, "sequences": n}` for a task without a length (charlm): its
    `heldout` data (the tail of charlm's text; `task.path` for another file), else fresh
    samples."""
    task, model = parts.task, parts.model
    trained = params["head.W"].shape[-1] if "head.W" in params else task.output_size
    if task.output_size != trained or model.input_size != task.input_size:
        raise SpecError(
            f"the task now has {task.output_size} outputs, the model was trained on {trained}"
            " (a text with other characters?)"
        )
    with threadpool_limits(1):
        batch = cast_batch(heldout(task, np.random.default_rng(seed), samples), model.dtype)
        logits = forward_chunked(model, params, batch.x)
        loss, _ = get_loss(task.loss)(logits, batch.y, batch.mask)
        scores = {"loss": float(loss), **task.metrics(logits, batch)}
    return {"heldout": scores, "sequences": batch.x.shape[1]}
