"""A sweep folder on disk, and the summary of its results grouped by setting across seeds.

DIR/sweep.json       the sweep: base spec, what varies, every planned run
DIR/results.jsonl    one line per finished run (ok or failed), appended as each finishes
DIR/runs/NAME/       each run's spec.yaml, and once finished metrics.jsonl and summary.json
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqnet import spec_files
from seqnet.atomic import write_atomic
from seqnet.errors import SeqnetError
from seqnet.specs import RunSpec
from seqnet.sweep.plan import RunPlan, Sweep

SWEEP = "sweep.json"
RESULTS = "results.jsonl"
RUNS = "runs"


class SweepFolderError(SeqnetError):
    """A sweep folder that is missing, damaged, or already taken."""

    exit_code = 2


def write_run(folder: Path, spec: RunSpec | None, outcome: dict[str, Any] | None = None) -> None:
    """A run's folder: its spec.yaml before it runs; after, the files of the seqnet run folder
    (seqnet.rundir) the worker trained in, so `seqnet resume`, `eval` and `predict` work on it."""
    folder.mkdir(parents=True, exist_ok=True)
    if spec is not None:
        write_atomic(folder / "spec.yaml", spec_files.dump(spec, "yaml"))
    for name, data in (outcome or {}).get("files", {}).items():
        write_atomic(folder / Path(name).name, data)


@dataclass
class SweepFolder:
    """One sweep's folder. `create` starts one; `open` finds one to resume."""

    path: Path
    sweep: Sweep

    @classmethod
    def create(cls, path: Path, sweep: Sweep) -> SweepFolder:
        path = Path(path)
        if (path / SWEEP).exists():
            raise SweepFolderError(
                f"'{path}' already holds a sweep; continue it with: seqnet sweep --resume {path}"
            )
        try:
            (path / RUNS).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SweepFolderError(f"cannot create sweep folder '{path}': {error}") from None
        write_atomic(path / SWEEP, json.dumps(sweep.as_dict(), indent=2) + "\n")
        (path / RESULTS).touch()
        return cls(path, sweep)

    @classmethod
    def open(cls, path: Path) -> SweepFolder:
        path = Path(path)
        try:
            data = json.loads((path / SWEEP).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SweepFolderError(f"'{path}' has no {SWEEP}; it is not a sweep folder") from None
        except (OSError, ValueError) as error:
            raise SweepFolderError(f"'{path / SWEEP}' cannot be read: {error}") from None
        try:
            sweep = Sweep.from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError, SeqnetError) as error:
            reason = f"{type(error).__name__}: {error}".splitlines()[0][:200]
            raise SweepFolderError(
                f"'{path / SWEEP}' is damaged ({reason}); it is not a sweep seqnet can resume"
            ) from None
        folder = cls(path, sweep)
        folder.repair()
        return folder

    def run_folder(self, run: RunPlan) -> Path:
        return self.path / RUNS / run.name

    def results(self) -> list[dict[str, Any]]:
        """Every recorded run, in the order they finished (a torn last line is left out)."""
        try:
            lines = (self.path / RESULTS).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        records = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash mid-write; that run runs again
            if isinstance(record, dict) and isinstance(record.get("run"), str):
                records.append(record)
        return records

    def repair(self) -> None:
        """Drop a torn line (a crash mid-append) so that appends start on a fresh line."""
        path = self.path / RESULTS
        data = path.read_bytes() if path.exists() else b""
        if data and not data.endswith(b"\n"):
            write_atomic(path, "".join(json.dumps(r) + "\n" for r in self.results()))

    def missing(self) -> list[RunPlan]:
        """The planned runs with no line in results.jsonl, in plan order."""
        done = {record["run"] for record in self.results()}
        return [run for run in self.sweep.runs if run.name not in done]

    def record(self, run: RunPlan, outcome: dict[str, Any]) -> dict[str, Any]:
        """Write the run's folder, then its results line (the line is what makes it done)."""
        write_run(self.run_folder(run), None, outcome)
        line = {
            "run": run.name,
            "setting": run.setting,
            "seed": run.seed,
            "status": outcome["status"],
            "summary": outcome.get("summary"),
            "error": outcome.get("error"),
        }
        with (self.path / RESULTS).open("a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return line


def summarize(sweep: Sweep, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Results grouped by setting (in plan order), across seeds: for each numeric summary
    field the mean, min and max over the runs that finished ok, and how many reached the
    task's target. Never depends on the order in which runs finished."""
    by_run = {record["run"]: record for record in records}
    groups: dict[str, list[RunPlan]] = {}
    for run in sweep.runs:
        groups.setdefault(json.dumps(run.setting, sort_keys=True), []).append(run)
    rows = []
    for runs in groups.values():
        done = [by_run[run.name] for run in runs if run.name in by_run]
        ok = [record["summary"] for record in done if record["status"] == "ok"]
        rows.append(
            {
                "setting": runs[0].setting,
                "seeds": len(runs),
                "done": len(done),
                "ok": len(ok),
                "failed": len(done) - len(ok),
                "reached_target": sum(bool(s.get("reached_target")) for s in ok),
                **reached_at(sweep, ok, len(done)),
                "metrics": spread(ok),
                "errors": sorted({r["error"] for r in done if r["status"] != "ok"}),
            }
        )
    failed = sum(1 for record in by_run.values() if record["status"] != "ok")
    return {"runs": len(sweep.runs), "done": len(by_run), "failed": failed, "groups": rows}


def reached_at(sweep: Sweep, ok: list[dict[str, Any]], done: int) -> dict[str, Any]:
    """With `eval_lengths`: per length, how many of the finished seeds reached the target there
    (binadd: exact_match 1.0); a failed run counts as not reaching it."""
    if not sweep.spec.eval_lengths:
        return {}
    out = {}
    for item in sweep.spec.eval_lengths:
        count = sum(bool(s.get(f"reached@{item.length}")) for s in ok)
        out[str(item.length)] = {"seeds": count, "of": done, "fraction": count / max(done, 1),
                                 "samples": item.samples}  # fmt: skip
    return {"reached_at": out}


def spread(summaries: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """name -> {mean, min, max} for each numeric field (not bools, not the seed)."""
    names = [k for k, v in (summaries[0].items() if summaries else [])
             if isinstance(v, int | float) and not isinstance(v, bool) and k != "seed"]  # fmt: skip
    out = {}
    for name in names:
        values = [float(s[name]) for s in summaries if isinstance(s.get(name), int | float)]
        out[name] = {"mean": math.fsum(values) / len(values), "min": min(values),
                     "max": max(values)}  # fmt: skip
    return out
