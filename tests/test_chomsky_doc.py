"""docs/chomsky.md prints the tables the committed benchmark folders hold, and those tables are
what their results say.

The Chomsky table takes hours, so the tests do not rerun it; they recompute each committed
folder's table from its `results.jsonl` (as `seqnet bench chomsky --report` does) and find it,
line for line, on the page (rows where no run finished may be left out).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from seqnet import bench
from seqnet.sweep.folder import SweepFolder

ROOT = Path(__file__).parents[1]
PAGE = ROOT / "docs" / "chomsky.md"
FOLDERS = sorted(path.name for path in (ROOT / "benchmarks").glob("chomsky-*") if path.is_dir())
PRINTED = ["chomsky-table", "chomsky-tape-k1", "chomsky-tape-k2", "chomsky-h64-pilot"]


def made(name: str) -> str:
    """The folder's table as `--report` makes it from its results."""
    return bench.report(SweepFolder.open(ROOT / "benchmarks" / name))[1]


@pytest.mark.parametrize("name", FOLDERS)
def test_every_committed_table_is_what_its_results_make_and_the_page_names_it(name: str) -> None:
    assert made(name) == (ROOT / "benchmarks" / name / "table.md").read_text(encoding="utf-8")
    assert f"benchmarks/{name}" in PAGE.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", PRINTED)
def test_the_page_prints_the_table_line_for_line(name: str) -> None:
    finished = [line for line in made(name).splitlines() if set(line.split("|")[3:-1]) != {" - "}]
    page = PAGE.read_text(encoding="utf-8").splitlines()
    assert set(PRINTED) <= set(FOLDERS)
    assert [line for line in finished if line not in page] == []


def test_the_relu_readout_example_is_the_benchmarks_lstm_run_but_for_its_readout() -> None:
    from seqnet.plugins import default_registry
    from seqnet.runner import load_spec

    registry = default_registry()
    sweep = bench.plan(["bucket_sort"], ["lstm"], [0], bench.Protocol(), registry)
    run = sweep.run_spec(sweep.runs[0], registry).model_dump(mode="json")
    example = load_spec(str(ROOT / "docs/examples/chomsky/bucket-lstm-relu.yaml"))
    got = example.model_dump(mode="json")
    lstm, readout = got["model"]["layers"]
    assert readout == {"type": "activation", "function": "relu"}
    assert {k: lstm[k] for k in ("type", "hidden", "init", "forget_bias")} == {
        "type": "lstm",
        **{k: run["model"][k] for k in ("hidden", "init", "forget_bias")},
    }
    assert got["model"]["dtype"] == run["model"]["dtype"]
    assert {k: v for k, v in got.items() if k != "model"} == {
        k: v for k, v in run.items() if k != "model"
    }
