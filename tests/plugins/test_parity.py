"""The running-parity task: data, metrics, predict, and generalisation to long streams."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from seqnet.cli import app
from seqnet.runner import build, load_spec
from seqnet.training import train
from seqnet_parity import ParityTask

runner = CliRunner()


def test_targets_are_the_running_parity() -> None:
    batch = ParityTask().encode(np.array([[1], [0], [1], [1], [0]]))
    # 1, 1^0, 1^0^1, 1^0^1^1, ... worked by hand
    assert batch.y[:, 0, 0].tolist() == [1.0, 1.0, 0.0, 1.0, 1.0]
    assert batch.x[:, 0, 0].tolist() == [1.0, 0.0, 1.0, 1.0, 0.0]
    assert batch.mask.tolist() == [[1.0]] * 5


@given(st.lists(st.integers(0, 1), min_size=1, max_size=50))
def test_last_target_is_the_parity_of_the_ones(bits: list[int]) -> None:
    batch = ParityTask().encode(np.array(bits)[:, None])
    assert batch.y[-1, 0, 0] == sum(bits) % 2


def test_sample_has_the_configured_length() -> None:
    batch = ParityTask(length=7).sample(np.random.default_rng(0), 5)
    assert batch.x.shape == (7, 5, 1) and batch.y.shape == (7, 5, 1)
    np.testing.assert_array_equal(
        batch.y[..., 0], np.bitwise_xor.accumulate(batch.x[..., 0].astype(int), axis=0)
    )


def test_metrics_count_bits_and_whole_streams() -> None:
    task = ParityTask(length=4)
    batch = task.encode(np.array([[1, 0], [1, 0], [0, 0], [1, 0]]))
    outputs = np.where(batch.y > 0.5, 5.0, -5.0)
    outputs[2, 0, 0] *= -1  # one wrong bit in the first stream
    metrics = task.metrics(outputs, batch)
    assert metrics == {"bit_accuracy": 7 / 8, "exact_match": 0.5}


def test_parse_pads_short_streams_with_unscored_steps() -> None:
    task = ParityTask()
    batch = task.parse(["1011", "01"])
    assert batch.mask[:, 1].tolist() == [1.0, 1.0, 0.0, 0.0]
    perfect = np.where(batch.y > 0.5, 5.0, -5.0)
    assert task.format(perfect, batch) == ["1101", "01"]


@pytest.mark.parametrize("words", [[], ["10a1"], ["1", ""], ["2"]])
def test_parse_refuses_what_is_not_bits(words: list[str]) -> None:
    with pytest.raises(ValueError, match="streams of bits"):
        ParityTask().parse(words)


def test_a_length_below_one_is_one_line_and_exit_2() -> None:
    result = runner.invoke(app, ["run", "parity", "--set", "task.length=0"])
    assert result.exit_code == 2
    assert (
        result.stderr == "error: task.length: Input should be greater than or equal to 1 (got 0)\n"
    )


def test_trained_on_16_bits_it_holds_on_streams_of_1000(tmp_path: Path) -> None:
    # The default spec, seed 0: solved in a few hundred steps (about a second).
    folder = tmp_path / "parity"
    result = runner.invoke(app, ["run", "parity", "--out", str(folder), "-q", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1])["exact_match"] == 1.0
    result = runner.invoke(
        app, ["eval", str(folder), "--lengths", "16,1000", "--samples", "100", "--json"]
    )
    assert result.exit_code == 0, result.output
    table = json.loads(result.stdout)["lengths"]
    assert table["1000"]["exact_match"] == 1.0
    result = runner.invoke(app, ["predict", str(folder), "1011", "0000111"])
    assert result.stdout == "1101\n0000101\n"


def test_an_untrained_net_does_not_know_parity() -> None:
    spec = load_spec("parity", ["train.steps=1"])
    parts = build(spec)
    result = train(parts.model, parts.task, parts.optimizer, spec.train, examples=0)
    assert result.metrics["exact_match"] < 0.1


def longest_run(bits: np.ndarray) -> tuple[int, int]:
    """The longest stretch of equal bits in a stream: (its length, its bit)."""
    best, run, bit = (0, 0), 0, -1
    for v in bits.astype(int):
        run = run + 1 if v == bit else 1
        bit = v
        best = max(best, (run, v))
    return best


def test_heldout_runs_give_validation_streams_long_runs_of_0s_and_of_1s() -> None:
    task = ParityTask(length=256, heldout_runs=True)
    held = task.heldout(np.random.default_rng(0), 400)
    runs = [longest_run(held.x[:, i, 0]) for i in range(400)]
    # one run of 1..256 equal bits per stream: about half longer than 100 steps, of 0s and of
    # 1s; 400 random streams of 256 bits have none longer than about 20
    long = [bit for length, bit in runs if length > 100]
    assert len(long) > 120 and 0.3 < np.mean(long) < 0.7
    assert np.array_equal(held.y[..., 0], np.bitwise_xor.accumulate(held.x[..., 0].astype(int)))
    plain = ParityTask(length=256)
    for seed in (1, 2):  # training streams, and held-out ones without the option: unchanged
        want = plain.sample(np.random.default_rng(seed), 8).x
        assert np.array_equal(task.sample(np.random.default_rng(seed), 8).x, want)
        assert np.array_equal(plain.heldout(np.random.default_rng(seed), 8).x, want)
