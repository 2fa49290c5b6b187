"""seqnet.Run: a run and its folder in code, doing what the CLI does with the same numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import seqnet
from seqnet.cli import app
from seqnet.lock import FolderBusy
from seqnet.rundir import RunDirError

runner = CliRunner()
# a binadd run that stops in a few hundred steps: small held-out sets, no long validation lengths
QUICK = {"train.eval_samples": 100, "train.validate_lengths": [], "train.patience": 1}


def without_seconds(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def test_a_script_that_imports_only_seqnet_trains_scores_predicts_reopens_and_resumes(
    tmp_path: Path,
) -> None:
    run = seqnet.Run.create("binadd", tmp_path / "demo", **QUICK)
    result = run.train()
    assert result.reached_target
    assert run.summary["reached_target"] is True and run.summary["steps"] == result.steps
    assert [row["step"] for row in run.history] == [r.step for r in result.history]

    scores = run.evaluate(lengths=[8, 1024, 10_000], samples=20)
    assert list(scores["lengths"]) == [8, 1024, 10_000]
    for length in (8, 1024, 10_000):
        assert scores["lengths"][length]["exact_match"] == 1.0, (length, scores)
    assert scores["mean"]["exact_match"] == 1.0

    assert run.predict("12345 + 67890") == ["80235"]
    assert run.predict(["99999999999999999999", "1"]) == ["100000000000000000000"]

    again = seqnet.Run.open(tmp_path / "demo")
    assert again.spec == run.spec
    for name, value in run.params.items():
        np.testing.assert_array_equal(again.params[name], value)
    assert again.history == run.history
    more = again.resume(steps=20)  # a finished run trains on only when asked for steps
    assert more.steps == result.steps + 20
    assert again.history[-1]["step"] == result.steps + 20
    assert yaml.safe_load((tmp_path / "demo" / "spec.yaml").read_text())["train"]["steps"] == 3000


def test_run_create_gives_the_numbers_seqnet_run_gives(tmp_path: Path) -> None:
    """The default binadd run, both ways: every logged number, the summary and the params."""
    cli = runner.invoke(app, ["run", "binadd", "-q", "--out", str(tmp_path / "cli")])
    assert cli.exit_code == 0, cli.output
    run = seqnet.Run.create("binadd", tmp_path / "lib")
    result = run.train()
    lines = (tmp_path / "cli" / "metrics.jsonl").read_text().splitlines()
    assert without_seconds(run.history) == without_seconds([json.loads(s) for s in lines])
    cli_summary = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert {k: v for k, v in run.summary.items() if k != "seconds"} == {
        k: v for k, v in cli_summary.items() if k != "seconds"
    }
    assert run.summary["steps"] == 500  # as the README's `seqnet run binadd` shows it
    saved = seqnet.Run.open(tmp_path / "cli").params
    for name, value in result.params.items():
        np.testing.assert_array_equal(saved[name], value)


def test_run_train_gives_the_numbers_of_the_bare_training_loop(tmp_path: Path) -> None:
    """The folder, the lock and the checkpoints change nothing: seqnet.run (no folder) gives the
    same floats from the same spec."""
    run = seqnet.Run.create("binadd", tmp_path / "r", steps=90, **{"train.eval_every": 30})
    result = run.train()
    bare, _ = seqnet.run(run.spec)
    assert [r.as_dict() | {"seconds": 0} for r in bare.history] == [
        r.as_dict() | {"seconds": 0} for r in result.history
    ]
    assert bare.metrics == result.metrics


def test_keywords_set_spec_fields_by_shorthand_or_dotted_path(tmp_path: Path) -> None:
    run = seqnet.Run.create(
        "binadd", tmp_path / "r", cell="gru", hidden=8, seed=3, **{"task.bits": 5}
    )
    spec = run.spec
    assert (spec.model.cell, spec.model.hidden, spec.train.seed) == ("gru", 8, 3)
    assert spec.task.model_dump()["bits"] == 5
    assert spec.train.steps == 3000  # the task's default, as `seqnet run binadd` has it
    run.close()


def test_settings_texts_win_over_keywords_as_set_wins_over_flags(tmp_path: Path) -> None:
    run = seqnet.Run.create("binadd", tmp_path / "r", hidden=8, settings=["model.hidden=12"])
    assert run.spec.model.hidden == 12
    run.close()


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"hiden": 8}, "unknown setting 'hiden'"),
        ({"model.hiden": 8}, "unknown setting 'model.hiden'"),
        ({"hidden": -1}, "model.hidden"),
    ],
)
def test_a_bad_setting_is_one_error_and_leaves_no_folder(
    tmp_path: Path, keywords: dict[str, Any], message: str
) -> None:
    with pytest.raises(seqnet.SpecError, match=message):
        seqnet.Run.create("binadd", tmp_path / "r", **keywords)
    assert not (tmp_path / "r").exists()


def test_without_out_the_folder_is_under_runs_as_the_cli_makes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with seqnet.Run.create("binadd") as run:
        assert run.path.parent == Path("runs")
        assert run.path.name.startswith("binadd-elman-")
        assert (run.path / "spec.yaml").exists()


def test_a_run_holds_its_folder_while_it_writes_and_lets_go_after(tmp_path: Path) -> None:
    run = seqnet.Run.create("binadd", tmp_path / "r", steps=30, **{"train.eval_every": 10})
    with pytest.raises(FolderBusy, match="in use by pid"):  # created: held until trained
        seqnet.Run.open(tmp_path / "r").train()
    run.train()
    other = seqnet.Run.open(tmp_path / "r")
    other.train(steps=10)  # released at the end of train: another Run may write
    with seqnet.Run.open(tmp_path / "r") as holding:
        holding.train(steps=10)
        with pytest.raises(FolderBusy):  # ...but not while a with block holds it
            run.train(steps=10)
    run.train(steps=10)  # the with block released it


def test_train_continues_exactly_where_it_stopped(tmp_path: Path) -> None:
    spec = {"train.steps": 80, "train.eval_every": 20, "train.margin": 1000.0}
    straight = seqnet.Run.create("binadd", tmp_path / "a", **spec)
    straight.train()
    halves = seqnet.Run.create("binadd", tmp_path / "b", **spec)
    halves.train(steps=40)
    assert halves.history[-1]["step"] == 40
    seqnet.Run.open(tmp_path / "b").resume()
    assert without_seconds(halves.history) == without_seconds(straight.history)
    with pytest.raises(RunDirError, match="budget of 80 steps is spent"):
        halves.train()


def test_steps_past_the_budget_raise_it_in_spec_yaml(tmp_path: Path) -> None:
    run = seqnet.Run.create("binadd", tmp_path / "r", steps=20, **{"train.eval_every": 10})
    run.train(steps=30)
    assert run.spec.train.steps == 30
    assert yaml.safe_load((tmp_path / "r" / "spec.yaml").read_text())["train"]["steps"] == 30
    assert seqnet.Run.open(tmp_path / "r").spec.train.steps == 30


@pytest.mark.parametrize("steps", [0, -3, 2.5, True])
def test_steps_must_be_a_positive_whole_number(tmp_path: Path, steps: Any) -> None:
    with (
        seqnet.Run.create("binadd", tmp_path / "r") as run,
        pytest.raises(seqnet.SpecError, match="steps must be a whole number"),
    ):
        run.train(steps=steps)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run") / "r"
    seqnet.Run.create("binadd", folder, steps=40, **{"train.eval_every": 20}).train()
    return folder


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"lengths": []}, "lengths must name 1 to"),
        ({"lengths": [8, 0]}, "whole numbers >= 1"),
        ({"lengths": [8.5]}, "whole numbers >= 1"),
        ({"samples": 0}, "samples must be"),
        ({"seed": -1}, "seed must be"),
        ({"settings": ["model.hidden=3"]}, "eval can change task options only"),
        ({"data": "x.txt"}, "does not read data files"),
    ],
)
def test_evaluate_refuses_what_seqnet_eval_refuses(
    trained: Path, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(seqnet.SpecError, match=message):
        seqnet.Run.open(trained).evaluate(**arguments)


def test_evaluate_without_lengths_scores_the_trained_length(trained: Path) -> None:
    scores = seqnet.Run.open(trained).evaluate(samples=10)
    assert list(scores["lengths"]) == [16]  # binadd's default bits


def test_a_task_that_does_not_generate_says_so(trained: Path) -> None:
    with pytest.raises(seqnet.SpecError, match="does not generate text"):
        seqnet.Run.open(trained).sample()


def test_an_unstarted_run_says_how_to_start_it(tmp_path: Path) -> None:
    seqnet.Run.create("binadd", tmp_path / "r").close()
    opened = seqnet.Run.open(tmp_path / "r")
    with pytest.raises(RunDirError, match="stopped before its first checkpoint"):
        opened.evaluate()
    assert opened.spec.task.name == "binadd"  # the spec is there: resume starts it


def test_open_refuses_what_is_not_a_run_folder(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="not found"):
        seqnet.Run.open(tmp_path / "nothing")
    with pytest.raises(RunDirError, match="not a seqnet run folder"):
        seqnet.Run.open(tmp_path)


def test_callbacks_see_every_evaluation(tmp_path: Path) -> None:
    seen: list[int] = []

    class Watch:
        def on_eval(self, record: seqnet.Record) -> None:
            seen.append(record.step)

    run = seqnet.Run.create("binadd", tmp_path / "r", steps=60, **{"train.eval_every": 20})
    run.train(callbacks=[Watch()])
    assert seen == [20, 40, 60]


def test_plot_writes_pngs_and_holds_the_folder_only_when_writing_into_it(
    trained: Path, tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    paths = seqnet.Run.open(trained).plot(tmp_path / "figs", length=12)
    assert [p.name for p in paths] == ["learning_curves.png", "hidden.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)
    with seqnet.Run.open(trained) as holder:
        holder.train(steps=1)  # a with block: the lock stays until the block ends
        assert seqnet.Run.open(trained).plot(tmp_path / "more", length=12)  # outside: no lock
        with pytest.raises(FolderBusy):
            seqnet.Run.open(trained).plot(length=12)  # into DIR/plots: the folder's lock


def test_a_run_exports_to_torch_with_the_outputs_seqnet_computes(trained: Path) -> None:
    torch = pytest.importorskip("torch")
    run = seqnet.Run.open(trained)
    batch = run.task.sample(np.random.default_rng(0), 4)
    ours, _, _ = run.model.forward(run.params, batch.x)
    with torch.no_grad():
        theirs, _ = seqnet.to_torch(run)(torch.from_numpy(batch.x))
    np.testing.assert_allclose(theirs.numpy(), ours, rtol=0, atol=1e-10)
