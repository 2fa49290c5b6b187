"""train.early_stop: the spec's early stopping, as `seqnet run` uses it; it stops where the
history says, a stopped run is finished, and a resumed run stops where an unbroken one does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from seqnet.cli import app
from seqnet.errors import SpecError
from seqnet.folder_training import train_in
from seqnet.rundir import RunDir
from seqnet.runner import build, load_spec
from seqnet.specs import RunSpec

QUICK = ["task.bits=4", "task.bits_min=0", "model.hidden=6", "train.eval_every=5",
         "train.eval_samples=100", "train.batch=8", "train.seed=3",
         "train.validate_lengths=[]", "train.margin=0", "train.patience=1",
         "task.heldout_runs=false"]  # fmt: skip
STOP = ["train.early_stop.metric=bit_accuracy", "train.early_stop.mode=max",
        "train.early_stop.patience=3"]  # fmt: skip


def spec_for(steps: int, *extra: str) -> RunSpec:
    return load_spec("binadd", [*QUICK, f"train.steps={steps}", *extra])


def rows(path: Path) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in RunDir(path).records()]


def where_it_stops(history: list[dict[str, Any]], metric: str, patience: int) -> int:
    """The step early stopping (mode max) must stop at, from an unstopped run's rows."""
    best, waited = None, 0
    for row in history:
        if best is None or row[metric] > best:
            best, waited = row[metric], 0
        else:
            waited += 1
            if waited >= patience:
                return int(row["step"])
    return int(history[-1]["step"])


def test_a_spec_with_early_stop_stops_where_the_history_says(tmp_path: Path) -> None:
    free = spec_for(200)
    with RunDir.create(tmp_path / "free", free) as folder:
        train_in(folder, free)
    want = where_it_stops(rows(tmp_path / "free"), "bit_accuracy", 3)
    assert want < 200, "the run must stall somewhere for this test to mean anything"
    runner = CliRunner()
    sets = [a for s in [*QUICK, "train.steps=200", *STOP] for a in ("--set", s)]
    done = runner.invoke(app, ["run", "binadd", *sets, "--out", str(tmp_path / "s"), "--json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["steps"] == want
    assert summary["stopped"].startswith("bit_accuracy did not improve for 3 evaluations")
    assert rows(tmp_path / "s") == rows(tmp_path / "free")[: len(rows(tmp_path / "s"))]
    ckpt, _ = RunDir.open(tmp_path / "s").load()
    assert ckpt.step == want and ckpt.loop["stopped"] == summary["stopped"]
    # a run stopped early is finished: plain resume says so; --steps trains on
    again = runner.invoke(app, ["resume", str(tmp_path / "s")])
    assert again.exit_code == 2
    assert again.stderr.startswith(f"error: the run in {tmp_path / 's'} stopped early at step")
    more = runner.invoke(app, ["resume", str(tmp_path / "s"), "--steps", "50", "--json"])
    assert more.exit_code == 0, more.output
    # it had waited 3 evaluations already: the next one that does not improve stops it
    after = [r for r in rows(tmp_path / "free") if r["step"] > want]
    best = max(r["bit_accuracy"] for r in rows(tmp_path / "free") if r["step"] <= want)
    stall = next((r["step"] for r in after if r["bit_accuracy"] <= best), None)
    assert json.loads(more.stdout)["steps"] == min(stall or want + 50, want + 50)


def test_a_resumed_run_stops_where_an_unbroken_one_does(tmp_path: Path) -> None:
    straight = spec_for(200, *STOP)
    with RunDir.create(tmp_path / "straight", straight) as folder:
        whole, _, _ = train_in(folder, straight)
    assert whole.stopped is not None
    with RunDir.create(tmp_path / "split", straight) as folder:
        train_in(folder, straight, until=whole.steps - 10)
    with RunDir.owned(tmp_path / "split", "resume") as folder:
        ckpt, spec = folder.load()
        second, _, _ = train_in(folder, spec, resume_from=ckpt)
    assert (second.steps, second.stopped) == (whole.steps, whole.stopped)
    assert rows(tmp_path / "split") == rows(tmp_path / "straight")


def test_no_early_stop_by_default_and_a_mode_it_cannot_guess_is_refused() -> None:
    spec = spec_for(10)
    assert spec.train.early_stop.metric is None
    with pytest.raises(SpecError, match=r"train\.early_stop\.mode 'min' or 'max'"):
        build(spec_for(10, "train.early_stop.metric=bit_accuracy"))
    build(spec_for(10, "train.early_stop.metric=val_loss"))  # a loss: lower is better
    with pytest.raises(SpecError, match="patience"):
        spec_for(10, "train.early_stop.metric=val_loss", "train.early_stop.patience=0")
