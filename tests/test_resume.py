"""Exact resume: N steps, a checkpoint, N more steps == 2N steps straight, bit for bit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from seqnet.folder_training import train_in
from seqnet.plugins import default_registry
from seqnet.rundir import RunDir
from seqnet.runner import load_spec
from seqnet.specs import RunSpec
from seqnet.training import Interrupted
from seqnet_optim.flat import FlatLayout

QUICK = ["task.bits=4", "model.hidden=6", "train.eval_every=10", "train.eval_samples=100",
         "train.batch=8", "model.dropout=0.0"]  # fmt: skip


def spec_for(steps: int, *extra: str) -> RunSpec:
    return load_spec("binadd", [*QUICK, f"train.steps={steps}", *extra])


def with_steps(spec: RunSpec, steps: int) -> RunSpec:
    return spec.model_copy(update={"train": spec.train.model_copy(update={"steps": steps})})


def untimed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def assert_same_run(a: RunDir, b: RunDir) -> None:
    ca, cb = a.load()[0], b.load()[0]
    assert ca.step == cb.step
    assert ca.params.keys() == cb.params.keys()
    for name in ca.params:
        np.testing.assert_array_equal(ca.params[name], cb.params[name])
    assert ca.optimizer["step"] == cb.optimizer["step"]
    for slot, table in ca.optimizer["slots"].items():
        for name, value in table.items():
            np.testing.assert_array_equal(value, cb.optimizer["slots"][slot][name])
    assert ca.streams == cb.streams
    assert untimed(a.records()) == untimed(b.records())
    assert a.records(), "no metrics were logged"


@pytest.mark.parametrize(
    "optimizer",
    [
        ["optimizer.name=adam"],
        ["optimizer.name=sgd"],
        # a schedule is a function of the optimizer's step count, which the checkpoint holds
        ["optimizer.name=adamw", "optimizer.schedule={name: cosine, steps: 50, warmup: 20}"],
        [
            "optimizer.name=sgd",
            "optimizer.momentum=0.9",
            "optimizer.dampening=0.1",
            "optimizer.schedule={name: step, every: 7}",
        ],
        ["optimizer.name=rmsprop", "optimizer.centered=true", "optimizer.momentum=0.5"],
    ],
    ids=["adam", "sgd", "adamw-cosine", "sgd-step", "rmsprop-centered"],
)
def test_n_then_resume_n_equals_2n_straight(tmp_path: Path, optimizer: list[str]) -> None:
    n = 30
    extra = [*optimizer, "train.margin=50"]  # never stops early
    straight = RunDir.create(tmp_path / "straight", spec_for(2 * n, *extra))
    train_in(straight, spec_for(2 * n, *extra))

    first = spec_for(n, *extra)
    split = RunDir.create(tmp_path / "split", first)
    train_in(split, first)
    ckpt, saved = RunDir.open(split.path).load()  # as `seqnet resume` does, from disk
    assert ckpt.step == n
    result, summary, _ = train_in(split, with_steps(saved, 2 * n), resume_from=ckpt)
    assert summary["steps"] == 2 * n
    assert_same_run(straight, split)
    # the resumed parameters are one flat buffer again, so the optimizer updates them in one pass
    assert FlatLayout(result.params).flat_base(result.params) is not None


def test_an_interrupted_run_resumes_exactly(tmp_path: Path) -> None:
    spec = spec_for(40, "train.margin=50")
    straight = RunDir.create(tmp_path / "straight", spec)
    train_in(straight, spec)

    calls = 0

    def stop_after_13_steps() -> bool:
        nonlocal calls
        calls += 1
        return calls == 13

    split = RunDir.create(tmp_path / "split", spec)
    with pytest.raises(Interrupted, match="after step 13"):
        train_in(split, spec, stop_requested=stop_after_13_steps)
    ckpt, saved = split.load()
    assert ckpt.step == 13  # saved between steps, off the evaluation grid
    train_in(split, saved, resume_from=ckpt)
    assert_same_run(straight, split)


def test_a_batch_split_between_threads_resumes_exactly(tmp_path: Path) -> None:
    # 128 rows × 128 units a slice: seqnet.parallel splits every step, and dropout draws a seed
    # per slice from the run's stream, which the checkpoint must carry on exactly
    extra = ["train.threads=2", "train.batch=256", "model.hidden=128", "model.layers=2",
             "model.dropout=0.2", "train.margin=50", "train.eval_every=5"]  # fmt: skip
    straight = RunDir.create(tmp_path / "straight", spec_for(10, *extra))
    train_in(straight, spec_for(10, *extra))
    first = spec_for(5, *extra)
    split = RunDir.create(tmp_path / "split", first)
    train_in(split, first)
    ckpt, saved = RunDir.open(split.path).load()
    train_in(split, with_steps(saved, 10), resume_from=ckpt)
    assert_same_run(straight, split)


def test_log_lines_after_the_checkpoint_are_dropped_on_resume(tmp_path: Path) -> None:
    spec = spec_for(20, "train.margin=50")
    folder = RunDir.create(tmp_path / "run", spec)
    train_in(folder, spec)
    folder.log({"step": 25, "loss": 1.0})  # as if killed after logging, before saving
    ckpt, saved = folder.load(default_registry())
    train_in(folder, with_steps(saved, 30), resume_from=ckpt)
    assert [r["step"] for r in folder.records()] == [10, 20, 30]
