"""seqnet run --out, resume, eval, predict and plot, through CliRunner and a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seqnet.cli import app
from seqnet.rundir import RunDir

runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default binadd run (seed 0), trained once for this module."""
    folder = tmp_path_factory.mktemp("runs") / "binadd"
    result = runner.invoke(app, ["run", "binadd", "--out", str(folder), "-q", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1])["exact_match"] == 1.0
    return folder


def test_predict_adds_numbers_of_any_length(trained: Path) -> None:
    result = runner.invoke(app, ["predict", str(trained), "12345", "67890"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "80235\n"
    a, b = 3**4000, 7**3000  # past Python's 4,300-digit int/str limit once added up
    result = runner.invoke(app, ["predict", str(trained), hex(a), hex(b)])
    assert result.exit_code == 0, result.output
    sys.set_int_max_str_digits(0)
    try:
        assert int(result.stdout) == a + b
    finally:
        sys.set_int_max_str_digits(4300)


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["12", "abc"], "error: 'abc' is not a non-negative integer"),
        (["12", "-5"], "error: '-5' is negative"),
        (["12"], "error: binadd adds two numbers; got 1"),
    ],
)
def test_predict_refuses_bad_input_in_one_line(
    trained: Path, words: list[str], message: str
) -> None:
    result = runner.invoke(app, ["predict", str(trained), "--", *words])
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_eval_by_length_json(trained: Path) -> None:
    args = ["eval", str(trained), "--lengths", "8,64,1024", "--samples", "50", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    table = json.loads(result.stdout)["lengths"]
    assert list(table) == ["8", "64", "1024"]
    for row in table.values():
        assert row == {"bit_accuracy": 1.0, "exact_match": 1.0}


def test_eval_prints_a_table_and_refuses_non_task_settings(trained: Path) -> None:
    result = runner.invoke(app, ["eval", str(trained), "--samples", "20"])
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ["bits", "bit_accuracy", "exact_match",
                                     "16", "1.000000", "1.000000"]  # fmt: skip
    bad = runner.invoke(app, ["eval", str(trained), "--set", "model.hidden=3"])
    assert bad.exit_code == 2
    assert "eval can change task options only" in bad.stderr


def test_resume_continues_a_finished_run_and_refuses_a_missing_folder(
    trained: Path, tmp_path: Path
) -> None:
    missing = runner.invoke(app, ["resume", str(tmp_path / "nope"), "--steps", "5"])
    assert missing.exit_code == 2 and "not found" in missing.stderr
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("spec.yaml", "metrics.jsonl", "checkpoint.npz"):
        (copy / name).write_bytes((trained / name).read_bytes())
    before = RunDir.open(copy).load()[0].step
    result = runner.invoke(app, ["resume", str(copy), "--steps", "50", "-q", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["steps"] == before + 50
    assert RunDir.open(copy).load()[0].step == before + 50


def test_plot_writes_pngs(trained: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result = runner.invoke(app, ["plot", str(trained), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ("learning_curves.png", "hidden.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_get_it(
    trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name)
    )
    result = runner.invoke(app, ["plot", str(trained)])
    assert result.exit_code == 2
    assert "pip install 'seqnet[plot]'" in result.stderr


def test_non_finite_training_keeps_the_last_good_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import seqnet.training

    norms = iter([1.0] * 24 + [float("nan")])  # the gradient of step 25 is not finite
    monkeypatch.setattr(seqnet.training, "global_norm", lambda grads: next(norms))
    folder = tmp_path / "r"
    args = ["run", "binadd", "--out", str(folder), "-q", "--set", "train.eval_every=10"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: non-finite gradient of ? at step 25")
    assert "the last good checkpoint (step 20)" in result.stderr
    assert RunDir.open(folder).load()[0].step == 20


def test_sigterm_saves_a_checkpoint_and_exits_130(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    cmd = [sys.executable, "-m", "seqnet", "run", "binadd", "--out", str(folder),
           "--set", "train.margin=1000", "--set", "train.steps=1000000"]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    while b"step 100/" not in proc.stdout.readline():  # training is under way
        assert proc.poll() is None, "the run ended before it was stopped"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    step = RunDir.open(folder).load()[0].step
    assert step >= 100
    assert f"resume with: seqnet resume {folder}\n" in err.decode()
