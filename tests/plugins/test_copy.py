"""The copy task: its layout, scoring only the output steps, predict, and a short training run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from seqnet.cli import app
from seqnet.runner import build, load_spec
from seqnet.training import train
from seqnet_copy import CopyTask

runner = CliRunner()


def test_layout_symbols_blanks_go_then_output_steps() -> None:
    task = CopyTask(symbols=3, length=2, delay=1)
    batch = task.encode(np.array([[2], [0]]))  # copy "C A"
    # T = 2L + delay + 1 = 6: C, A, blank, go, then the two output steps
    assert batch.x[:, 0].tolist() == [
        [0, 0, 1, 0],
        [1, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 1],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
    ]
    assert batch.mask[:, 0].tolist() == [0, 0, 0, 0, 1, 1]
    assert batch.y[4:, 0].tolist() == [2, 0]
    assert task.input_size == 4 and task.output_size == 3 and task.steps == 6


def test_sample_shapes_and_integer_targets() -> None:
    task = CopyTask(symbols=5, length=3, delay=0)
    batch = task.sample(np.random.default_rng(0), 4)
    assert batch.x.shape == (7, 4, 6) and batch.y.shape == (7, 4) and batch.y.dtype.kind == "i"
    # what is read on the first L steps is what must be written on the last L
    np.testing.assert_array_equal(batch.x[:3, :, :5].argmax(axis=-1), batch.y[-3:])


def test_only_output_steps_count() -> None:
    task = CopyTask(symbols=4, length=2, delay=3)
    batch = task.encode(np.array([[1, 3], [2, 0]]))
    outputs = np.zeros((*batch.y.shape, 4))
    np.put_along_axis(outputs, batch.y[..., None], 9.0, axis=-1)  # right everywhere
    assert task.metrics(outputs, batch) == {"symbol_accuracy": 1.0, "exact_match": 1.0}
    outputs[:5] = np.roll(outputs[:5], 1, axis=-1)  # wrong on every unscored step
    assert task.metrics(outputs, batch) == {"symbol_accuracy": 1.0, "exact_match": 1.0}
    outputs[-1, 0] = np.roll(outputs[-1, 0], 1)  # the last symbol of the first word wrong
    assert task.metrics(outputs, batch) == {"symbol_accuracy": 0.75, "exact_match": 0.5}
    assert task.examples(outputs, batch, 2) == ["BC → BD  ✗ (1 wrong)", "DA → DA  ✓"]


def test_parse_and_format_words() -> None:
    task = CopyTask(length=3)
    batch = task.parse(["cab", "HEH"])
    outputs = np.zeros((*batch.y.shape, 8))
    np.put_along_axis(outputs, batch.y[..., None], 9.0, axis=-1)
    assert task.format(outputs, batch) == ["CAB", "HEH"]
    with pytest.raises(ValueError, match="3 letters from ABCDEFGH"):
        task.parse(["CAZ"])
    with pytest.raises(ValueError, match="3 letters"):
        task.parse(["CA"])


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("task.length=0", "task.length: Input should be greater than or equal to 1 (got 0)"),
        ("task.delay=-1", "task.delay: Input should be greater than or equal to 0 (got -1)"),
        ("task.symbols=1", "task.symbols: Input should be greater than or equal to 2 (got 1)"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(option: str, message: str) -> None:
    result = runner.invoke(app, ["run", "copy", "--set", option])
    assert result.exit_code == 2
    assert result.stderr == f"error: {message}\n"


def test_a_small_copy_is_learned() -> None:
    spec = load_spec(
        "copy",
        ["model.cell=elman", "model.hidden=16", "task.symbols=3", "task.length=2",
         "task.delay=1", "train.steps=600", "train.eval_samples=200"],
    )  # fmt: skip
    parts = build(spec)
    result = train(parts.model, parts.task, parts.optimizer, spec.train, examples=0)
    assert result.metrics["exact_match"] == 1.0


def test_eval_varies_the_delay_and_predict_copies_words(tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    args = ["run", "copy", "--cell", "elman", "--hidden", "16", "--set", "task.symbols=3",
            "--set", "task.length=2", "--set", "task.delay=1", "--steps", "600",
            "--out", str(folder), "-q", "--json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1])["exact_match"] == 1.0
    result = runner.invoke(app, ["eval", str(folder), "--lengths", "1,2", "--json"])
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)["lengths"]) == {"1", "2"}
    assert json.loads(result.stdout)["lengths"]["1"]["exact_match"] == 1.0
    result = runner.invoke(app, ["predict", str(folder), "CA", "bb"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "CA\nBB\n"
