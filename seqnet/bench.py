"""The Chomsky-hierarchy benchmark (Delétang et al., ICLR 2023) as a seqnet sweep: every task ×
cell × seed trained on lengths 1..40, each run scored in its worker on longer lengths; the
table beside the paper's scores, and the figure. The CLI is seqnet.cli.bench.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from seqnet import specs
from seqnet.atomic import write_atomic
from seqnet.errors import SpecError
from seqnet.registry import Registry
from seqnet.sweep.folder import SweepFolder
from seqnet.sweep.plan import RunPlan, Sweep, SweepSpec

TASKS: dict[str, str] = {
    "even_pairs": "R",
    "modular_arithmetic_simple": "R",
    "parity_check": "R",
    "cycle_navigation": "R",
    "stack_manipulation": "DCF",
    "reverse_string": "DCF",
    "modular_arithmetic": "DCF",
    "solve_equation": "DCF",
    "duplicate_string": "CS",
    "missing_duplicate": "CS",
    "odds_first": "CS",
    "binary_addition": "CS",
    "binary_multiplication": "CS",
    "compute_sqrt": "CS",
    "bucket_sort": "CS",
}
"""The fifteen tasks (registered names) and their level: regular, deterministic context-free,
context-sensitive."""

CELLS: dict[str, dict[str, Any]] = {
    "elman": {"cell": "elman", "activation": "relu"},  # the paper's RNN: ReLU
    "stack_rnn": {"cell": "stack_rnn"},
    "tape_rnn": {"cell": "tape_rnn"},
    "lstm": {"cell": "lstm"},
}
"""The four columns, in the paper's order: the `model` options of each (the paper's RNN is a
ReLU Elman)."""

PAPER: dict[str, dict[str, float]] = {
    "modular_arithmetic_simple": {"elman": 100.0, "stack_rnn": 100.0, "tape_rnn": 100.0,
                                  "lstm": 100.0},
    "parity_check": {"elman": 100.0, "stack_rnn": 100.0, "tape_rnn": 100.0, "lstm": 100.0},
    "stack_manipulation": {"elman": 56.0, "stack_rnn": 100.0, "tape_rnn": 100.0, "lstm": 59.1},
    "reverse_string": {"elman": 62.0, "stack_rnn": 100.0, "tape_rnn": 100.0, "lstm": 60.9},
    "duplicate_string": {"elman": 50.3, "stack_rnn": 52.8, "tape_rnn": 100.0, "lstm": 57.6},
    "odds_first": {"elman": 51.0, "stack_rnn": 51.9, "tape_rnn": 100.0, "lstm": 55.6},
}  # fmt: skip
"""The paper's Table 2 scores (%) known to the issue: best over seeds and learning rates."""

_CPU = [0.0]
"""This process's CPU time when its last run was scored (a worker runs one run at a time)."""

SOLVED = 90.0
"""A score at or above this is "solved" (the paper's threshold)."""


def expected(task: str, cell: str) -> bool | None:
    """Whether the paper solves `task` with `cell` (its numbers or its text), None if unknown."""
    if task in PAPER:
        return PAPER[task][cell] >= SOLVED
    if TASKS[task] == "R":
        return True  # "every model but the Transformer solves all four regular tasks"
    text = {("solve_equation", "stack_rnn"): False, ("binary_multiplication", "tape_rnn"): False,
            ("compute_sqrt", "tape_rnn"): False, ("bucket_sort", "lstm"): True}  # fmt: skip
    return text.get((task, cell))


class Protocol(BaseModel):
    """How every run trains and is scored. Every run trains all its steps, as the paper's do:
    fitting the training lengths is not yet generalising (a Stack-RNN stopped once it had fitted
    lengths 1..40 for 2,000 steps, at step 2,250, scored 88.8 on reverse_string, seed 0).
    256 hidden units, as the paper's: at 64 (and 128) a Stack-RNN fits reverse_string but keeps
    a pop probability of ~0.4 % at every push, which blurs a stack 500 deep (docs/chomsky.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    steps: Annotated[int, Field(ge=1, le=1_000_000)] = 10_000
    batch: Annotated[int, Field(ge=1, le=4096)] = 32
    hidden: Annotated[int, Field(ge=1, le=4096)] = 256
    lr: Annotated[float, Field(gt=0.0, le=1.0)] = 1e-3
    clip: Annotated[float, Field(gt=0.0)] = 1.0
    train_length: Annotated[int, Field(ge=1, le=10_000)] = 40
    eval_every: Annotated[int, Field(ge=1)] = 250
    eval_samples: Annotated[int, Field(ge=1, le=100_000)] = 256
    test_min: Annotated[int, Field(ge=1, le=10_000)] = 41
    test_max: Annotated[int, Field(ge=1, le=10_000)] = 500
    samples: Annotated[int, Field(ge=1, le=10_000)] = 4
    dtype: Literal["float32", "float64"] = "float32"
    """float32, the paper's precision: a step costs 2-3x less than in float64 at 256 units
    (docs/chomsky.md, Compute)."""
    tape_computation: Annotated[int, Field(ge=0, le=4)] = 0
    """k: tape_rnn runs get k·ℓ computation steps before the outputs (the paper tries 0, 1, 2
    for its Tape-RNN); the other cells none."""

    def lengths(self) -> list[int]:
        if self.test_max < self.test_min:
            raise SpecError(f"test lengths {self.test_min}..{self.test_max} count down")
        return list(range(self.test_min, self.test_max + 1))


def plan(
    tasks: list[str], cells: list[str], seeds: list[int], protocol: Protocol, registry: Registry
) -> Sweep:
    """The benchmark's sweep: each seed × task × cell, in the order given; every run's spec is
    checked before anything runs."""
    for name in tasks:
        if name not in TASKS:
            raise SpecError(f"unknown Chomsky task '{name}'; the tasks are {', '.join(TASKS)}")
    for name in cells:
        if name not in CELLS:
            raise SpecError(f"unknown benchmark cell '{name}'; the cells are {', '.join(CELLS)}")
    if not tasks or not cells or not seeds:
        raise SpecError("the benchmark needs at least one task, one cell and one seed")
    p = protocol
    raw = {
        "task": {"name": tasks[0], "length": p.train_length},
        "model": {"cell": "elman", "hidden": p.hidden, "dtype": p.dtype},
        "optimizer": {"name": "adam", "lr": p.lr, "clip": p.clip},
        "train": {"steps": p.steps, "batch": p.batch, "eval_every": p.eval_every,
                  "eval_samples": p.eval_samples,
                  # more evaluations than a run has: no early stop
                  "patience": p.steps // p.eval_every + 1},
    }  # fmt: skip
    base = specs.resolve(raw, registry).model_dump(mode="json")
    settings = []
    for task in tasks:
        for cell in cells:
            setting = {"task.name": task, "task.length": p.train_length}
            setting.update({f"model.{k}": v for k, v in CELLS[cell].items()})
            if cell == "tape_rnn" and p.tape_computation:
                setting["task.computation_steps"] = p.tape_computation
            settings.append(setting)
    # seeds outermost: a run cut short has the whole table at one seed before any second seed
    pairs = [(setting, seed) for seed in seeds for setting in settings]
    width = len(str(len(pairs) - 1))
    runs = [
        RunPlan(f"{i:0{width}d}_{s['task.name']}_{s['model.cell']}_seed={seed}", s, seed)
        for i, (s, seed) in enumerate(pairs)
    ]
    grid = {"task.name": tasks, "model.cell": [CELLS[c]["cell"] for c in cells]}
    options = {"lengths": [p.test_min, p.test_max], "samples": p.samples}
    sweep = Sweep("chomsky", base, SweepSpec(grid=grid, seeds=seeds), runs, (),
                  "seqnet.bench:score", options)  # fmt: skip
    for run in runs[: len(settings)]:
        sweep.run_spec(run, registry)
    return sweep


def score(spec: Any, parts: Any, params: Any, lengths: list[int], samples: int) -> dict[str, Any]:
    """The paper's score of a trained run (a sweep `finish`): for each length in
    lengths[0]..lengths[1], the share of right outputs per sequence averaged over `samples`
    sequences, then the mean over lengths; also each length's accuracy."""
    from threadpoolctl import threadpool_limits

    from seqnet.lengths import length_score

    start = time.process_time()
    every = list(range(lengths[0], lengths[1] + 1))
    task_cls = type(parts.task)
    with threadpool_limits(limits=spec.train.threads):  # as training: one core per worker
        value, table = length_score(
            parts.model, params, task_cls, spec.options("task"), every, samples,
            seed=spec.train.seed,
        )  # fmt: skip
    now = time.process_time()
    cpu, _CPU[0] = now - _CPU[0], now
    return {
        "score": value,
        "by_length": {k: row["accuracy"] for k, row in table.items()},
        "score_seconds": now - start,
        # the worker's CPU time since its previous run: this run's training and scoring (and,
        # for a worker's first run, its start-up)
        "cpu_seconds": cpu,
    }


def cell_of(record: dict[str, Any]) -> str:
    """The benchmark column of a results line (elman means the ReLU Elman)."""
    return str(record["setting"]["model.cell"])


def results(folder: SweepFolder) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(task, cell) -> the summaries of its finished, scored runs."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in folder.results():
        summary = record.get("summary") or {}
        if record["status"] == "ok" and isinstance(summary.get("score"), float):
            key = (record["setting"]["task.name"], cell_of(record))
            out.setdefault(key, []).append({**summary, "seed": record["seed"]})
    return out


def table(folder: SweepFolder) -> dict[str, Any]:
    """Each task × cell: best and mean score over seeds (in %), seeds done of planned, the
    paper's score and whether the verdicts (solved or not) agree; plus the compute spent."""
    done = results(folder)
    planned: dict[tuple[str, str], int] = {}
    for run in folder.sweep.runs:
        key = (str(run.setting["task.name"]), str(run.setting["model.cell"]))
        planned[key] = planned.get(key, 0) + 1
    rows = []
    for (task, cell), seeds in planned.items():
        got = done.get((task, cell), [])
        scores = [100.0 * s["score"] for s in got]
        best = max(scores) if scores else None
        want = expected(task, cell)
        rows.append({
            "task": task, "level": TASKS[task], "cell": cell, "seeds": seeds, "done": len(got),
            "best": best, "mean": sum(scores) / len(scores) if scores else None,
            "paper": PAPER.get(task, {}).get(cell), "expected": want,
            "agrees": None if best is None or want is None else (best >= SOLVED) == want,
            "steps": [s.get("steps") for s in got],
        })  # fmt: skip
    seconds = [s.get("cpu_seconds", 0.0) for runs in done.values() for s in runs]
    return {"rows": rows, "runs": sum(planned.values()), "scored": len(seconds),
            "cpu_seconds": math.fsum(seconds), "cells": compute(done, planned)}  # fmt: skip


def compute(
    done: dict[tuple[str, str], list[dict[str, Any]]], planned: dict[tuple[str, str], int]
) -> dict[str, dict[str, float | None]]:
    """Per cell: runs scored and planned, CPU seconds spent, training steps per CPU second,
    and the whole table's CPU seconds for this cell if every planned run costs what the
    finished ones did on average."""
    out: dict[str, dict[str, float | None]] = {}
    for cell in dict.fromkeys(key[1] for key in planned):
        runs = [s for key, got in done.items() if key[1] == cell for s in got]
        total = sum(n for key, n in planned.items() if key[1] == cell)
        cpu = math.fsum(s.get("cpu_seconds", 0.0) for s in runs)
        training = math.fsum(s.get("cpu_seconds", 0.0) - s.get("score_seconds", 0.0)
                             for s in runs)  # fmt: skip
        steps = sum(int(s.get("steps") or 0) for s in runs)
        out[cell] = {
            "scored": len(runs), "planned": total, "cpu_seconds": cpu,
            "steps_per_cpu_second": steps / training if training > 0 else None,
            "estimated_cpu_seconds": cpu / len(runs) * total if runs else None,
        }  # fmt: skip
    return out


def markdown(data: dict[str, Any], cells: list[str]) -> str:
    """The table as Markdown: a row per task, per cell "seqnet best (paper)"; ✓/✗ whether the
    verdict agrees with the paper's, - where no run has finished."""
    tasks = list(dict.fromkeys(row["task"] for row in data["rows"]))
    by = {(row["task"], row["cell"]): row for row in data["rows"]}
    lines = ["| level | task | " + " | ".join(cells) + " |",
             "|---|---|" + "---|" * len(cells)]  # fmt: skip
    for task in tasks:
        parts = []
        for cell in cells:
            row = by.get((task, cell))
            if row is None or row["best"] is None:
                parts.append("-")
                continue
            paper = "" if row["paper"] is None else f" ({row['paper']:.1f})"
            mark = {True: " ✓", False: " ✗", None: ""}[row["agrees"]]
            partial = "" if row["done"] == row["seeds"] else f" [{row['done']}/{row['seeds']}]"
            parts.append(f"{row['best']:.1f}{paper}{mark}{partial}")
        lines.append(f"| {TASKS[task]} | {task} | " + " | ".join(parts) + " |")
    return "\n".join(lines) + "\n"


SMOOTH = 21  # lengths in the figure's running mean (centred; fewer at the two ends)


def smoothing(lengths: int) -> int:
    """The running mean's window for a figure of `lengths` test lengths: SMOOTH over the
    paper's 460, narrower over fewer (1, none, below 40), so a short range keeps its shape."""
    return min(SMOOTH, 2 * (lengths // 40) + 1)


def running_mean(ys: list[float], window: int) -> list[float]:
    """Each value's mean with its neighbours, `window // 2` on each side where they exist."""
    half = window // 2
    sums = [0.0, *itertools.accumulate(ys)]
    out = []
    for i in range(len(ys)):
        lo, hi = max(0, i - half), min(len(ys), i + half + 1)
        out.append((sums[hi] - sums[lo]) / (hi - lo))
    return out


def figure(folder: SweepFolder, path: Path) -> None:
    """Accuracy against test length, a panel per task, a line per cell (its best seed): each
    length faint, and a running mean over `SMOOTH` lengths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = results(folder)
    tasks = [t for t in TASKS if any(k[0] == t for k in done)]
    cells = [c for c in CELLS if any(k[1] == c for k in done)]
    cols = min(4, max(1, len(tasks)))
    rows = max(1, math.ceil(len(tasks) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.6 * rows), squeeze=False,
                             sharey=True)  # fmt: skip
    for ax, task in zip(axes.flat, tasks, strict=False):
        for cell in cells:
            runs = done.get((task, cell))
            if not runs:
                continue
            best = max(runs, key=lambda s: s["score"])
            xs = sorted(int(k) for k in best["by_length"])
            ys = [100.0 * best["by_length"][str(x)] for x in xs]
            color = f"C{list(CELLS).index(cell)}"  # one colour per cell in every panel
            # faint: each length's score; solid: its running mean over SMOOTH lengths, which
            # makes the one-output tasks (each length 0, 25, 50, 75 or 100 %) readable
            ax.plot(xs, ys, linewidth=0.5, color=color, alpha=0.3)
            ax.plot(
                xs, running_mean(ys, smoothing(len(xs))), label=cell, linewidth=1.2, color=color
            )
        ax.set_title(f"{task} ({TASKS[task]})", fontsize=9)
        ax.set_ylim(0, 102)
        ax.axhline(SOLVED, color="grey", linewidth=0.5, linestyle=":")
        ax.tick_params(labelsize=7)
        ax.xaxis.get_major_locator().set_params(integer=True)
    for ax in list(axes.flat)[len(tasks) :]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy %", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("input length", fontsize=8)
    legend: dict[str, Any] = {}
    for ax in axes.flat:  # every cell once, whichever panels it appears in
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    fig.legend(list(legend.values()), list(legend), loc="upper center", ncol=len(cells),
               fontsize=8)  # fmt: skip
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(folder: SweepFolder) -> tuple[dict[str, Any], str]:
    """The table of what finished and its markdown, the planned cells in the paper's order."""
    data = table(folder)
    planned = {str(run.setting["model.cell"]) for run in folder.sweep.runs}
    return data, markdown(data, [cell for cell in CELLS if cell in planned])


def write_report(folder: SweepFolder) -> tuple[dict[str, Any], str]:
    """table.json and table.md in the benchmark folder; the table and its markdown."""
    data, text = report(folder)
    write_atomic(folder.path / "table.json", json.dumps(data, indent=2) + "\n")
    write_atomic(folder.path / "table.md", text)
    return data, text
