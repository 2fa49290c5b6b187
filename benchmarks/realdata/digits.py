"""Handwritten digits (scikit-learn), 8 steps of 8 pixels: seqnet's LSTM and GRU against a
logistic regression on the same split and the same LSTM in PyTorch (same size, init, dtype,
optimizer, clip, batch and steps), for several seeds. Needs the files of `export.py`.

    python benchmarks/realdata/digits.py DATA --tune lstm [--seeds 0,1,2] > tuning.jsonl
    python benchmarks/realdata/digits.py DATA --tune gru [--seeds 0,1,2] > tuning-gru.jsonl
    python benchmarks/realdata/digits.py DATA [--seeds 0,1,2] > results.jsonl

`--tune lstm` trains both LSTMs under every setup of GRID and scores each on the validation
file every 1,000 steps (the test file is not read); the setup with the best mean validation
accuracy over both libraries and the seeds given is SETUP, which both LSTMs use.
`--tune gru` does the same for seqnet's GRU alone (PyTorch's LSTM has no GRU beside it here):
its best is GRU_SETUP.
Every model trains in a process of its own on one BLAS thread; each row gives the training
loop's wall time (`seconds`) and the whole process's wall and CPU time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Setup:
    hidden: int = 64
    lr: float = 0.005
    batch: int = 32
    clip: float = 1.0
    steps: int = 2000
    dtype: str = "float32"
    forget_bias: float | None = 1.0
    """The forget gate's input bias at the start (its recurrent bias 0); None: the uniform draw."""


SETUP = Setup(lr=0.02, steps=4000, forget_bias=None)
"""What `--tune lstm` chose (results-digits-tuning.jsonl): the best mean validation accuracy."""
GRU_SETUP = Setup(lr=0.01, steps=1000, forget_bias=None)
"""What `--tune gru` chose (results-digits-tuning-gru.jsonl)."""
LEARNING_RATES = (0.002, 0.005, 0.01, 0.02)
GRID = [Setup(lr=lr, forget_bias=fb, steps=4000)
        for lr, fb in itertools.product(LEARNING_RATES, (1.0, None))]  # fmt: skip
GRU_GRID = [Setup(lr=lr, forget_bias=None, steps=4000) for lr in LEARNING_RATES]
EVERY = 1000


def load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    x = np.array([r["input"] for r in rows], dtype=np.float32)  # (N, 8, 8)
    return x, np.array([r["label"] for r in rows])


def timed(command: list[str]) -> tuple[dict[str, Any], float, float]:
    """The last JSON line a command prints, with its process's wall and CPU seconds."""
    before = os.times()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return json.loads(done.stdout.splitlines()[-1]), wall, cpu


def seqnet_run(data: Path, cell: str, seed: int, setup: Setup, out: Path,
               scored: str = "test") -> dict[str, Any]:  # fmt: skip
    """`seqnet run`; scored="validation" puts the validation file in the test part's place
    and evaluates every EVERY steps."""
    every = EVERY if scored == "validation" else setup.steps
    fb = "null" if setup.forget_bias is None else str(setup.forget_bias)
    command = [
        "seqnet", "run", "sequences", "--cell", cell, "--hidden", str(setup.hidden),
        "--lr", str(setup.lr), "--batch", str(setup.batch), "--steps", str(setup.steps),
        "--seed", str(seed),
        "--set", f"task.train={data / 'train.jsonl'}",
        "--set", f"task.validation={data / 'validation.jsonl'}",
        "--set", f"task.test={data / (scored + '.jsonl')}",
        "--set", f"train.eval_every={every}", "--set", f"optimizer.clip={setup.clip}",
        "--set", f"model.dtype={setup.dtype}",
        *(["--set", f"model.forget_bias={fb}"] if cell == "lstm" else []),
        "--json", "-q", "--out", str(out),
    ]  # fmt: skip
    summary, wall, cpu = timed(command)
    row: dict[str, Any] = {"model": f"seqnet {cell}", "seed": seed, **asdict(setup)}
    if scored == "validation":
        history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        row["validation"] = {h["step"]: h["accuracy"] for h in history}
    else:
        row["accuracy"] = summary["accuracy"]
    return {**row, "seconds": summary["seconds"], "process_wall": round(wall, 4),
            "process_cpu": round(cpu, 4)}  # fmt: skip


def torch_lstm(data: Path, seed: int, setup: Setup, scored: str) -> dict[str, Any]:
    """The same LSTM in PyTorch, in this process; scored on the file named, at the end or
    (validation) every EVERY steps, outside the timed loop."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    x, y = load(data / "train.jsonl")
    sx, sy = load(data / f"{scored}.jsonl")
    dtype = getattr(torch, setup.dtype)
    lstm = torch.nn.LSTM(8, setup.hidden, dtype=dtype)
    head = torch.nn.Linear(setup.hidden, 10, dtype=dtype)
    if setup.forget_bias is not None:  # gates [i | f | g | o], as seqnet's
        H = setup.hidden
        with torch.no_grad():
            lstm.bias_ih_l0[H : 2 * H] = setup.forget_bias
            lstm.bias_hh_l0[H : 2 * H] = 0.0
    params = [*lstm.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=setup.lr)
    xs = torch.from_numpy(x).to(dtype).transpose(0, 1)  # (8, N, 8)
    ys, sxs = torch.from_numpy(y), torch.from_numpy(sx).to(dtype).transpose(0, 1)

    def accuracy() -> float:
        with torch.no_grad():
            out, _ = lstm(sxs)
            return float((head(out[-1]).argmax(-1).numpy() == sy).mean())

    rng = np.random.default_rng(seed)
    validation: dict[int, float] = {}
    seconds = 0.0
    start = time.perf_counter()
    for step in range(1, setup.steps + 1):
        pick = torch.from_numpy(rng.integers(len(y), size=setup.batch))
        out, _ = lstm(xs[:, pick])
        loss = torch.nn.functional.cross_entropy(head(out[-1]), ys[pick])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, setup.clip)
        opt.step()
        if scored == "validation" and step % EVERY == 0:
            seconds += time.perf_counter() - start
            validation[step] = accuracy()
            start = time.perf_counter()
    seconds += time.perf_counter() - start
    row: dict[str, Any] = {"model": "pytorch lstm", "seed": seed, **asdict(setup)}
    if scored == "validation":
        row["validation"] = validation
    else:
        row["accuracy"] = accuracy()
    return {**row, "seconds": round(seconds, 4)}


def torch_run(data: Path, seed: int, setup: Setup, scored: str = "test") -> dict[str, Any]:
    """torch_lstm in a process of its own, as each seqnet run is."""
    command = [sys.executable, __file__, str(data.parent), "--torch-worker",
               json.dumps({"seed": seed, "setup": asdict(setup), "scored": scored})]  # fmt: skip
    row, wall, cpu = timed(command)
    return {**row, "process_wall": round(wall, 4), "process_cpu": round(cpu, 4)}


def logistic(data: Path) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    x, y = load(data / "train.jsonl")
    tx, ty = load(data / "test.jsonl")
    start = time.perf_counter()
    model = LogisticRegression(max_iter=5000).fit(x.reshape(len(x), -1), y)
    seconds = time.perf_counter() - start
    accuracy = float(model.score(tx.reshape(len(tx), -1), ty))
    return {"model": "logistic regression", "seed": None, "accuracy": accuracy,
            "seconds": round(seconds, 4)}  # fmt: skip


def best(rows: list[dict[str, Any]], grid: list[Setup]) -> dict[str, Any]:
    """The setup and step count with the highest mean validation accuracy over the rows (both
    libraries, every seed); the first in the grid's order among equals."""
    scores: dict[Setup, list[float]] = {}
    for row in rows:
        setup = Setup(**{k: row[k] for k in Setup.__dataclass_fields__})
        for step, value in row["validation"].items():
            scores.setdefault(replace(setup, steps=int(step)), []).append(value)
    order = [replace(s, steps=step) for s in grid for step in range(EVERY, s.steps + 1, EVERY)]
    chosen = max((s for s in order if s in scores), key=lambda s: float(np.mean(scores[s])))
    return {"best": asdict(chosen), "mean_validation_accuracy": float(np.mean(scores[chosen]))}


def tune(digits: Path, cell: str, seeds: list[int], scratch: Path) -> None:
    """Every setup of the cell's grid, scored on the validation file (for the LSTM, in both
    libraries); then the best setup."""
    grid = GRID if cell == "lstm" else GRU_GRID
    rows = []
    for i, setup in enumerate(grid):
        for seed in seeds:
            out = scratch / f"t{i}-{seed}"
            rows.append(seqnet_run(digits, cell, seed, setup, out, "validation"))
            if cell == "lstm":
                rows.append(torch_run(digits, seed, setup, "validation"))
            for row in rows[-2 if cell == "lstm" else -1 :]:
                print(json.dumps(row), flush=True)
    print(json.dumps(best(rows, grid)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--tune", choices=("lstm", "gru"))
    parser.add_argument("--torch-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    digits = args.data / "digits"
    if args.torch_worker:
        job = json.loads(args.torch_worker)
        setup = Setup(**job["setup"])
        print(json.dumps(torch_lstm(digits, job["seed"], setup, job["scored"])), flush=True)
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        if args.tune:
            tune(digits, args.tune, seeds, Path(scratch))
            return
        print(json.dumps(logistic(digits)), flush=True)
        for seed in seeds:
            models = ["lstm", "gru", "pytorch"]
            for model in models if seed % 2 == 0 else models[::-1]:  # who goes first: in turn
                if model == "pytorch":
                    row = torch_run(digits, seed, SETUP)
                else:
                    chosen = SETUP if model == "lstm" else GRU_SETUP
                    row = seqnet_run(digits, model, seed, chosen, Path(scratch) / f"{model}-{seed}")
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    sys.exit(main())
