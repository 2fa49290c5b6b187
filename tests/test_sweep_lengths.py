"""`seqnet sweep --eval-lengths`: every run scored at other lengths, and the fraction of seeds
that reach the target at each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seqnet.cli import app
from seqnet.errors import SpecError
from seqnet.registry import Registry
from seqnet.sweep.plan import EvalLength, SweepSpec, plan

runner = CliRunner()
# 250 steps solve 4-bit sums for some seeds and not for others: fractions between 0 and 1
TINY = ["--set", "task.bits=4", "--set", "model.hidden=8", "--set", "train.steps=250",
        "--set", "train.eval_samples=100", "--set", "train.margin=0"]  # fmt: skip


def test_eval_lengths_text_and_lists() -> None:
    spec = SweepSpec.model_validate({"eval_lengths": "64,1000:20"})
    assert spec.eval_lengths == [EvalLength(length=64), EvalLength(length=1000, samples=20)]
    assert SweepSpec.model_validate({"eval_lengths": [64, "8:5"]}).eval_lengths == [
        EvalLength(length=64, samples=1000),
        EvalLength(length=8, samples=5),
    ]
    with pytest.raises(SpecError, match="LENGTH or LENGTH:SAMPLES"):
        SweepSpec.model_validate({"eval_lengths": "64,x"})


def test_eval_lengths_need_a_task_with_a_length(registry: Registry, tmp_path: Path) -> None:
    text = tmp_path / "corpus.txt"
    text.write_text("hello world " * 200, encoding="utf-8")
    spec_file = tmp_path / "lm.yaml"
    spec_file.write_text(f"task: {{name: charlm, path: '{text}'}}\n", encoding="utf-8")
    with pytest.raises(SpecError, match="--eval-lengths: task 'charlm' has no length option"):
        plan(str(spec_file), [], {"eval_lengths": [{"length": 64}]}, registry)


def test_each_run_and_the_summary_report_every_length(tmp_path: Path) -> None:
    out = tmp_path / "s"
    result = runner.invoke(app, ["sweep", "binadd", *TINY, "--seeds", "0-3", "--workers", "1",
                                 "--eval-lengths", "4,40:50", "--out", str(out), "--json",
                                 "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(lines) == 4
    for line in lines:
        # the run's own summary.json holds the same numbers as its results line
        run = json.loads((out / "runs" / line["run"] / "summary.json").read_text())
        assert run == line["summary"]
        for length in (4, 40):
            assert run[f"reached@{length}"] == (run[f"exact_match@{length}"] == 1.0)
        # what `seqnet eval` prints for the run folder
        shown = runner.invoke(app, ["eval", str(out / "runs" / line["run"]), "--lengths", "40",
                                    "--samples", "50", "--json"])  # fmt: skip
        assert json.loads(shown.stdout)["lengths"]["40"]["exact_match"] == run["exact_match@40"]
    (group,) = summary["groups"]
    for length, samples in (("4", 1000), ("40", 50)):
        exact = sum(line["summary"][f"reached@{length}"] for line in lines)
        assert group["reached_at"][length] == {
            "seeds": exact,
            "of": 4,
            "fraction": exact / 4,
            "samples": samples,
        }
    fractions = {group["reached_at"][n]["fraction"] for n in ("4", "40")}
    assert fractions != {1.0}, "every seed exact everywhere: the test shows nothing; train less"
    assert json.loads((out / "summary.json").read_text())["groups"] == summary["groups"]
