"""A run folder written before models were lists of layers (params `cells.N.*`) still resumes.

tests/data/old-run was written by `seqnet run binadd --layers 2 --steps 50 --out ...` on main
before issue 12; old-run-continued-summary.json is the summary of the same run trained straight
to 100 steps with that code. Resuming the old folder for 50 more steps must give it exactly
(to 1e-6 on a machine that rounds otherwise: tests/numerics.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from seqnet.cli import app
from tests.numerics import EXACT, close

DATA = Path(__file__).parent / "data"


def test_an_old_run_folder_resumes_to_the_numbers_the_old_code_gave(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(DATA / "old-run", folder)
    result = CliRunner().invoke(app, ["resume", str(folder), "--steps", "50", "-q", "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output.strip().splitlines()[-1])
    want = json.loads((DATA / "old-run-continued-summary.json").read_text())
    for key in ("steps", "loss", "bit_accuracy", "exact_match"):
        if EXACT:
            assert got[key] == want[key], key
        else:  # another machine's rounding (tests/numerics.py)
            close(got[key], want[key], where=key)
