"""Whole-process wall time of the CLI, imports included: `seqnet --help` and `seqnet run binadd`.

    python benchmarks/startup.py [--runs 10] [--seqnet PATH]

`seqnet run binadd` runs once per seed 0..9 (quietly, into a scratch run folder) and the median
over seeds is reported; `seqnet --help` runs `--runs` times. Targets (issue 8): run < 1 s,
help < 0.3 s. By default the console script next to this Python is timed, not a version
manager's shim in front of it (a pyenv shim adds its own start-up); `--seqnet` picks another.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def summary(label: str, times: list[float], target: float) -> str:
    median = statistics.median(times)
    verdict = "met" if median < target else f"missed by {median - target:.2f} s"
    return (
        f"| {label} | {median:.3f} | {min(times):.3f}–{max(times):.3f} | < {target:g} | {verdict} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of --help")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 of run binadd")
    parser.add_argument("--seqnet", default=str(Path(sys.executable).parent / "seqnet"))
    args = parser.parse_args()
    exe = args.seqnet if Path(args.seqnet).exists() else shutil.which("seqnet") or "seqnet"

    wall([exe, "--help"])  # warm the file cache once; every timed run is a fresh process
    helps = [wall([exe, "--help"]) for _ in range(args.runs)]
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        for seed in range(args.seeds):
            out = str(Path(scratch) / f"run-{seed}")
            runs.append(wall([exe, "run", "binadd", "--seed", str(seed), "-q", "--out", out]))
    print(f"command: {exe}")
    print("| command | median s | min–max s | target s | |")
    print("| --- | --- | --- | --- | --- |")
    print(summary("seqnet --help", helps, 0.3))
    print(summary(f"seqnet run binadd (seeds 0..{args.seeds - 1})", runs, 1.0))


if __name__ == "__main__":
    main()
