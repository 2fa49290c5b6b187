"""Sweeps: expansion into runs, identical results on every engine, faults, Ctrl-C and resume."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from seqnet import specs
from seqnet.cli import app
from seqnet.errors import SpecError
from seqnet.plugins import default_registry
from seqnet.registry import Registry
from seqnet.rundir import RunDir
from seqnet.runner import load_spec, run
from seqnet.sweep.engines import ProcessEngine
from seqnet.sweep.folder import RESULTS, SweepFolder, summarize
from seqnet.sweep.plan import Range, SweepSpec, expand, parse_grid, parse_range, parse_seeds, plan
from seqnet.sweep.runner import Event, SweepInterrupted, registry_for, run_sweep

runner = CliRunner()
TINY = ["--set", "train.steps=20", "--set", "train.eval_samples=100"]
GRID = ["--grid", "model.hidden=8,16", "--grid", "optimizer.lr=0.01,0.03", "--seeds", "0-4"]
PLUGIN = ("tests.sweep_plugin",)


def comparable(folder: Path) -> dict[str, Any]:
    """Each run's results line, by run, without the wall time (the one field that varies)."""
    lines = [json.loads(line) for line in (folder / RESULTS).read_text().splitlines()]
    out = {}
    for line in lines:
        assert line["run"] not in out, f"{line['run']} recorded twice"
        if line["summary"]:
            line["summary"].pop("seconds")
        out[line["run"]] = line
    return out


def sweep_cli(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["sweep", *args, "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    """One Dask LocalCluster on loopback for the module (it costs seconds to start)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # loopback only, any free port
        silence_logs=logging.ERROR,
    ) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def fragile() -> Registry:
    return registry_for(PLUGIN, ())


# --- expansion ---------------------------------------------------------------------------


def test_seed_lists() -> None:
    assert parse_seeds("0-4,10") == [0, 1, 2, 3, 4, 10]
    assert parse_seeds("3,1,3") == [3, 1]
    for bad in ("4-2", "a", "1-", ""):
        with pytest.raises(SpecError, match="seeds"):
            parse_seeds(bad)


def test_grid_and_range_options() -> None:
    assert parse_grid("model.cell=elman,lstm") == ("model.cell", ["elman", "lstm"])
    assert parse_grid("optimizer.lr=0.01, 0.001") == ("optimizer.lr", [0.01, 0.001])
    assert parse_range("optimizer.lr=0.001:0.1:log") == (
        "optimizer.lr",
        Range(low=0.001, high=0.1, log=True),
    )
    for bad in ("model.hidden", "model.hidden=8:4", "optimizer.lr=0:1:log", "x=1:2:cube"):
        with pytest.raises(SpecError):
            (parse_range if ":" in bad else parse_grid)(bad)


def test_grid_expands_to_every_combination_times_every_seed() -> None:
    runs = expand(SweepSpec(grid={"model.hidden": [8, 16], "model.cell": ["elman", "lstm"]},
                            seeds=[0, 1]), 0)  # fmt: skip
    assert len(runs) == 8
    # first grid path slowest, seeds innermost
    assert [(r.setting["model.hidden"], r.setting["model.cell"], r.seed) for r in runs[:3]] == [
        (8, "elman", 0), (8, "elman", 1), (8, "lstm", 0)]  # fmt: skip
    assert runs[0].name == "00_hidden=8_cell=elman_seed=0"
    assert len({r.name for r in runs}) == 8


def test_samples_and_repeats_come_from_the_root_seed() -> None:
    spec = SweepSpec(
        grid={"model.cell": ["elman", "lstm"]},
        ranges={"optimizer.lr": Range(low=1e-3, high=1e-1, log=True),
                "model.hidden": Range(low=4, high=64, integer=True)},
        samples=20, repeats=3, root_seed=7,
    )  # fmt: skip
    runs = expand(spec, 0)
    assert len(runs) == 60
    assert expand(spec, 0) == runs  # same root seed, same sweep
    assert expand(spec.model_copy(update={"root_seed": 8}), 0) != runs
    lrs = {r.setting["optimizer.lr"] for r in runs}
    assert len(lrs) == 20 and all(1e-3 <= lr <= 1e-1 for lr in lrs)
    assert all(isinstance(r.setting["model.hidden"], int) for r in runs)
    assert {r.setting["model.cell"] for r in runs} == {"elman", "lstm"}
    seeds = {r.seed for r in runs}
    assert len(seeds) == 3  # the same three seeds for every setting


def test_sweep_spec_mistakes_are_errors() -> None:
    for bad in (
        {"seeds": [0], "repeats": 2},
        {"ranges": {"optimizer.lr": {"low": 0.1, "high": 1.0}}},
        {"grid": {"train.seed": [1, 2]}},
        {"grid": {"model.hidden": []}},
        {"grdi": {}},
    ):
        with pytest.raises(ValueError):
            SweepSpec.model_validate(bad)


def test_runs_get_the_spec_seqnet_run_builds(registry: Registry) -> None:
    sweep = plan("binadd", ["train.steps=5"], {"grid": {"model.cell": ["lstm"]}, "seeds": [3]},
                 registry)  # fmt: skip
    mine = sweep.run_spec(sweep.runs[0], registry)
    theirs = load_spec("binadd", ["train.steps=5", "model.cell=lstm", "train.seed=3"], registry)
    assert mine == theirs


def test_spec_file_sweep_section_under_command_line(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "task: {name: binadd, bits: 4}\n"
        "sweep:\n  grid: {model.hidden: [4, 8], optimizer.lr: [0.01]}\n  seeds: 0-2\n"
    )
    sweep = plan(str(path), [], {"grid": {"optimizer.lr": [0.1, 0.2]}, "repeats": 2}, registry)
    # the file goes over binadd's defaults, as `seqnet run binadd --set task.bits=4` would
    assert sweep.base["task"] == {"name": "binadd", "bits": 4, "bits_min": 1, "propagate": 0}
    assert [r.setting for r in sweep.runs[::2]] == [
        {"model.hidden": h, "optimizer.lr": lr} for h in (4, 8) for lr in (0.1, 0.2)
    ]
    assert sweep.spec.seeds is None and sweep.spec.repeats == 2


def test_a_bad_setting_is_caught_before_anything_runs(registry: Registry) -> None:
    with pytest.raises(SpecError, match=r"model.hidden=0: model.hidden"):
        plan("binadd", [], {"grid": {"model.hidden": [8, 0]}}, registry)


# --- results -----------------------------------------------------------------------------


def test_a_sweep_run_gives_the_numbers_seqnet_run_gives(tmp_path: Path) -> None:
    sweep_cli("binadd", *TINY, "--grid", "model.hidden=12", "--seeds", "4", "--workers", "1",
              "--out", str(tmp_path / "s"))  # fmt: skip
    (line,) = comparable(tmp_path / "s").values()
    _, alone = run(load_spec("binadd", [*TINY[1::2], "model.hidden=12", "train.seed=4"]))
    alone.pop("seconds")
    assert line["summary"] == alone
    # each run's folder is a seqnet run folder: `seqnet resume`, `eval`, `predict` take it
    folder = tmp_path / "s" / "runs" / line["run"]
    assert json.loads((folder / "summary.json").read_text())["loss"] == alone["loss"]
    assert len((folder / "metrics.jsonl").read_text().splitlines()) >= 1
    ckpt, spec = RunDir.open(folder).load()
    assert ckpt.step == 20 and spec.model.hidden == 12


def test_results_never_depend_on_the_engine(tmp_path: Path, dask_scheduler: str) -> None:
    """A 2x2 grid x 5 seeds: 1 worker, 2 processes and a Dask cluster give the same results."""
    one = sweep_cli("binadd", *TINY, *GRID, "--workers", "1", "--out", str(tmp_path / "one"))
    two = sweep_cli("binadd", *TINY, *GRID, "--workers", "2", "--out", str(tmp_path / "two"))
    dask = sweep_cli("binadd", *TINY, *GRID, "--scheduler", dask_scheduler,
                     "--out", str(tmp_path / "dask"))  # fmt: skip
    runs = comparable(tmp_path / "one")
    assert len(runs) == 20 and all(r["status"] == "ok" for r in runs.values())
    assert comparable(tmp_path / "two") == runs
    assert comparable(tmp_path / "dask") == runs
    # and so are the summaries, but for the wall time
    for summary in (one, two, dask):
        for group in summary["groups"]:
            group["metrics"].pop("seconds")
    assert one["groups"] == two["groups"] == dask["groups"]
    assert len(one["groups"]) == 4 and {g["ok"] for g in one["groups"]} == {5}
    # different seeds gave different runs: the comparison compared something
    assert len({json.dumps(r["summary"]["loss"]) for r in runs.values()}) > 10


def test_dask_engine_starts_and_stops_its_own_local_cluster(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    args = ["binadd", *TINY, "--seeds", "0-1"]
    sweep_cli(*args, "--engine", "dask", "--workers", "1", "--out", str(tmp_path / "d"))
    sweep_cli(*args, "--workers", "1", "--out", str(tmp_path / "p"))
    assert comparable(tmp_path / "d") == comparable(tmp_path / "p")


def test_summary_groups_by_setting_whatever_the_finishing_order(registry: Registry) -> None:
    sweep = plan("binadd", [], {"grid": {"model.hidden": [8, 16]}, "seeds": [0, 1, 2]}, registry)
    records = []
    for i, r in enumerate(sweep.runs):
        ok = i != 5
        summary = {"seed": r.seed, "steps": 100 * (i + 1), "reached_target": i % 2 == 0,
                   "exact_match": i / 10}  # fmt: skip
        status, error = ("ok", None) if ok else ("failed", "boom")
        records.append({"run": r.name, "status": status, "summary": summary if ok else None,
                        "error": error})  # fmt: skip
    summary = summarize(sweep, records)
    assert summarize(sweep, records[::-1]) == summary
    first, second = summary["groups"]
    assert first["setting"] == {"model.hidden": 8}
    assert first["metrics"]["steps"] == {"mean": 200.0, "min": 100.0, "max": 300.0}
    assert first["reached_target"] == 2  # runs 0 and 2
    assert (second["ok"], second["failed"], second["errors"]) == (2, 1, ["boom"])
    assert second["metrics"]["exact_match"]["max"] == 0.4
    assert "seed" not in first["metrics"]


# --- faults ------------------------------------------------------------------------------


def test_failed_runs_are_recorded_and_the_sweep_goes_on(tmp_path: Path, fragile: Registry) -> None:
    marker = tmp_path / "died-once"
    sweep = plan("fragile", [f"task.marker={marker}"],
                 {"grid": {"task.fault": ["none", "raise", "nan", "exit", "exit_once"]}},
                 fragile, PLUGIN)  # fmt: skip
    folder = SweepFolder.create(tmp_path / "s", sweep)
    events: list[Event] = []
    summary = run_sweep(folder, ProcessEngine(workers=2), events.append)
    by_fault = {r["setting"]["task.fault"]: r for r in folder.results()}
    assert by_fault["none"]["status"] == "ok"
    assert by_fault["raise"]["error"].startswith("RuntimeError: fragile task failed on purpose")
    assert by_fault["nan"]["error"] == "non-finite exact_match (nan)"
    assert by_fault["nan"]["summary"]["exact_match"] is None  # strict JSON on disk
    assert "worker was lost twice while it ran alone" in by_fault["exit"]["error"]
    # died on its first try, so it ran again alone, and then it finished
    assert by_fault["exit_once"]["status"] == "ok" and marker.exists()
    assert summary["done"] == 5 and summary["failed"] == 3
    lost = [e.run.setting["task.fault"] for e in events if e.kind == "lost"]
    assert "exit" in lost and "exit_once" in lost
    # innocent runs that shared a dying pool were rerun and are exact all the same
    clean = plan("fragile", [], {}, fragile, PLUGIN)
    _, alone = run(clean.run_spec(clean.runs[0], fragile), fragile)
    assert by_fault["none"]["summary"]["loss"] == alone["loss"]


def test_interrupted_sweep_resumes_only_what_is_missing(tmp_path: Path, registry: Registry) -> None:
    sweep = plan("binadd", TINY[1::2], {"grid": {"model.hidden": [8, 16]}, "seeds": [0, 1, 2]},
                 registry)  # fmt: skip
    folder = SweepFolder.create(tmp_path / "s", sweep)
    finished: list[str] = []

    def stop_after_two(event: Event) -> None:
        if event.kind == "finish":
            finished.append(event.run.name)
            if len(finished) == 2:
                raise KeyboardInterrupt

    with pytest.raises(SweepInterrupted, match="2 of 6 runs recorded"):
        run_sweep(folder, ProcessEngine(workers=2), stop_after_two)
    before = comparable(tmp_path / "s")
    assert sorted(before) == sorted(finished)
    again = SweepFolder.open(tmp_path / "s")
    assert [r.name for r in again.missing()] == [r.name for r in sweep.runs if r.name not in before]
    summary = sweep_cli("--resume", str(tmp_path / "s"), "--workers", "1")
    after = comparable(tmp_path / "s")  # also checks that no run is recorded twice
    assert summary["done"] == 6 and len(after) == 6
    assert {name: after[name] for name in before} == before


def test_ctrl_c_stops_the_command_cleanly(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    command = [sys.executable, "-m", "seqnet", "sweep", "binadd", "--seeds", "0-9",
               "--set", "train.steps=300", "--set", "train.eval_every=300",
               "--set", "train.eval_samples=100", "--workers", "1",
               "--out", str(folder)]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = folder / RESULTS
    while proc.poll() is None and not (results.exists() and results.read_text()):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error: interrupted: ")
    done = comparable(folder)
    assert 1 <= len(done) < 10
    summary = sweep_cli("--resume", str(folder), "--workers", "2")
    assert summary["done"] == 10 and len(comparable(folder)) == 10


def test_a_torn_results_line_is_dropped_and_its_run_runs_again(
    tmp_path: Path, registry: Registry
) -> None:
    sweep = plan("binadd", [], {"seeds": [0, 1]}, registry)
    folder = SweepFolder.create(tmp_path / "s", sweep)
    good = {"run": sweep.runs[0].name, "status": "ok", "summary": {}, "error": None}
    (tmp_path / "s" / RESULTS).write_text(json.dumps(good) + '\n{"run": "01_se')
    again = SweepFolder.open(folder.path)
    assert [r.name for r in again.missing()] == [sweep.runs[1].name]
    assert (tmp_path / "s" / RESULTS).read_text().endswith("\n")


# --- engines and the command line ------------------------------------------------------------


def test_a_third_party_engine_plugs_in(tmp_path: Path, fragile: Registry) -> None:
    assert fragile.get("engine", "threads").distribution == "local"
    assert {"process", "dask"} <= set(fragile.names("engine"))
    sweep = plan("fragile", [], {"seeds": [0, 1]}, fragile, PLUGIN)
    threads = SweepFolder.create(tmp_path / "t", sweep)
    run_sweep(threads, fragile.get("engine", "threads").cls(workers=2))
    procs = SweepFolder.create(tmp_path / "p", sweep)
    run_sweep(procs, ProcessEngine(workers=1))
    assert comparable(tmp_path / "t") == comparable(tmp_path / "p")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "name a task or a spec file"),
        (["--resume", "nowhere"], "not a sweep folder"),
        (["--resume", "x", "--grid", "model.hidden=8"], "takes engine options only"),
        (["binadd", "--engine", "ray"], "unknown engine 'ray'"),
        (["binadd", "--engine-opt", "bogus=1"], "engine.bogus: unknown option"),
        (["binadd", "--grid", "model.hidden=8,x"], "setting model.hidden=x"),
        (["binadd", "--seeds", "9-1"], "counts down"),
        (["binadd", "--range", "optimizer.lr=0.1:1"], "ranges need samples"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where a default sweep folder would go
    result = runner.invoke(app, ["sweep", *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_a_sweep_folder_is_not_overwritten(tmp_path: Path) -> None:
    args = ["sweep", "binadd", *TINY, "--workers", "1", "--out", str(tmp_path), "--quiet"]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "seqnet sweep --resume" in again.stderr


def test_table_and_plain_progress(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sweep", "binadd", *TINY, "--grid", "model.hidden=8,16",
                                 "--workers", "2", "--out", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 of 2 runs to go" in result.stderr
    assert "[2/2]" in result.stderr and "not solved in 20 steps" in result.stderr
    assert "exact_match" in result.stdout and "hidden" in result.stdout
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["done"] == 2 and saved["sweep"] == str(tmp_path)


def test_the_engines_are_listed_as_plugins() -> None:
    result = runner.invoke(app, ["plugins", "--json"])
    rows = {(r["kind"], r["name"]) for r in json.loads(result.stdout)}
    assert {("engine", "process"), ("engine", "dask")} <= rows


def test_the_spec_of_every_run_is_in_its_folder(tmp_path: Path) -> None:
    sweep_cli("binadd", *TINY, "--grid", "model.cell=elman,lstm", "--workers", "1",
              "--out", str(tmp_path))  # fmt: skip
    for line in comparable(tmp_path).values():
        text = (tmp_path / "runs" / line["run"] / "spec.yaml").read_text()
        data = specs.resolve(yaml.safe_load(text), default_registry())
        assert data.model.cell == line["setting"]["model.cell"]


def test_random_samples_from_the_command_line(tmp_path: Path) -> None:
    args = ["binadd", *TINY, "--range", "optimizer.lr=0.001:0.1:log", "--grid", "model.hidden=8,16",
            "--samples", "3", "--root-seed", "5", "--workers", "1"]  # fmt: skip
    summary = sweep_cli(*args, "--out", str(tmp_path / "a"))
    settings = [g["setting"] for g in summary["groups"]]
    assert len(settings) == 3 and all(0.001 <= s["optimizer.lr"] <= 0.1 for s in settings)
    assert json.loads((tmp_path / "a" / "sweep.json").read_text())["sweep"]["root_seed"] == 5


def test_the_python_example_in_the_docs_runs(tmp_path: Path) -> None:
    text = (Path(__file__).parents[1] / "docs" / "sweeps.md").read_text()
    code = text.split("## In code", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "example.py"
    script.write_text(code.replace("train.steps=500", "train.steps=20"))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "'mean':" in done.stdout
    assert len((tmp_path / "sweeps" / "hidden" / RESULTS).read_text().splitlines()) == 6
