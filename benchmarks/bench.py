"""Training-step speed of seqnet against PyTorch on the CPU, side by side, in rounds.

    python benchmarks/bench.py                 # the whole grid, a table
    python benchmarks/bench.py --json          # one JSON object per point
    python benchmarks/bench.py --cells elman --rounds 3 --threads 1

Each side runs in its own worker process (worker.py). For every point, each round measures
seqnet and torch at every thread count, alternating which goes first; a side's thread count is
the one with its best median, and the ratio is taken round by round (so drift on a shared machine
hits both sides alike). The GEMM roof is numpy's float32 N×N matmul rate (best of 5), measured
in every round next to seqnet, so "% roof" is also a same-moment ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sides import Point, torch_available  # noqa: E402 -- after the path tweak above


def grid(cells: list[str]) -> list[Point]:
    points = []
    if "elman" in cells:
        points += [
            Point("elman", B, H, T) for B in (1, 32, 256) for H in (16, 128, 512) for T in (8, 64)
        ]
    for cell in ("lstm", "gru"):
        if cell in cells:
            points += [Point(cell, 32, 128, 64), Point(cell, 256, 512, 64)]
    for composed in ("bilstm", "emb-lstm"):  # models of layers (issue 12): ≥ 1× asked
        if composed in cells:
            points.append(Point(composed, 32, 128, 64))
    return points


def overhead_bound(p: Point) -> bool:
    """Where per-operation overhead rules, the issue asks for ≥ 5× torch."""
    return p.H <= 128 and p.B <= 32


def largest(p: Point) -> bool:
    return p.B == 256 and p.H == 512


class Worker:
    def __init__(self, side: str) -> None:
        self.side = side
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "worker.py"), side],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, **request: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.side} worker stopped")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def machine(seqnet: Worker) -> dict[str, str]:
    """The CPU (lscpu), numpy's BLAS kernels in seqnet's worker, and the load average now."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    fields = {
        k.strip(): v.strip()
        for k, v in (ln.split(":", 1) for ln in lscpu.splitlines() if ":" in ln)
    }
    return {
        "cpu": f"{fields.get('Model name', '?')} (family {fields.get('CPU family', '?')}, "
        f"model {fields.get('Model', '?')}), {fields.get('CPU(s)', '?')} CPUs",
        "seqnet_blas": seqnet.ask(op="about", threads=1)["blas"],
        "load": Path("/proc/loadavg").read_text().strip(),
    }


def best_threads(by_threads: dict[int, list[float]]) -> int:
    return max(by_threads, key=lambda n: statistics.median(by_threads[n]))


def measure_point(
    workers: dict[str, Worker],
    point: Point,
    threads: list[int],
    rounds: int,
    seconds: float,
    roof_size: int,
) -> dict[str, Any]:
    """Every round: at each thread count, the GEMM roof, then both sides in alternating order."""
    sides = list(workers)
    rates: dict[str, dict[int, list[float]]] = {
        s: {n: [] for n in threads} for s in [*sides, "roof"]
    }
    for r in range(rounds):
        for n in threads:
            roof = workers["seqnet"].ask(op="roof", threads=n, size=roof_size)["gflops"]
            rates["roof"][n].append(roof)
            for side in sides if r % 2 == 0 else reversed(sides):
                reply = workers[side].ask(
                    op="steps", point=asdict(point), threads=n, seconds=seconds
                )
                rates[side][n].append(reply["steps_per_s"])
    best = {s: best_threads(rates[s]) for s in sides}
    row: dict[str, Any] = {**asdict(point), "gemm_flops": point.flops()}
    for s in sides:
        row[f"{s}_threads"] = best[s]
        row[f"{s}_steps_per_s"] = statistics.median(rates[s][best[s]])
        row[f"{s}_rounds"] = rates[s][best[s]]
    ours = rates["seqnet"][best["seqnet"]]
    roofs = rates["roof"][best["seqnet"]]
    fractions = [point.flops() * a / 1e9 / g for a, g in zip(ours, roofs, strict=True)]
    row["seqnet_gflops"] = point.flops() * row["seqnet_steps_per_s"] / 1e9
    row["roof_gflops"] = statistics.median(roofs)
    row["roof_fraction"] = statistics.median(fractions)
    if "torch" in workers:
        theirs = rates["torch"][best["torch"]]
        ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
        row["ratio"] = statistics.median(ratios)
        row["ratio_min"], row["ratio_max"] = min(ratios), max(ratios)
    row["roofs_by_threads"] = {n: statistics.median(g) for n, g in rates["roof"].items()}
    return row


def verdict(row: dict[str, Any], point: Point) -> str:
    notes = []
    if "ratio" in row:
        for need in (1.0, 5.0) if overhead_bound(point) else (1.0,):
            notes.append(f"{'ok' if row['ratio'] >= need else 'MISS'} ≥{need:g}×")
    if largest(point):
        notes.append(f"{'ok' if row['roof_fraction'] >= 0.8 else 'MISS'} ≥80% roof")
    return ", ".join(notes)


def print_table(rows: list[dict[str, Any]], roofs: dict[int, float], has_torch: bool) -> None:
    print(
        "GEMM roof (numpy float32 matmul, median over all rounds): "
        + ", ".join(f"{n} thread{'s' * (n > 1)} {g:.0f} GFLOP/s" for n, g in roofs.items())
    )
    head = ["point", "seqnet steps/s", "thr"]
    if has_torch:
        head += ["torch steps/s", "thr", "ratio (min–max)"]
    head += ["seqnet GFLOP/s", "% roof", "targets"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(" --- " for _ in head) + "|")
    for row in rows:
        point = Point(row["cell"], row["B"], row["H"], row["T"], row["dtype"])
        cells = [point.label, f"{row['seqnet_steps_per_s']:,.1f}", str(row["seqnet_threads"])]
        if has_torch:
            cells += [
                f"{row['torch_steps_per_s']:,.1f}",
                str(row["torch_threads"]),
                f"{row['ratio']:.2f}× ({row['ratio_min']:.2f}–{row['ratio_max']:.2f})",
            ]
        cells += [
            f"{row['seqnet_gflops']:.1f}",
            f"{100 * row['roof_fraction']:.0f}%",
            verdict(row, point),
        ]
        print("| " + " | ".join(cells) + " |", flush=True)


def memory(point: Point, sides: list[str]) -> dict[str, dict[str, float]]:
    """Each side in a fresh process: resident MiB before the first step, and the peak after."""
    out = {}
    for side in sides:
        proc = subprocess.run(
            [sys.executable, str(HERE / "worker.py"), side, "--memory", json.dumps(asdict(point))],
            capture_output=True,
            text=True,
            check=True,
        )
        out[side] = json.loads(proc.stdout)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cells",
        default="elman,lstm,gru,bilstm,emb-lstm",
        help="comma-separated cell names, and the composed models bilstm and emb-lstm",
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.3, help="per measurement")
    parser.add_argument("--threads", default="1,2", help="thread counts to try on each side")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--roof-size", type=int, default=1024, help="N of the N³ roof GEMM")
    parser.add_argument("--no-torch", action="store_true", help="seqnet only")
    parser.add_argument("--memory", action="store_true", help="peak memory at the largest LSTM")
    parser.add_argument("--json", action="store_true", help="one JSON object per point")
    parser.add_argument("--only", default="", help="run only points whose label contains this")
    parser.add_argument("--table", type=Path, help="print the table from a --json run's output")
    args = parser.parse_args()
    if args.table is not None:
        table_from(args.table)
        return

    cells = [c for c in args.cells.split(",") if c]
    threads = [int(n) for n in args.threads.split(",")]
    points = [Point(p.cell, p.B, p.H, p.T, args.dtype) for p in grid(cells) if args.only in p.label]
    has_torch = torch_available() and not args.no_torch
    workers = {"seqnet": Worker("seqnet")}
    if has_torch:
        workers["torch"] = Worker("torch")
    rows = []
    about = {"machine": machine(workers["seqnet"])}
    try:
        for point in points:
            row = measure_point(workers, point, threads, args.rounds, args.seconds, args.roof_size)
            rows.append(row)
            print(f"done: {point.label}", file=sys.stderr, flush=True)
        about["load_after"] = Path("/proc/loadavg").read_text().strip()
    finally:
        for worker in workers.values():
            worker.close()
    roofs = {n: statistics.median(row["roofs_by_threads"][n] for row in rows) for n in threads}
    mem = None
    if args.memory:
        big = Point("lstm", 256, 512, 64, args.dtype)
        mem = {"memory": big.label, **memory(big, list(workers))}
    if args.json:
        print(json.dumps(about))
        for row in rows:
            print(json.dumps(row))
        print(json.dumps({"roof_gflops_median": roofs}))
        if mem is not None:
            print(json.dumps(mem))
    else:
        report(rows, roofs, mem, has_torch, about)


def report(
    rows: list[dict[str, Any]],
    roofs: dict[int, float],
    mem: dict[str, Any] | None,
    has_torch: bool,
    about: dict[str, Any] | None = None,
) -> None:
    if about is not None:  # runs from before this line was written lack it
        m = about["machine"]
        print(f"{m['cpu']}; numpy: {m['seqnet_blas']}")
        print(f"load average before: {m['load']}; after: {about.get('load_after', '?')}")
    print_table(rows, roofs, has_torch)
    if mem is not None:
        print(f"\nmemory at {mem['memory']} (fresh process per side, two steps):")
        for side in ("seqnet", "torch"):
            if side in mem:
                m = mem[side]
                print(
                    f"- {side}: {m['before_mib']:.0f} MiB resident before the first step, "
                    f"peak {m['peak_mib']:.0f} MiB (+{m['step_mib']:.0f} MiB for the steps)"
                )


def table_from(path: Path) -> None:
    """Print the table from the lines a `--json` run wrote."""
    rows, roofs, mem, about = [], {}, None, None
    for line in path.read_text().splitlines():
        if not line.startswith("{"):
            continue
        obj = json.loads(line)
        if "machine" in obj:
            about = obj
        elif "roof_gflops_median" in obj:
            roofs = {int(n): g for n, g in obj["roof_gflops_median"].items()}
        elif "memory" in obj:
            mem = obj
        else:
            rows.append(obj)
    report(rows, roofs, mem, any("ratio" in row for row in rows), about)


if __name__ == "__main__":
    main()
