"""Figures of a run: learning curves, and hidden activations across one long example.

Each function returns a matplotlib Figure (shown inline by a notebook, written by `seqnet plot`);
none touches pyplot's global state. matplotlib is optional (`pip install 'seqnet[plot]'`).
"""

from __future__ import annotations

import functools
import importlib.util
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from seqnet.atomic import atomic_file
from seqnet.errors import SeqnetError
from seqnet.interfaces import Params, Task
from seqnet.lengths import at_length, forward_chunked, length_option
from seqnet.model import Sequential
from seqnet.recurrent import CellLayer
from seqnet.rundir import RunDir
from seqnet.runner import build

if TYPE_CHECKING:
    from matplotlib.figure import Figure


DPI = 110


class PlotError(SeqnetError):
    exit_code = 2


def matplotlib_or_fail() -> None:
    if importlib.util.find_spec("matplotlib") is None:
        raise PlotError(
            "plotting needs matplotlib, which is not installed; get it with:"
            " pip install 'seqnet[plot]'"
        )


@functools.cache
def figure_class() -> type[Figure]:
    from matplotlib.figure import Figure

    class InlineFigure(Figure):
        """A Figure that a notebook shows as a PNG when a cell ends with it, with or without
        `%matplotlib inline`: pyplot, and so its backend, is never involved."""

        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
            return buffer.getvalue()

    return InlineFigure


def new_figure(**options: Any) -> Figure:
    """A figure outside pyplot: no backend chosen, no window, nothing kept after it is dropped."""
    matplotlib_or_fail()
    return figure_class()(**options)


def plot_learning_curves(history: Sequence[Mapping[str, Any]], title: str = "") -> Figure:
    """Training and held-out loss (log scale) and each held-out accuracy against step.

    `history` is the rows of metrics.jsonl: dicts with `step`, `loss`, `val_loss` and the
    task's held-out metrics (`exact_match`, `exact_match@64`, ...).
    """
    fig = new_figure(figsize=(7, 6))
    top, bottom = fig.subplots(2, 1, sharex=True)
    steps = [r["step"] for r in history]
    for key, label in (("loss", "training loss"), ("val_loss", "held-out loss")):
        values = [r.get(key) for r in history]
        if values and all(isinstance(v, (int, float)) and v > 0 for v in values):
            top.plot(steps, values, label=label)
    top.set_yscale("log")
    top.set_ylabel("loss")
    top.legend()
    top.set_title(title)
    skip = {"step", "loss", "val_loss", "grad_norm", "lr", "seconds", "margin"}
    # held-out accuracies at every validation length (`exact_match@64`), not margins or losses
    metrics = sorted(k for k in {k for r in history for k in r} if k.split("@")[0] not in skip)
    for key in metrics:
        bottom.plot(steps, [r.get(key, np.nan) for r in history], label=key, marker=".")
    shown = [v for r in history for k in metrics if isinstance(v := r.get(k), (int, float))]
    if shown and min(shown) >= 0 and max(shown) <= 1:  # accuracies; bits per char go higher
        bottom.set_ylim(-0.02, 1.02)
    bottom.set_xlabel("step")
    bottom.set_ylabel("held-out")
    if metrics:
        bottom.legend(loc="lower right")
    fig.tight_layout()
    return fig


def save_png(fig: Figure, path: Path, **options: Any) -> Path:
    """Write the figure whole or not at all (a full disk leaves the old PNG, not half a new)."""
    with atomic_file(path) as f:
        fig.savefig(f, format="png", dpi=DPI, **options)
    return path


def scaled(values: Any) -> Any:
    """A row of a (T, 1) table, scaled to 0..1 for the grey map (symbols by their index)."""
    v = np.asarray(values, dtype=np.float64).reshape(len(values), 1)
    low, high = float(v.min()), float(v.max())
    return (v - low) / (high - low) if high > low and (low < 0 or high > 1) else v


def input_rows(batch: Any) -> dict[str, Any]:
    """Rows for a task without `step_rows`: each input channel (or the input symbol, for many
    channels or token ids), then the target, each (T, 1) and named."""
    x, y = np.asarray(batch.x), np.asarray(batch.y)
    rows: dict[str, Any] = {}
    if x.ndim == 3 and x.shape[-1] <= 4:
        for d in range(x.shape[-1]):
            rows[f"input {d}"] = scaled(x[:, :1, d])
    else:
        symbols = x[:, :1].argmax(axis=-1) if x.ndim == 3 else x[:, :1]
        rows["input symbol"] = scaled(symbols)
    target = y[:, :1] if y.ndim == 2 else y[:, :1, 0]
    rows["target"] = scaled(target)
    return rows


def plot_hidden(
    task: Task, model: Sequential, params: Params, length: int = 48, seed: int = 0
) -> Figure:
    """Heatmap of the first recurrent layer's hidden units across one example `length` long
    (drawn from a generator seeded by (seed, length)), under the task's own per-step rows
    (binadd: a, b, carry, sum) and, for one sigmoid output, the net's answer. Units are sorted
    by their correlation with the first row that is not an input (binadd: the carry).

    Raises PlotError for a task with no length option or a model with no recurrent layer.
    """
    try:
        key = length_option(type(task))
    except SeqnetError:
        raise PlotError(f"task '{task.name}' has no length to draw an example at") from None
    recurrent_layers = [i for i, layer in enumerate(model.layers) if isinstance(layer, CellLayer)]
    if not recurrent_layers:
        raise PlotError("the model has no recurrent layer whose hidden units could be drawn")
    fig = new_figure(figsize=(min(max(7, length * 0.16), 40), 5))
    task = at_length(task, length)
    batch = task.sample(np.random.default_rng([seed, length]), 1)
    x = model.inputs(batch.x)  # vectors, or ids for an embedding
    h = x
    for i in range(recurrent_layers[0] + 1):  # up to the first recurrent layer
        layer, prefix = model.layers[i], model.prefixes[i]
        carry = layer.initial_carry(1, model.dtype)
        h, _, _ = layer.forward(model.sub(params, prefix), h, carry, None)  # (T, 1, H)
    hidden = h[:, 0, :].T  # (H, T)
    rows_fn = getattr(task, "step_rows", None)
    rows = dict(rows_fn(batch)) if rows_fn is not None else input_rows(batch)
    title = f"{task.name}, {key}={length}: one example (time runs left to right)"
    if task.loss == "sigmoid_bce" and task.output_size == 1:
        logits = forward_chunked(model, params, x)[..., 0]  # (T, 1)
        rows["output"] = (logits > 0.0).astype(float)
        wrong = int((((logits > 0.0) != (batch.y[..., 0] > 0.5)) & (batch.mask > 0)).sum())
        title += f"; {wrong} output{'s' if wrong != 1 else ''} wrong"
    # order units by how they follow the first row that is not an input (binadd: the carry)
    names = list(rows)
    guide = np.asarray(rows[names[min(2, len(names) - 1)]])[:, 0]
    order = np.arange(hidden.shape[0])
    if guide.std() > 0:
        corr = [np.corrcoef(guide, unit)[0, 1] if unit.std() > 0 else 0.0 for unit in hidden]
        order = np.argsort(corr)[::-1]
        hidden = hidden[order]

    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[len(rows), hidden.shape[0]])
    table = np.stack([np.asarray(v)[:, 0] for v in rows.values()])  # (rows, T)
    top.imshow(table, aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
    top.set_yticks(range(len(rows)), list(rows))
    top.set_title(title)
    image = bottom.imshow(
        hidden, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest"
    )
    if hidden.shape[0] <= 32:  # the unit numbers, so a unit can be named (layers.0.W_h row)
        bottom.set_yticks(range(hidden.shape[0]), [str(u) for u in order], fontsize=7)
    label = next(layer.name for layer in model.layers if isinstance(layer, CellLayer))
    bottom.set_ylabel(f"{label} hidden unit\n(sorted by correlation with {names[2]})"
                      if len(names) > 2 else f"{label} hidden unit")  # fmt: skip
    bottom.set_xlabel("step")
    fig.colorbar(image, ax=[top, bottom], shrink=0.6, label="activation")
    return fig


def plot_run(folder: RunDir, out: Path, length: int = 48, seed: int = 0) -> list[Path]:
    """Write the run's PNGs into `out`; returns their paths."""
    matplotlib_or_fail()
    if out.exists() and not out.is_dir():
        raise PlotError(f"--out '{out}' is a file; plots go into a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SeqnetError(f"cannot create plot folder '{out}': {error.strerror}") from None
    ckpt, spec = folder.load()
    title = f"{spec.task.name} with {spec.model.label()}, seed {spec.train.seed}"
    curves = plot_learning_curves(folder.records(), title)
    written = [save_png(curves, out / "learning_curves.png")]
    parts = build(spec)
    try:
        hidden = plot_hidden(parts.task, parts.model, ckpt.params, length, seed)
    except PlotError:  # no length, or no recurrent layer: learning curves only
        return written
    written.append(save_png(hidden, out / "hidden.png", bbox_inches="tight"))
    return written
