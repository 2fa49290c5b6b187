"""The seqnet command, driven through Typer's CliRunner (and once as a real process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seqnet.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`seqnet run` writes a run folder under ./runs: keep it out of the checkout."""
    monkeypatch.chdir(tmp_path)


QUICK = ["--set", "train.eval_samples=200"]


def last_json(stdout: str) -> dict[str, object]:
    return json.loads(stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_run_binadd_solves_and_ends_with_json() -> None:
    result = runner.invoke(app, ["run", "binadd", "--json"])
    assert result.exit_code == 0, result.output
    summary = last_json(result.stdout)
    for key in ("task", "cell", "seed", "steps", "seconds", "loss", "bit_accuracy", "exact_match"):
        assert key in summary
    assert (summary["task"], summary["cell"], summary["seed"]) == ("binadd", "elman", 0)
    assert summary["exact_match"] == 1.0
    # worked examples a person can read, and the plain progress lines (not a terminal here),
    # on stderr: with --json, stdout holds the JSON object alone
    assert json.loads(result.stdout) == summary
    assert " ✓" in result.stderr
    assert "step 50/3000" in result.stderr


def test_quiet_prints_only_the_json() -> None:
    result = runner.invoke(app, ["run", "binadd", "--json", "-q", "--steps", "20", *QUICK])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip().splitlines()) == 1
    assert last_json(result.stdout)["steps"] == 20


def without_time(summary: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in summary.items() if k != "seconds"}


def test_spec_file_from_seqnet_spec_is_the_same_run(tmp_path: Path) -> None:
    printed = runner.invoke(app, ["spec", "binadd"])
    assert printed.exit_code == 0, printed.output
    path = tmp_path / "s.yaml"
    path.write_text(printed.stdout)
    args = ["--json", "-q", "--steps", "60", "--seed", "3", *QUICK]
    by_name = runner.invoke(app, ["run", "binadd", *args])
    by_file = runner.invoke(app, ["run", str(path), *args])
    assert by_name.exit_code == by_file.exit_code == 0
    assert without_time(last_json(by_name.stdout)) == without_time(last_json(by_file.stdout))


def test_json_spec_file_and_flags(tmp_path: Path) -> None:
    printed = runner.invoke(app, ["spec", "binadd", "--json", "--set", "task.bits=4"])
    path = tmp_path / "s.json"
    path.write_text(printed.stdout)
    assert json.loads(printed.stdout)["task"] == {
        "name": "binadd",
        "bits": 4,
        "bits_min": 1,
        "propagate": 0,
    }
    result = runner.invoke(
        app,
        ["run", str(path), "--json", "-q", "--hidden", "8", "--steps", "5", "--lr", "0.05",
         "--optimizer", "sgd", "--batch", "4", "--layers", "2", "--cell", "elman", *QUICK],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert last_json(result.stdout)["steps"] == 5


def test_seeds_change_the_numbers_and_repeat_them() -> None:
    def once(seed: str) -> dict[str, object]:
        result = runner.invoke(app, ["run", "binadd", "-q", "--json", "--steps", "30",
                                     "--seed", seed, *QUICK])  # fmt: skip
        return without_time(last_json(result.stdout))

    assert once("1") == once("1")
    assert once("1") != once("2")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nosuch"], "unknown task 'nosuch'; available: adding, binadd"),
        (["run", "binadd", "--cell", "nosuch"], "unknown cell 'nosuch'; available:"),
        (["run", "binadd", "--optimizer", "nosuch"], "unknown optimizer 'nosuch'; available:"),
        (["run", "binadd", "--set", "task.bitz=3"], "unknown setting 'task.bitz'"),
        (["run", "binadd", "--set", "model.activation=tanhh"], "model.activation:"),
        (["run", "binadd", "--hidden", "0"], "model.hidden: Input should be greater than 0"),
        (["run", "binadd", "--hidden", "-3"], "model.hidden: Input should be greater than 0"),
        (["run", "binadd", "--steps", "ten"], "train.steps: Input should be a valid integer"),
        (["run", "binadd", "--lr", "nan"], "optimizer.lr: Input should be a finite number"),
        (["run", "binadd", "--lr", "inf"], "optimizer.lr: Input should be a finite number"),
        (["run", "binadd", "--lr", "abc"], "optimizer.lr: Input should be a valid number"),
        (["run", "missing.yaml"], "spec file 'missing.yaml' not found"),
        (["spec"], "name a task or a spec file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_malformed_spec_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("task: {name: binadd\nmodel: [")
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 2
    assert "is malformed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_plugins_lists_every_kind_with_its_provider() -> None:
    result = runner.invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = {(r["kind"], r["name"]): r for r in json.loads(result.stdout)}
    expected = [("task", "binadd"), ("cell", "elman")]
    expected += [("optimizer", name) for name in ("adam", "sgd", "rmsprop", "adagrad")]
    for key in expected:
        assert rows[key]["distribution"] == "seqnet"
        assert rows[key]["version"]
        assert rows[key]["description"]
    table = runner.invoke(app, ["plugins"])
    assert "binadd" in table.stdout and "elman" in table.stdout


def test_schema() -> None:
    result = runner.invoke(app, ["spec", "--schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["title"] == "RunSpec"


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (
            "run",
            [
                "--cell",
                "--hidden",
                "--layers",
                "--dropout",
                "--steps",
                "--batch",
                "--lr",
                "--optimizer",
                "--seed",
                "--set",
                "--json",
                "--quiet",
            ],
        ),
        ("spec", ["--set", "--json", "--schema"]),
        ("plugins", ["--json"]),
    ],
)
def test_help_explains_every_option(command: str, options: list[str]) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in options:
        assert option in result.stdout


def test_python_dash_m_is_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "seqnet", "run", "binadd", "-q", "--json", "--steps", "3",
         *QUICK],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert last_json(done.stdout)["steps"] == 3
    bad = subprocess.run(
        [sys.executable, "-m", "seqnet", "run", "binadd", "--hidden", "0"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: model.hidden: Input should be greater than 0 (got 0)"


def test_a_task_that_cannot_be_built_leaves_no_run_folder(tmp_path: Path) -> None:
    text = tmp_path / "short.txt"
    text.write_text("ab")
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "charlm", "--set", f"task.path={text}", "--out", str(out)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: task.path:")
    assert not out.exists()
