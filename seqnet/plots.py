"""PNG plots of a run folder: learning curves, and hidden activations across one long example.

matplotlib is optional (`pip install 'seqnet[plot]'`); it is imported only here, only when asked.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from seqnet.atomic import atomic_file
from seqnet.errors import SeqnetError
from seqnet.lengths import forward_chunked, length_option, options_at_length
from seqnet.recurrent import CellLayer
from seqnet.rundir import RunDir
from seqnet.runner import build


class PlotError(SeqnetError):
    exit_code = 2


def matplotlib_or_fail() -> None:
    if importlib.util.find_spec("matplotlib") is None:
        raise PlotError(
            "plotting needs matplotlib, which is not installed; get it with:"
            " pip install 'seqnet[plot]'"
        )


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def learning_curves(rows: list[dict[str, Any]], path: Path, title: str) -> Path:
    """Training and held-out loss (log scale) and each held-out accuracy against step."""
    plt = pyplot()
    steps = [r["step"] for r in rows]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    for key, label in (("loss", "training loss"), ("val_loss", "held-out loss")):
        values = [r.get(key) for r in rows]
        if all(isinstance(v, (int, float)) and v > 0 for v in values):
            top.plot(steps, values, label=label)
    top.set_yscale("log")
    top.set_ylabel("loss")
    top.legend()
    top.set_title(title)
    skip = {"step", "loss", "val_loss", "grad_norm", "lr", "seconds", "margin"}
    # held-out accuracies at every validation length (`exact_match@64`), not margins or losses
    metrics = sorted(k for k in {k for r in rows for k in r} if k.split("@")[0] not in skip)
    for key in metrics:
        bottom.plot(steps, [r.get(key, np.nan) for r in rows], label=key, marker=".")
    shown = [v for r in rows for k in metrics if isinstance(v := r.get(k), (int, float))]
    if shown and min(shown) >= 0 and max(shown) <= 1:  # accuracies; bits per char go higher
        bottom.set_ylim(-0.02, 1.02)
    bottom.set_xlabel("step")
    bottom.set_ylabel("held-out")
    bottom.legend(loc="lower right")
    fig.tight_layout()
    save_png(fig, path)
    return path


def save_png(fig: Any, path: Path, **options: Any) -> None:
    """Write the figure whole or not at all (a full disk leaves the old PNG, not half a new)."""
    try:
        with atomic_file(path) as f:
            fig.savefig(f, format="png", dpi=110, **options)
    finally:
        pyplot().close(fig)


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


def hidden_activations(folder: RunDir, path: Path, length: int, seed: int = 0) -> Path | None:
    """Heatmap of the first layer's hidden units across one example `length` long (drawn from
    a generator seeded by (seed, length)), with the task's own per-step rows (binadd: a, b,
    carry, sum) and, for one sigmoid output, the net's answer above it. None if the task has
    no length.
    """
    ckpt, spec = folder.load()
    parts = build(spec)
    task_cls: Any = type(parts.task)
    try:
        key = length_option(task_cls)
    except SeqnetError:
        return None
    from seqnet.specs import validate

    at_length = options_at_length(task_cls, spec.options("task"), length)
    task = task_cls(**validate(task_cls.Spec, at_length, ("task",)).model_dump())
    batch = task.sample(np.random.default_rng([seed, length]), 1)
    x = parts.model.inputs(batch.x)  # vectors, or ids for an embedding
    model = parts.model
    recurrent_layers = [i for i, layer in enumerate(model.layers) if isinstance(layer, CellLayer)]
    if not recurrent_layers:
        return None
    h = x
    for i in range(recurrent_layers[0] + 1):  # up to the first recurrent layer
        layer, prefix = model.layers[i], model.prefixes[i]
        carry = layer.initial_carry(1, model.dtype)
        h, _, _ = layer.forward(model.sub(ckpt.params, prefix), h, carry, None)  # (T, 1, H)
    hidden = h[:, 0, :].T  # (H, T)
    rows_fn = getattr(parts.task, "step_rows", None)
    rows = dict(rows_fn(batch)) if rows_fn is not None else input_rows(batch)
    title = f"{spec.task.name}, {key}={length}: one example (time runs left to right)"
    if task.loss == "sigmoid_bce" and task.output_size == 1:
        logits = forward_chunked(parts.model, ckpt.params, x)[..., 0]  # (T, 1)
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

    plt = pyplot()
    ratio = [len(rows), hidden.shape[0]]
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(min(max(7, length * 0.16), 40), 5), sharex=True, height_ratios=ratio
    )
    table = np.stack([np.asarray(v)[:, 0] for v in rows.values()])  # (rows, T)
    top.imshow(table, aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
    top.set_yticks(range(len(rows)), list(rows))
    top.set_title(title)
    image = bottom.imshow(
        hidden, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest"
    )
    if hidden.shape[0] <= 32:  # the unit numbers, so a unit can be named (layers.0.W_h row)
        bottom.set_yticks(range(hidden.shape[0]), [str(u) for u in order], fontsize=7)
    bottom.set_ylabel(f"{spec.model.label()} hidden unit\n(sorted by correlation with {names[2]})"
                      if len(names) > 2 else f"{spec.model.label()} hidden unit")  # fmt: skip
    bottom.set_xlabel("step")
    fig.colorbar(image, ax=[top, bottom], shrink=0.6, label="activation")
    save_png(fig, path, bbox_inches="tight")
    return path


def plot_run(folder: RunDir, out: Path, length: int = 48, seed: int = 0) -> list[Path]:
    """Write the run's PNGs into `out`; returns their paths."""
    matplotlib_or_fail()
    if out.exists() and not out.is_dir():
        raise PlotError(f"--out '{out}' is a file; plots go into a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SeqnetError(f"cannot create plot folder '{out}': {error.strerror}") from None
    ckpt_spec = folder.load()[1]
    title = f"{ckpt_spec.task.name} with {ckpt_spec.model.label()}, seed {ckpt_spec.train.seed}"
    written = [learning_curves(folder.records(), out / "learning_curves.png", title)]
    hidden = hidden_activations(folder, out / "hidden.png", length, seed)
    if hidden is not None:
        written.append(hidden)
    return written
