"""The adding problem: its data, the paper's criterion beside the baseline, and a short run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from seqnet.cli import app
from seqnet.runner import build, load_spec
from seqnet.training import train
from seqnet_adding import AddingTask
from seqnet_adding.task import BASELINE_MSE

runner = CliRunner()


def test_two_marked_steps_one_in_each_half_and_their_sum_at_the_end() -> None:
    task = AddingTask(length=10)
    batch = task.sample(np.random.default_rng(0), 200)
    assert batch.x.shape == (10, 200, 2) and batch.y.shape == (10, 200, 1)
    marked = batch.x[..., 1] == 1.0  # (T, B)
    assert (marked.sum(axis=0) == 2).all()
    assert (marked[:5].sum(axis=0) == 1).all() and (marked[5:].sum(axis=0) == 1).all()
    sums = (batch.x[..., 0] * marked).sum(axis=0)
    np.testing.assert_allclose(batch.y[-1, :, 0], sums)
    assert batch.mask[:-1].sum() == 0 and (batch.mask[-1] == 1).all()


def test_encode_by_hand() -> None:
    values = np.array([[0.25], [0.5], [0.125]])
    batch = AddingTask(length=3).encode(values, np.array([0]), np.array([2]))
    assert batch.x[:, 0].tolist() == [[0.25, 1.0], [0.5, 0.0], [0.125, 1.0]]
    assert batch.y[-1, 0, 0] == 0.375  # 0.25 + 0.125


def test_length_two_is_the_shortest() -> None:
    batch = AddingTask(length=2).sample(np.random.default_rng(1), 3)
    assert (batch.x[..., 1] == 1.0).all()


def test_metrics_against_the_baseline_of_always_answering_one() -> None:
    task = AddingTask(length=4)
    batch = task.sample(np.random.default_rng(0), 20_000)
    ones = np.ones_like(batch.y)
    metrics = task.metrics(ones, batch)
    # sum of two U(0, 1): variance 1/6, so answering 1.0 scores about 0.167 and r2 about 0
    assert metrics["mse"] == pytest.approx(BASELINE_MSE, rel=0.02)
    assert metrics["mse"] == metrics["baseline_mse"]
    assert abs(metrics["r2"]) < 0.02
    perfect = task.metrics(batch.y.copy(), batch)
    assert perfect["mse"] == 0.0 and perfect["r2"] == 1.0 and perfect["accuracy"] == 1.0


def test_the_papers_criterion_is_an_error_below_004() -> None:
    task = AddingTask(length=2)
    batch = task.encode(np.full((2, 2), 0.5), np.array([0, 0]), np.array([1, 1]))  # sums 1.0
    outputs = np.zeros_like(batch.y)
    outputs[-1, :, 0] = [1.03, 0.95]
    metrics = task.metrics(outputs, batch)
    assert metrics["accuracy"] == 0.5
    assert metrics["mse"] == pytest.approx((0.03**2 + 0.05**2) / 2)
    assert task.examples(outputs, batch, 1) == [
        "0.500 + 0.500 = 1.000, net says 1.030, off by 0.030  ✓"
        "  (✓: off by < 0.04, the accuracy metric)"
    ]


def test_a_length_below_two_is_one_line_and_exit_2() -> None:
    result = runner.invoke(app, ["run", "adding", "--set", "task.length=1"])
    assert result.exit_code == 2
    assert (
        result.stderr == "error: task.length: Input should be greater than or equal to 2 (got 1)\n"
    )


def test_a_short_adding_problem_beats_the_baseline() -> None:
    spec = load_spec(
        "adding",
        ["model.cell=elman", "model.hidden=16", "task.length=8", "train.steps=400",
         "train.eval_samples=200", "train.eval_every=100"],
    )  # fmt: skip
    parts = build(spec)
    result = train(parts.model, parts.task, parts.optimizer, spec.train, examples=0)
    assert result.metrics["mse"] < 0.2 * BASELINE_MSE


def test_eval_scores_a_run_at_other_lengths(tmp_path: Path) -> None:
    folder = tmp_path / "adding"
    args = ["run", "adding", "--cell", "elman", "--steps", "1", "--set", "task.length=4",
            "--out", str(folder), "-q"]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    result = runner.invoke(app, ["eval", str(folder), "--lengths", "4,9", "--json"])
    assert result.exit_code == 0, result.output
    table = json.loads(result.stdout)["lengths"]
    assert set(table) == {"4", "9"}
    assert {"mse", "r2", "accuracy", "baseline_mse"} <= set(table["9"])
