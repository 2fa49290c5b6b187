"""Run folders: what a run writes, and what a folder refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from seqnet.folder_training import train_in
from seqnet.rundir import RunDir, RunDirError, default_folder
from seqnet.runner import load_spec

SPEC = ["task.bits=4", "model.hidden=6", "train.steps=20", "train.eval_every=10",
        "train.eval_samples=50"]  # fmt: skip


def test_a_run_writes_spec_metrics_checkpoint_and_summary(tmp_path: Path) -> None:
    spec = load_spec("binadd", SPEC)
    folder = RunDir.create(tmp_path / "r", spec)
    _, summary, _ = train_in(folder, spec)
    assert sorted(p.name for p in folder.path.iterdir()) == [".seqnet.lock",
        "checkpoint.npz", "metrics.jsonl", "spec.yaml", "summary.json"]  # fmt: skip
    assert yaml.safe_load((folder.path / "spec.yaml").read_text()) == spec.model_dump(mode="json")
    assert json.loads((folder.path / "summary.json").read_text()) == summary
    rows = folder.records()
    assert [r["step"] for r in rows] == [10, 20]
    for key in ("step", "loss", "grad_norm", "val_loss", "bit_accuracy", "exact_match", "lr",
                "seconds"):  # fmt: skip
        assert key in rows[0]
    assert rows[0]["lr"] == spec.options("optimizer")["lr"]
    assert folder.load()[0].step == 20


def test_the_logged_learning_rate_follows_the_schedule(tmp_path: Path) -> None:
    # lr 0.01 halved every 15 steps: steps 10 and 20 ran at 0.01 and 0.005
    spec = load_spec("binadd", [*SPEC, "optimizer.schedule={name: step, every: 15, gamma: 0.5}"])
    folder = RunDir.create(tmp_path / "r", spec)
    train_in(folder, spec)
    assert [r["lr"] for r in folder.records()] == [0.01, 0.005]


def test_a_folder_that_holds_a_run_is_not_overwritten(tmp_path: Path) -> None:
    spec = load_spec("binadd", SPEC)
    with RunDir.create(tmp_path / "r", spec) as folder:
        train_in(folder, spec)
    with pytest.raises(RunDirError, match="already holds a run; continue it with: seqnet resume"):
        RunDir.create(tmp_path / "r", spec)


def test_open_refuses_a_folder_without_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="not found"):
        RunDir.open(tmp_path / "nothing")
    with pytest.raises(RunDirError, match=r"has no checkpoint\.npz"):
        RunDir.open(tmp_path)


def test_default_folders_are_named_for_the_run_and_never_reused(tmp_path: Path) -> None:
    spec = load_spec("binadd", SPEC)
    first = default_folder(spec, tmp_path)
    assert first.name.startswith("binadd-elman-")
    first.mkdir()
    assert default_folder(spec, tmp_path) != first
