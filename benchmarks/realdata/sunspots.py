"""Yearly sunspot numbers (statsmodels): one-step forecasts of the last 20 % of years by
seqnet's LSTM and GRU (`timeseries`), against the naive forecast (last year's number) and an
autoregressive model fitted by statsmodels on the same training years. Needs `export.py`'s file.

    python benchmarks/realdata/sunspots.py DATA [--seeds 0,1,2] [--steps 1000] > results.jsonl
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SPLIT = "[0.7,0.1,0.2]"
WINDOW, HIDDEN, LR = 20, 32, 0.01


def seqnet_run(csv: Path, cell: str, seed: int, steps: int, out: Path) -> dict[str, object]:
    command = [
        "seqnet", "run", "timeseries", "--cell", cell, "--hidden", str(HIDDEN), "--lr", str(LR),
        "--steps", str(steps), "--seed", str(seed),
        "--set", f"task.path={csv}", "--set", f"task.split={SPLIT}",
        "--set", "task.columns=[sunspots]", "--set", "task.target=sunspots",
        "--set", f"task.window={WINDOW}", "--json", "-q", "--out", str(out),
    ]  # fmt: skip
    subprocess.run(command, capture_output=True, text=True, check=True)
    scored = subprocess.run(["seqnet", "eval", str(out), "--json"], capture_output=True,
                            text=True, check=True)  # fmt: skip
    s = json.loads(scored.stdout)
    return {"model": f"seqnet {cell}", "seed": seed, "steps": steps, "mse": s["mse"],
            "mae": s["mae"], "skill": s["skill"], "forecasts": int(s["sequences"])}  # fmt: skip


def baselines(csv: Path) -> list[dict[str, object]]:
    from statsmodels.tsa.ar_model import AutoReg, ar_select_order

    y = np.loadtxt(csv, delimiter=",", skiprows=1)[:, 1]
    n = len(y)
    train_end = n - round(0.1 * n) - round(0.2 * n)  # the task's split by time
    test = np.arange(n - round(0.2 * n), n)
    lags = ar_select_order(y[:train_end], maxlag=WINDOW, ic="aic").ar_lags
    fit = AutoReg(y[:train_end], lags=lags).fit()
    const, phi = fit.params[0], fit.params[1:]
    ar = np.array([const + sum(p * y[t - lag] for p, lag in zip(phi, lags, strict=True))
                   for t in test])  # fmt: skip
    naive = y[test - 1]
    out = []
    for name, forecast in ((f"statsmodels AutoReg (lags {list(lags)})", ar), ("naive", naive)):
        err = forecast - y[test]
        out.append({"model": name, "seed": None, "mse": float(np.mean(err**2)),
                    "mae": float(np.mean(np.abs(err))),
                    "skill": float(1 - np.mean(err**2) / np.mean((naive - y[test]) ** 2)),
                    "forecasts": len(test)})  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    csv = args.data / "sunspots.csv"
    for row in baselines(csv):
        print(json.dumps(row), flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        for seed in map(int, args.seeds.split(",")):
            for cell in ("lstm", "gru"):
                out = Path(scratch) / f"{cell}-{seed}"
                print(json.dumps(seqnet_run(csv, cell, seed, args.steps, out)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
