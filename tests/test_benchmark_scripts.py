"""The benchmark scripts still run against today's seqnet, on a budget of a few steps.

benchmarks/ is not timed here (its numbers are made on a quiet machine, by hand); these tests
only keep its scripts from drifting away from the API they call, as whole_task.py once did.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from seqnet.runner import load_spec

BENCH = Path(__file__).parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import point_phases  # noqa: E402 -- benchmarks/ is put on the path just above
import sides  # noqa: E402
import whole_task  # noqa: E402


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru", "bilstm", "emb-lstm"])
def test_every_kind_of_bench_point_takes_a_step_on_the_seqnet_side(cell: str) -> None:
    step = sides.seqnet_step(sides.Point(cell, 2, 4, 3))
    losses = [step(1) for _ in range(3)]
    assert all(math.isfinite(loss) for loss in losses) and losses[-1] != losses[0]


def test_point_phases_times_each_phase_of_a_step() -> None:
    spent = point_phases.phases(sides.Point("elman", 2, 4, 3), steps=3, warmup=1)
    assert set(spent) == {"forward", "loss", "backward", "optimizer"}
    assert all(us > 0 for us in spent.values())


def test_whole_task_trains_seqnets_side_to_the_end_of_its_budget() -> None:
    spec = load_spec("adding", ["train.steps=4", "train.eval_every=2", "train.eval_samples=8",
                                "task.length=5"])  # fmt: skip
    out = whole_task.run_seqnet(spec)
    assert out["steps"] == 4 and out["cpu_seconds"] > 0 and "mse" in out["test"]


def test_bench_measures_a_point_without_torch() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench.py"), "--no-torch", "--only", "elman B=1 H=16 T=8",
         "--rounds", "1", "--seconds", "0.01", "--roof-size", "64", "--threads", "1", "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    points = [row for row in rows if "seqnet_steps_per_s" in row]
    assert [(p["cell"], p["B"], p["H"], p["T"]) for p in points] == [("elman", 1, 16, 8)]
    assert points[0]["seqnet_steps_per_s"] > 0


def test_streaming_measures_run_eval_and_the_file_against_memory(tmp_path: Path) -> None:
    out = tmp_path / "streaming.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "streaming.py"), "--gib", "0.0002", "--steps", "3",
         "--speed-mib", "1", "--repeats", "1", "--dir", str(tmp_path), "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert report["lines"] > 0 and report["run"]["peak_rss_mib"] > 0
    assert report["eval"]["peak_rss_mib"] > 0
    assert len(report["steps_per_second"]["pairs"]) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["streaming.json"]  # its work folder is gone


def test_chomsky_actions_reads_a_memory_cells_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    made = subprocess.run(
        [sys.executable, "-m", "seqnet", "run", "reverse_string", "--cell", "tape_rnn",
         "--hidden", "8", "--steps", "2", "--out", str(run), "-q"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    done = subprocess.run(
        [sys.executable, str(BENCH / "chomsky_actions.py"), str(run), "12", "3"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].lstrip().startswith("reading: stay ") and "jump right" in lines[1]
    assert lines[2].startswith("accuracy ") and "at length 12" in lines[2]
    assert len(lines[3].split(": ")[1].split(", ")) == 4  # a share right in each quarter
