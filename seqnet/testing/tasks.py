"""The task conformance kit: `check_task` holds any task to the contract the engine relies on.

`perfect_outputs` turns a batch's targets into the outputs a perfect model would give under the
task's loss; the metrics must call those perfect. Every failure is an AssertionError that names
the task and what is wrong.
"""

from __future__ import annotations

import math

import numpy as np

from seqnet import defaults, specs
from seqnet.errors import SeqnetError
from seqnet.interfaces import Array, Batch, Task
from seqnet.losses import get_loss
from seqnet.registry import Entry, Registry, contract_problems

__all__ = ["CONFIDENT", "check_task", "perfect_outputs", "wrong_outputs"]

CONFIDENT = 30.0
"""The logit of a confident output: sigmoid(30) and softmax's share differ from 1 by ~1e-13."""


def perfect_outputs(task: Task, batch: Batch) -> Array:
    """The outputs (T, B, V), float64, of a model that is exactly right on `batch`.

    sigmoid_bce: the log-odds of the targets (±30 for 0/1 targets); softmax_ce: 30 on the
    target class and 0 elsewhere; mse: the targets themselves.
    """
    y = np.asarray(batch.y)
    if task.loss == "softmax_ce":
        onehot = np.zeros((*y.shape, task.output_size))  # (T, B, V)
        np.put_along_axis(onehot, y[..., None].astype(np.intp), CONFIDENT, axis=-1)
        return onehot
    if task.loss == "sigmoid_bce":
        p = np.clip(y.astype(np.float64), 1e-13, 1.0 - 1e-13)
        return np.log(p) - np.log1p(-p)
    return y.astype(np.float64, copy=True)


def wrong_outputs(task: Task, batch: Batch) -> Array:
    """Outputs that are wrong at every step: the other side of 1/2, the next class, y + 1."""
    y = np.asarray(batch.y)
    if task.loss == "softmax_ce":
        shifted = (y.astype(np.intp) + 1) % task.output_size
        return perfect_outputs(task, Batch(batch.x, shifted, batch.mask))
    if task.loss == "sigmoid_bce":
        return np.where(y > 0.5, -CONFIDENT, CONFIDENT)
    return y.astype(np.float64) + 1.0


def check_task(
    task: Task, *, seed: int = 0, batch: int = 3, registry: Registry | None = None
) -> None:
    """Check a task instance against the Task contract; raise AssertionError if it falls short.

    - the class: a `name`, a `Spec` that forbids unknown options, `loss`, `target_metric`,
      `defaults`, the methods; `input_size` and `output_size` positive ints;
    - `sample(rng, batch)`: a Batch with x (T, B, input_size) float (or (T, B) integer token
      ids below `vocab_size`, if the task declares one), y (T, B, V) float (in [0, 1]
      for sigmoid_bce) or (T, B) int classes in [0, V) for softmax_ce, mask (T, B) of 0s and 1s
      with at least one scored step per sequence, all finite; the same seed gives the same data;
    - `metrics`: finite floats, never `loss` (the engine's), the target metric at most 1,
      exactly 1 on `perfect_outputs` (in float64 and float32), below 1 when every output is
      wrong, unchanged by anything at unscored steps, and the inputs left untouched;
      the perfect outputs are also a minimum of the task's loss (its gradient is ~0);
    - `examples(outputs, batch, count)`: `min(count, B)` non-empty one-line strings;
    - `defaults`: the task's default run spec resolves against `registry` (default: the
      installed plugins, plus this task), so `seqnet run NAME` starts.
    """
    cls = type(task)
    problems = contract_problems("task", cls)
    if problems:
        raise AssertionError("; ".join(problems))
    who = f"task '{cls.name}'"
    for size in ("input_size", "output_size"):
        value = getattr(task, size)
        _require(isinstance(value, int) and value > 0, f"{who}: {size} must be an int > 0")

    sample = _check_sample(task, who, seed, batch)
    _check_metrics(task, who, sample)
    _check_examples(task, who, sample)
    _check_defaults(task, who, registry)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _check_sample(task: Task, who: str, seed: int, batch: int) -> Batch:
    got = task.sample(np.random.default_rng(seed), batch)
    _require(isinstance(got, Batch), f"{who}: sample() must return a seqnet.Batch, not {got!r}")
    x, y, mask = (np.asarray(a) for a in (got.x, got.y, got.mask))
    vocab = getattr(task, "vocab_size", None)
    if vocab is not None:  # a task that gives token ids
        _require(vocab == task.input_size, f"{who}: vocab_size must equal input_size")
        _require(x.ndim == 2, f"{who}: token ids x must be (T, B), got shape {x.shape}")
        _require(x.dtype.kind in "iu", f"{who}: token ids x must be integers, are {x.dtype}")
        inside = bool(((x >= 0) & (x < vocab)).all())
        _require(inside, f"{who}: token ids must lie in [0, vocab_size={vocab})")
    else:
        _require(x.ndim == 3, f"{who}: x must be (T, B, D), got shape {x.shape}")
    T, V = x.shape[0], task.output_size
    _require(T > 0, f"{who}: x has no time steps")
    expected = (T, batch) if vocab is not None else (T, batch, task.input_size)
    _require(x.shape == expected, f"{who}: x has shape {x.shape}, expected {expected}")
    if vocab is None:
        _require(x.dtype.kind == "f", f"{who}: x must be floating point, is {x.dtype}")
        _require(bool(np.isfinite(x).all()), f"{who}: x is not finite everywhere")
    _require(mask.shape == (T, batch), f"{who}: mask has shape {mask.shape}, expected (T, B)")
    _require(mask.dtype.kind in "biuf", f"{who}: mask must be numeric, is {mask.dtype}")
    _require(bool(np.isin(mask, (0, 1)).all()), f"{who}: mask must hold only 0 and 1")
    scored = (mask > 0).any(axis=0)
    _require(bool(scored.all()), f"{who}: every sequence needs at least one scored step")
    if task.loss == "softmax_ce":
        _require(y.shape == (T, batch), f"{who}: softmax_ce targets must be (T, B), got {y.shape}")
        _require(y.dtype.kind in "iu", f"{who}: softmax_ce targets must be ints, are {y.dtype}")
        inside = bool(((y >= 0) & (y < V)).all())
        _require(inside, f"{who}: targets must be classes in [0, {V}) at every step")
    else:
        want = (T, batch, V)
        _require(y.shape == want, f"{who}: targets have shape {y.shape}, expected {want}")
        _require(y.dtype.kind == "f", f"{who}: {task.loss} targets must be floats, are {y.dtype}")
        _require(bool(np.isfinite(y).all()), f"{who}: targets are not finite everywhere")
    if task.loss == "sigmoid_bce":
        inside = bool(((y >= 0.0) & (y <= 1.0)).all())
        _require(inside, f"{who}: sigmoid_bce targets must lie in [0, 1]")

    again = task.sample(np.random.default_rng(seed), batch)
    same = all(
        np.array_equal(np.asarray(a), np.asarray(b)) and np.asarray(a).dtype == np.asarray(b).dtype
        for a, b in ((got.x, again.x), (got.y, again.y), (got.mask, again.mask))
    )
    _require(same, f"{who}: the same seed must give the same data (use only the rng passed in)")
    one = task.sample(np.random.default_rng(seed + 1), 1)
    _require(np.asarray(one.x).shape[1] == 1, f"{who}: sample(rng, 1) must have B = 1")
    return got


def _check_metrics(task: Task, who: str, batch: Batch) -> None:
    target = task.target_metric
    before = [np.array(a, copy=True) for a in (batch.x, batch.y, batch.mask)]
    perfect = perfect_outputs(task, batch)
    _, dlogits = get_loss(task.loss)(perfect.copy(), np.asarray(batch.y), np.asarray(batch.mask))
    _require(
        float(np.abs(dlogits).max()) < 1e-6,
        f"{who}: the targets are not a minimum of its {task.loss} loss (check y and the loss)",
    )

    def score(outputs: Array, data: Batch, what: str) -> dict[str, float]:
        kept = outputs.copy()
        metrics = task.metrics(outputs, data)
        _require(isinstance(metrics, dict), f"{who}: metrics() must return a dict")
        _require("loss" not in metrics, f"{who}: `loss` is the engine's metric; rename it")
        _require(target in metrics, f"{who}: metrics() lacks the target metric '{target}'")
        for name, value in metrics.items():
            ok = isinstance(value, float | int | np.floating | np.integer) and math.isfinite(value)
            _require(ok, f"{who}: metric '{name}' on {what} is {value!r}, not a finite number")
        _require(metrics[target] <= 1.0, f"{who}: '{target}' on {what} is above 1")
        _require(np.array_equal(kept, outputs), f"{who}: metrics() changed the outputs")
        return {name: float(value) for name, value in metrics.items()}

    best = score(perfect, batch, "perfect outputs")
    _require(best[target] == 1.0, f"{who}: '{target}' is {best[target]} on perfect outputs")
    narrow = Batch(*(np.asarray(a).astype(np.float32) for a in (batch.x, batch.y, batch.mask)))
    if task.loss == "softmax_ce":  # the engine keeps class targets as integers
        narrow = Batch(narrow.x, np.asarray(batch.y), narrow.mask)
    if np.asarray(batch.x).dtype.kind in "iu":  # and token ids
        narrow = Batch(np.asarray(batch.x), narrow.y, narrow.mask)
    best32 = score(perfect.astype(np.float32), narrow, "perfect float32 outputs")
    _require(best32[target] == 1.0, f"{who}: '{target}' is {best32[target]} on float32 outputs")

    worst = score(wrong_outputs(task, batch), batch, "outputs wrong at every step")
    _require(worst[target] < 1.0, f"{who}: '{target}' is 1 even when every output is wrong")
    noise = np.random.default_rng(0).standard_normal(perfect.shape)
    score(noise, batch, "random outputs")

    unscored = np.asarray(batch.mask) == 0  # (T, B)
    if unscored.any():
        masked = perfect.copy()
        masked[unscored] = wrong_outputs(task, batch)[unscored]
        got = score(masked, batch, "outputs wrong only at unscored steps")
        changed = [n for n in best if not math.isclose(got.get(n, math.nan), best[n])]
        _require(not changed, f"{who}: unscored steps change the metrics {', '.join(changed)}")
    after = (batch.x, batch.y, batch.mask)
    untouched = all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    _require(untouched, f"{who}: metrics() changed the batch")


def _check_examples(task: Task, who: str, batch: Batch) -> None:
    B = np.asarray(batch.x).shape[1]
    perfect = perfect_outputs(task, batch)
    for count in (0, 1, B + 2):
        lines = task.examples(perfect, batch, count)
        want = min(count, B)
        _require(
            isinstance(lines, list) and len(lines) == want,
            f"{who}: examples(outputs, batch, {count}) must return a list of {want} strings",
        )
        for line in lines:
            ok = isinstance(line, str) and line.strip() != "" and "\n" not in line
            _require(ok, f"{who}: each example must be one non-empty line, got {line!r}")


def _check_defaults(task: Task, who: str, registry: Registry | None) -> None:
    if registry is None:
        from seqnet.plugins import default_registry

        registry = default_registry()
    cls = type(task)
    own = Registry({kind: dict(known) for kind, known in registry.entries.items()})
    own.entries["task"][cls.name] = Entry("task", cls.name, cls, "?", "?", "")
    try:
        specs.resolve(defaults.default_raw(cls.name, own), own)
    except SeqnetError as error:
        raise AssertionError(f"{who}: its default spec does not resolve: {error}") from None
