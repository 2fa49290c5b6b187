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
FOLDERS = ["chomsky-table", "chomsky-tape-k1", "chomsky-tape-k2", "chomsky-h64-pilot"]


@pytest.mark.parametrize("name", FOLDERS)
def test_the_page_prints_the_table_the_folders_results_make(name: str) -> None:
    folder = SweepFolder.open(ROOT / "benchmarks" / name)
    data = bench.table(folder)
    planned = {str(run.setting["model.cell"]) for run in folder.sweep.runs}
    made = bench.markdown(data, [cell for cell in bench.CELLS if cell in planned])
    assert made == (folder.path / "table.md").read_text(encoding="utf-8")
    page = PAGE.read_text(encoding="utf-8")
    finished = [line for line in made.splitlines() if set(line.split("|")[3:-1]) != {" - "}]
    assert [line for line in finished if line not in page.splitlines()] == [], name
    assert f"benchmarks/{name}" in page
