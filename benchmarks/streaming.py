"""Training and scoring from a JSON Lines file larger than seqnet should ever hold: peak
resident memory of `seqnet run` and `seqnet eval` on a generated file (5 GiB by default), and
steps per second with the data read from a file against the same batches already in memory
(on a second, smaller file: --speed-mib), in --repeats pairs of alternating order.

    python benchmarks/streaming.py [--gib 5] [--dir /tmp] [--steps 300] [--speed-mib 256]
                                   [--repeats 6] [--out results.json]

The file is made in --dir (its free space is checked first) and deleted at the end. Lines are
16 to 64 steps of 8 numbers, labelled 0-9; a 32 MiB block of distinct lines is written over and
over, which is enough for memory and speed (the content does not matter, the size does).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

BLOCK = 32 * 2**20
SEQNET = [sys.executable, "-m", "seqnet"]  # the seqnet of this interpreter, PATH or not
MODEL = ["--cell", "lstm", "--hidden", "64", "--batch", "32"]


def make_file(path: Path, size: int) -> int:
    rng = np.random.default_rng(0)
    lines = []
    total = 0
    while total < BLOCK:
        T = int(rng.integers(16, 65))
        x = np.round(rng.random((T, 8)), 3).tolist()
        line = json.dumps({"input": x, "label": int(rng.integers(10))}) + "\n"
        lines.append(line)
        total += len(line)
    block = "".join(lines).encode()
    written = 0
    with path.open("wb") as f:
        while written < size:
            f.write(block)
            written += len(block)
    return written // len(block) * len(lines)


def measured(command: list[str]) -> dict[str, Any]:
    """Run `command` in a child that reports its own peak RSS (ru_maxrss of its child)."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter();"
             " r = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
             " print(r.returncode, time.perf_counter() - t,"
             " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(r.stdout[-2000:]);"
             " print(r.stderr[-2000:], file=sys.stderr)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True)
    code, seconds, rss_kib = done.stdout.splitlines()[0].split()
    if int(code) != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return {"command": " ".join(command), "seconds": round(float(seconds), 1),
            "peak_rss_mib": round(int(rss_kib) / 1024, 1),
            "output": [line for line in done.stdout.splitlines() if line.strip()][-1]}  # fmt: skip


def speed(path: Path, steps: int, repeats: int) -> dict[str, Any]:
    """Steps/s of the same training, the batches read from the file's binary copy (the task as
    a run uses it) vs the same batches made beforehand and held in memory, in pairs whose order
    alternates; both sides must end with the same loss (the same training, bit for bit)."""
    from seqnet.runner import build, load_spec
    from seqnet.training import Streams, train

    spec = load_spec("sequences", [f"task.path={path}", "model.hidden=64",
                                   f"train.steps={steps}", f"train.eval_every={steps}",
                                   "train.eval_samples=32"])  # fmt: skip
    start = time.perf_counter()
    task = build(spec).task
    scan_seconds = time.perf_counter() - start
    data = Streams.from_seed(spec.train.seed).data  # the stream train() draws batches from
    cpu = time.process_time()
    drawn = [task.sample(data, spec.train.batch) for _ in range(steps)]
    sample_ms = (time.process_time() - cpu) / steps * 1000  # CPU time of one batch read

    class InMemory:  # the same batches, already made
        def __init__(self) -> None:
            self.i = 0

        def __getattr__(self, name: str) -> Any:
            return getattr(task, name)

        def sample(self, rng: np.random.Generator, batch: int) -> Any:
            self.i += 1
            return drawn[(self.i - 1) % steps]

    def timed(source: Any) -> tuple[float, float, float]:
        """(steps per wall second, steps per CPU second of this process, the last loss)."""
        part = build(spec)
        wall, cpu = time.perf_counter(), time.process_time()
        result = train(part.model, source, part.optimizer, spec.train, examples=0)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return steps / wall, steps / cpu, result.history[-1].loss

    timed(task)  # warm-up: first-run costs (imports, allocator) count for neither side
    pairs = []
    for r in range(repeats):
        order = ("file", "memory") if r % 2 == 0 else ("memory", "file")
        got = {name: timed(task if name == "file" else InMemory()) for name in order}
        if got["file"][2] != got["memory"][2]:
            raise SystemExit(f"the two sides trained differently: {got}")
        pairs.append({f"{name} {clock}": round(got[name][i], 2) for name in ("file", "memory")
                      for i, clock in enumerate(("wall", "cpu"))})  # fmt: skip
    report: dict[str, Any] = {"scan_seconds": round(scan_seconds, 1),
                              "sample_cpu_ms": round(sample_ms, 3), "pairs": pairs}  # fmt: skip
    for clock in ("wall", "cpu"):  # CPU time leaves out the time other jobs held the cores
        ratios = sorted(p[f"file {clock}"] / p[f"memory {clock}"] for p in pairs)
        report[f"file_over_memory_{clock}"] = [round(r, 3) for r in ratios]
        report[f"median_ratio_{clock}"] = round(float(np.median(ratios)), 3)
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gib", type=float, default=5.0)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument(
        "--speed-mib",
        type=int,
        default=256,
        help="size of the speed test's file (0: no speed test)",
    )
    parser.add_argument("--repeats", type=int, default=6, help="file/memory pairs timed")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    size = int(args.gib * 2**30)
    free = shutil.disk_usage(args.dir).free
    if free < 1.2 * size:
        raise SystemExit(f"{args.dir} has {free / 2**30:.1f} GiB free; {args.gib} GiB needed")
    work = Path(tempfile.mkdtemp(prefix="seqnet-streaming-", dir=args.dir))
    data = work / "big.jsonl"
    report: dict[str, Any] = {"gib": args.gib, "load_before": os.getloadavg()}
    try:
        if size > 0:  # --gib 0: the speed test only
            start = time.perf_counter()
            report["lines"] = make_file(data, size)
            report["bytes"] = data.stat().st_size
            report["generate_seconds"] = round(time.perf_counter() - start, 1)
            run = work / "run"
            report["run"] = measured([*SEQNET, "run", "sequences", "--set", f"task.path={data}",
                                      *MODEL, "--steps", str(args.steps), "--set",
                                      f"train.eval_every={args.steps}", "--out", str(run), "-q",
                                      "--json"])  # fmt: skip
            report["eval"] = measured([*SEQNET, "eval", str(run), "--json"])
            data.unlink()
        if args.speed_mib > 0:  # 0: memory only
            small = work / "speed.jsonl"
            make_file(small, args.speed_mib * 2**20)
            report["speed_file_bytes"] = small.stat().st_size
            report["steps_per_second"] = speed(small, args.steps, args.repeats)
        report["load_after"] = os.getloadavg()
        report["ru_maxrss_this_process_mib"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
