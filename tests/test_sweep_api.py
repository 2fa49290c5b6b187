"""seqnet.Sweep: a sweep and its folder in code, each run exactly what seqnet.Run trains."""

from __future__ import annotations

from pathlib import Path

import pytest

import seqnet
from seqnet.lock import FolderBusy

TINY = ["train.steps=20", "train.eval_every=10", "train.eval_samples=50"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    folder = tmp_path_factory.mktemp("sweep") / "s"
    sweep = seqnet.Sweep.create(
        "binadd", folder, grid={"model.hidden": [4, 8]}, seeds=[0, 1], settings=TINY
    )
    summary = sweep.run("process", workers=1)
    return folder, summary


def test_a_sweep_runs_every_setting_with_every_seed(swept: tuple[Path, dict[str, object]]) -> None:
    folder, summary = swept
    assert summary["sweep"] == str(folder)
    assert (summary["runs"], summary["done"], summary["failed"]) == (4, 4, 0)
    opened = seqnet.Sweep.open(folder)
    assert opened.summary == summary  # summary.json
    assert sorted((r["setting"]["model.hidden"], r["seed"]) for r in opened.results) == [
        (4, 0), (4, 1), (8, 0), (8, 1),
    ]  # fmt: skip
    assert opened.missing() == []


def test_each_run_of_a_sweep_is_the_run_seqnet_run_makes(
    swept: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    folder, _ = swept
    record = next(
        r for r in seqnet.Sweep.open(folder).results
        if r["setting"]["model.hidden"] == 8 and r["seed"] == 1
    )  # fmt: skip
    alone = seqnet.Run.create("binadd", tmp_path / "r", hidden=8, seed=1, settings=TINY)
    alone.train()
    assert {k: v for k, v in record["summary"].items() if k != "seconds"} == {
        k: v for k, v in alone.summary.items() if k != "seconds"
    }


def test_a_finished_sweep_run_again_runs_nothing(swept: tuple[Path, dict[str, object]]) -> None:
    folder, summary = swept
    again = seqnet.Sweep.open(folder).run("process", workers=1)
    assert again["done"] == summary["done"] and again["groups"] == summary["groups"]


def test_ranges_read_as_the_command_line_writes_them(tmp_path: Path) -> None:
    with seqnet.Sweep.create(
        "binadd", tmp_path / "s", ranges={"optimizer.lr": "0.001:0.1:log"}, samples=3
    ) as sweep:
        rates = [run.setting["optimizer.lr"] for run in sweep.runs]
    assert len(rates) == 3 and all(0.001 <= lr <= 0.1 for lr in rates)


def test_a_bad_setting_is_one_error_and_leaves_no_folder(tmp_path: Path) -> None:
    with pytest.raises(seqnet.SpecError, match=r"model\.hidden"):
        seqnet.Sweep.create("binadd", tmp_path / "s", grid={"model.hidden": [8, -1]})
    assert not (tmp_path / "s").exists()


def test_a_sweep_holds_its_folder_until_it_has_run(tmp_path: Path) -> None:
    made = seqnet.Sweep.create("binadd", tmp_path / "s", settings=TINY)
    with pytest.raises(FolderBusy, match="in use by pid"):
        seqnet.Sweep.open(tmp_path / "s").run("process", workers=1)
    made.close()
    assert seqnet.Sweep.open(tmp_path / "s").run("process", workers=1)["done"] == 1


def test_an_engine_that_cannot_be_built_leaves_no_folder(tmp_path: Path) -> None:
    sweep = seqnet.Sweep.create("binadd", tmp_path / "s", settings=TINY)
    with pytest.raises(seqnet.SpecError, match="workers"):
        sweep.run("process", workers=0)
    assert not (tmp_path / "s").exists()
