"""train.keep: a run folder keeps checkpoint-best.npz beside checkpoint.npz; it is checked as
strictly as the last one, survives a resume, and is what `eval` reads with keep: best."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import seqnet
from seqnet.checkpoint import CheckpointError
from seqnet.cli import app
from seqnet.errors import SpecError
from seqnet.folder_training import train_in
from seqnet.rundir import BEST, RunDir, RunDirError
from seqnet.runner import build, load_spec
from seqnet.specs import RunSpec

QUICK = ["task.bits=4", "task.bits_min=0", "model.hidden=6", "train.eval_every=5",
         "train.eval_samples=100", "train.batch=8", "train.seed=3",
         "train.validate_lengths=[]", "train.margin=0", "train.patience=1",
         "task.heldout_runs=false"]  # fmt: skip

BY_BITS = ("train.keep=both", "train.best_metric=bit_accuracy", "train.best_mode=max")


def spec_for(steps: int, *extra: str) -> RunSpec:
    return load_spec("binadd", [*QUICK, f"train.steps={steps}", *extra])


def trained(path: Path, spec: RunSpec) -> RunDir:
    with RunDir.create(path, spec) as folder:
        train_in(folder, spec)
    return RunDir.open(path)


def best_row(folder: RunDir, metric: str, mode: str) -> dict[str, float]:
    rows = folder.records()
    pick = min if mode == "min" else max
    return pick(rows, key=lambda row: row[metric])  # the first of equals, as KeepBest keeps


def test_keep_best_keeps_the_checkpoint_of_the_best_evaluation_and_it_loads(
    tmp_path: Path,
) -> None:
    spec = spec_for(60, *BY_BITS)
    folder = trained(tmp_path / "run", spec)
    row = best_row(folder, "bit_accuracy", "max")
    last, _ = folder.load()
    best, best_spec = folder.load(which="best")
    assert last.step == 60 and best.step == row["step"] and best.step != last.step
    assert best_spec == spec
    # its parameters are those of the same run stopped at the best step
    again = trained(tmp_path / "short", spec_for(int(row["step"]), *BY_BITS))
    for name, value in again.load()[0].params.items():
        np.testing.assert_array_equal(best.params[name], value)
    # `kept` is the last with keep: both
    assert folder.load(which="kept")[0].step == 60


def test_keep_best_makes_the_best_the_runs_model(tmp_path: Path) -> None:
    spec = spec_for(40, "train.keep=best")  # best_metric val_loss: lowest
    folder = trained(tmp_path / "run", spec)
    row = best_row(folder, "val_loss", "min")
    assert folder.load(which="kept")[0].step == row["step"]
    assert folder.load()[0].step == 40  # resume continues from the last, always
    summary = json.loads((folder.path / "summary.json").read_text())
    assert summary["best_step"] == row["step"] and summary["best_val_loss"] == row["val_loss"]


def test_keep_last_writes_no_best_and_says_so(tmp_path: Path) -> None:
    folder = trained(tmp_path / "run", spec_for(10))
    assert not (folder.path / BEST).exists()
    with pytest.raises(RunDirError, match="keeps no best checkpoint"):
        folder.load(which="best")


def test_a_damaged_best_checkpoint_is_refused_like_the_last(tmp_path: Path) -> None:
    folder = trained(tmp_path / "run", spec_for(20, "train.keep=both"))
    raw = bytearray((folder.path / BEST).read_bytes())
    member = zipfile.ZipFile(folder.path / BEST).getinfo("params/layers.0.W_h.npy")
    raw[member.header_offset + member.compress_size] ^= 0xFF  # a byte of the array's data
    (folder.path / BEST).write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=f"checkpoint '.*{BEST}'"):
        folder.load(which="best")
    folder.load()  # the last is untouched


def test_resume_keeps_the_best_of_both_segments(tmp_path: Path) -> None:
    straight = trained(tmp_path / "straight", spec_for(60, *BY_BITS))
    spec = spec_for(60, *BY_BITS)
    with RunDir.create(tmp_path / "split", spec) as folder:
        train_in(folder, spec, until=30)
    with RunDir.owned(tmp_path / "split", "resume") as folder:
        ckpt, spec = folder.load()
        train_in(folder, spec, resume_from=ckpt)
    split = RunDir.open(tmp_path / "split")
    a, b = straight.load(which="best")[0], split.load(which="best")[0]
    assert a.step == b.step
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])


def test_a_metric_whose_direction_is_unknown_is_refused_before_training() -> None:
    spec = spec_for(10, "train.keep=best", "train.best_metric=bit_accuracy")
    with pytest.raises(SpecError, match=r"bit_accuracy is better: train\.best_mode 'min' or 'max'"):
        build(spec)
    build(spec_for(10, "train.keep=best", "train.best_metric=exact_match"))  # the target: max


def test_eval_reads_the_best_checkpoint_with_keep_best(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "run"
    chosen = ["train.steps=40", "train.keep=best", "train.best_metric=exact_match"]
    sets = [a for s in [*QUICK, *chosen] for a in ("--set", s)]
    done = runner.invoke(app, ["run", "binadd", *sets, "--out", str(out)])
    assert done.exit_code == 0, done.output
    best = RunDir.open(out).load(which="best")[0].step
    assert f"; best exact_match 0.1000 at step {best}; target:" in done.stdout
    kept = runner.invoke(app, ["eval", str(out), "--json", "--samples", "50"])
    last = runner.invoke(app, ["eval", str(out), "--json", "--samples", "50",
                               "--checkpoint", "last"])  # fmt: skip
    assert kept.exit_code == 0 and last.exit_code == 0, kept.output + last.output
    assert best != 40
    # different parameters score differently on the same fresh data
    assert json.loads(kept.stdout) != json.loads(last.stdout)
    named = runner.invoke(app, ["eval", str(out), "--json", "--samples", "50",
                                "--checkpoint", "best"])  # fmt: skip
    assert named.stdout == kept.stdout


def test_a_run_reads_the_checkpoint_train_keep_names(tmp_path: Path) -> None:
    chosen = ["train.steps=40", "train.keep=best", "train.best_metric=exact_match"]
    run = seqnet.Run.create("binadd", tmp_path / "run", settings=[*QUICK, *chosen])
    result = run.train()
    best = RunDir.open(run.path).load(which="best")[0]
    assert best.step != result.steps
    for name, value in best.params.items():  # keep: best makes the best the run's model
        np.testing.assert_array_equal(run.params[name], value)
        np.testing.assert_array_equal(seqnet.Run.open(run.path).params[name], value)
        last = seqnet.Run.open(run.path, checkpoint="last").params[name]
        np.testing.assert_array_equal(last, result.params[name])
    kept = seqnet.Run.open(run.path).evaluate(samples=50)
    assert kept != seqnet.Run.open(run.path, checkpoint="last").evaluate(samples=50)
