"""Handwritten digits (scikit-learn), 8 steps of 8 pixels: seqnet's LSTM and GRU against a
logistic regression on the same split and the same LSTM in PyTorch (same size, optimizer, clip,
batch and steps), for several seeds. Needs the files of `export.py`.

    python benchmarks/realdata/digits.py DATA [--seeds 0,1,2] [--steps 2000] > results.jsonl

One BLAS thread for every model; wall times are the training loops only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HIDDEN, LR, BATCH, CLIP = 64, 0.005, 32, 1.0


def load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    x = np.array([r["input"] for r in rows], dtype=np.float32)  # (N, 8, 8)
    return x, np.array([r["label"] for r in rows])


def seqnet_run(data: Path, cell: str, seed: int, steps: int, out: Path) -> dict[str, object]:
    command = [
        "seqnet", "run", "sequences", "--cell", cell, "--hidden", str(HIDDEN), "--lr", str(LR),
        "--batch", str(BATCH), "--steps", str(steps), "--seed", str(seed),
        "--set", f"task.train={data / 'train.jsonl'}",
        "--set", f"task.validation={data / 'validation.jsonl'}",
        "--set", f"task.test={data / 'test.jsonl'}",
        "--set", f"train.eval_every={steps}", "--set", "optimizer.clip=1.0",
        "--json", "-q", "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout.splitlines()[-1])
    return {"model": f"seqnet {cell}", "seed": seed, "steps": steps,
            "accuracy": summary["accuracy"], "seconds": summary["seconds"]}  # fmt: skip


def torch_lstm(data: Path, seed: int, steps: int) -> dict[str, object]:
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    x, y = load(data / "train.jsonl")
    tx, ty = load(data / "test.jsonl")
    lstm, head = torch.nn.LSTM(8, HIDDEN), torch.nn.Linear(HIDDEN, 10)
    params = [*lstm.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=LR)
    xs, ys = torch.from_numpy(x).transpose(0, 1), torch.from_numpy(y)  # (8, N, 8)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for _ in range(steps):
        pick = torch.from_numpy(rng.integers(len(y), size=BATCH))
        out, _ = lstm(xs[:, pick])
        loss = torch.nn.functional.cross_entropy(head(out[-1]), ys[pick])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        out, _ = lstm(torch.from_numpy(tx).transpose(0, 1))
        accuracy = float((head(out[-1]).argmax(-1).numpy() == ty).mean())
    return {"model": "pytorch lstm", "seed": seed, "steps": steps, "accuracy": accuracy,
            "seconds": round(seconds, 4)}  # fmt: skip


def logistic(data: Path) -> dict[str, object]:
    from sklearn.linear_model import LogisticRegression

    x, y = load(data / "train.jsonl")
    tx, ty = load(data / "test.jsonl")
    start = time.perf_counter()
    model = LogisticRegression(max_iter=5000).fit(x.reshape(len(x), -1), y)
    seconds = time.perf_counter() - start
    accuracy = float(model.score(tx.reshape(len(tx), -1), ty))
    return {"model": "logistic regression", "seed": None, "steps": None, "accuracy": accuracy,
            "seconds": round(seconds, 4)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    digits = args.data / "digits"
    print(json.dumps(logistic(digits)), flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        for seed in map(int, args.seeds.split(",")):
            for cell in ("lstm", "gru"):
                out = Path(scratch) / f"{cell}-{seed}"
                print(json.dumps(seqnet_run(digits, cell, seed, args.steps, out)), flush=True)
            print(json.dumps(torch_lstm(digits, seed, args.steps)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
