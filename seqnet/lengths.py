"""Evaluation at other lengths: fresh samples, scored in pieces so 100,000 steps fit in memory.

A task says which of its options is the length through `length_option` (binadd: `bits`); an
option `<length_option>_min` (binadd: `bits_min`), when not 0, makes it train on lengths drawn
per batch from a range.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from seqnet.errors import SpecError
from seqnet.interfaces import Array, Batch, Carry, Params, Task
from seqnet.model import Sequential, cast_batch
from seqnet.spec_errors import validate

ELEMENTS = 2_000_000
"""Sequences are drawn in groups of about ELEMENTS / T, so a batch stays near 100 MB."""
NUMBERS = 32_000_000
"""...and of at most NUMBERS / (T × H), so that each (T, B, H) array the forward pass keeps
stays near 256 MB in float64 however wide the model (H = 16 reaches neither bound first)."""
TIME_CHUNK = 4096
"""The model runs this many steps at a time, carrying its state across chunks."""


def length_option_of(task_cls: type[Any]) -> str | None:
    """The option that sets a task's sequence length (`bits`), or None if it has none."""
    name = getattr(task_cls, "length_option", None)
    return name if isinstance(name, str) else None


def length_option(task_cls: type[Any]) -> str:
    """As `length_option_of`, for a task that must have one: a SpecError naming it if not."""
    name = length_option_of(task_cls)
    if name is None:
        raise SpecError(f"task '{task_cls.name}' does not say which option is its length")
    return name


def range_option(task_cls: type[Any]) -> str | None:
    """The option that, when not 0, is the shortest length a task trains on (`bits_min`), or
    None if the task has no such option."""
    name = f"{length_option(task_cls)}_min"
    return name if name in getattr(task_cls.Spec, "model_fields", {}) else None


def options_at_length(task_cls: type[Any], options: dict[str, Any], length: int) -> dict[str, Any]:
    """A task's options changed to score sequences of exactly `length` (no range of lengths)."""
    changed = {**options, length_option(task_cls): length}
    low = range_option(task_cls)
    if low is not None:
        changed[low] = 0
    return changed


def task_options(task: Task) -> dict[str, Any]:
    """The validated options of a task instance (the reference plugins keep them in `spec`)."""
    spec = getattr(task, "spec", None)
    if spec is None or not hasattr(spec, "model_dump"):
        raise SpecError(f"task '{task.name}' keeps no `spec` of its options to change its length")
    return dict(spec.model_dump())


def at_length(task: Task, length: int) -> Task:
    """The same task with sequences of exactly `length` (its length option set to it)."""
    cls = type(task)
    return cls(**options_at_length(cls, task_options(task), length))


def up_to(task: Task, length: int) -> Task:
    """The same task training on lengths up to `length`: drawn per batch from its
    `<length_option>_min` (1 when that is 0) to `length`, or exactly `length` when the task has
    no such option."""
    cls = type(task)
    options = {**task_options(task), length_option(cls): length}
    low = range_option(cls)
    if low is not None:
        options[low] = options[low] or 1
    return cls(**options)


def fixed_length(task: Task) -> Task:
    """`task` itself, or, if it draws its training lengths from a range, the task at the top
    of the range: held-out sets are scored at one known length."""
    cls = type(task)
    if not isinstance(getattr(cls, "length_option", None), str):
        return task
    low = range_option(cls)
    if low is None:
        return task
    options = task_options(task)
    if not options.get(low):
        return task
    return at_length(task, int(options[length_option(cls)]))


def forward_chunked(model: Sequential, params: Params, x: Array) -> Array:
    """Logits (T, B, V) for x (T, B, D), TIME_CHUNK steps at a time (the same numbers): the
    carries start sized for all T steps (a stack or tape for the whole sequence, not for its
    first chunk)."""
    carries: list[Carry] | None = model.initial_carries(x.shape[1], x.shape[0])
    pieces = []
    for start in range(0, x.shape[0], TIME_CHUNK):
        logits, carries, _ = model.forward(params, x[start : start + TIME_CHUNK], carries)
        pieces.append(logits)
    return np.concatenate(pieces) if len(pieces) > 1 else pieces[0]


def evaluate_length(
    model: Sequential,
    params: Params,
    task: Task,
    samples: int,
    rng: np.random.Generator,
    on_group: Callable[[int], None] | None = None,
) -> dict[str, float]:
    """The task's metrics over `samples` fresh sequences, averaged over groups by group size
    (exact for metrics that are means over sequences of equal scored length). `on_group(n)`
    is called after each group of n sequences."""
    totals: dict[str, float] = {}
    done = 0
    for batch in eval_groups(model, task, samples, rng):
        n = batch.x.shape[1]
        logits = forward_chunked(model, params, batch.x)
        for name, value in task.metrics(logits, batch).items():
            totals[name] = totals.get(name, 0.0) + value * n
        done += n
        if on_group is not None:
            on_group(n)
    return {name: total / done for name, total in totals.items()}


def eval_groups(
    model: Sequential, task: Task, samples: int, rng: np.random.Generator
) -> Iterator[Batch]:
    """`samples` fresh sequences of `task` in the model's precision, in the groups `seqnet eval`
    draws them: one sequence first, to learn T, then about ELEMENTS / T at a time (fewer for a
    wide model, NUMBERS / (T × width)). The group sizes decide which sequences a generator
    gives, so whoever wants `seqnet eval`'s sequences draws them here."""
    done, group = 0, 1
    while done < samples:
        batch = cast_batch(task.sample(rng, min(group, samples - done)), model.dtype)
        yield batch
        done += batch.x.shape[1]
        T = batch.x.shape[0]
        group = max(1, min(ELEMENTS // T, NUMBERS // (T * max(model.width, 1))))


def evaluate_lengths(
    model: Sequential,
    params: Params,
    task_cls: type[Any],
    options: dict[str, Any],
    lengths: list[int],
    samples: int,
    seed: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, dict[str, float]]:
    """{str(length): metrics} on fresh data: one generator per length from (seed, length).

    `on_progress(done, total)` is called after each group of sequences, counting sequence
    steps (each sequence counts its length), so that it can drive a progress bar."""
    specs = [
        validate(task_cls.Spec, options_at_length(task_cls, options, length), ("task",))
        for length in lengths
    ]  # every length checked before anything runs: a bad one is one line, not a traceback
    out: dict[str, dict[str, float]] = {}
    total, done = samples * sum(lengths), 0
    for length, spec in zip(lengths, specs, strict=True):
        task = task_cls(**spec.model_dump())
        rng = np.random.default_rng([seed, length])
        on_group = None
        if on_progress is not None:

            def on_group(n: int, length: int = length) -> None:
                nonlocal done
                done += n * length
                on_progress(done, total)

        out[str(length)] = evaluate_length(model, params, task, samples, rng, on_group)
    return out


def length_score(
    model: Sequential,
    params: Params,
    task_cls: type[Any],
    options: dict[str, Any],
    lengths: list[int],
    samples: int,
    seed: int = 0,
    metric: str | None = None,
) -> tuple[float, dict[str, dict[str, float]]]:
    """The mean over `lengths` of a metric (default: the task's target metric) on fresh data,
    and the table it came from (`evaluate_lengths`).

    With a task whose metric is the per-sequence share of right outputs averaged over sequences
    (the Chomsky tasks' `accuracy`) and lengths 41..500, this is the score of Delétang et al.
    (2023): each length weighs the same, however many outputs it has.
    """
    name = metric or task_cls.target_metric
    table = evaluate_lengths(model, params, task_cls, options, lengths, samples, seed)
    if any(name not in row for row in table.values()):
        raise SpecError(f"task '{task_cls.name}' has no metric '{name}'")
    values = [row[name] for row in table.values()]
    return float(np.mean(values)), table
