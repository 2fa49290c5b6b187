"""docs/callbacks.md as a reader uses it: every Python block runs in a fresh interpreter, and
the protocol table names exactly the methods the loop calls."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from seqnet.callbacks import HOOKS

DOC = Path(__file__).resolve().parents[1] / "docs" / "callbacks.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)


def blocks(kind: str) -> list[str]:
    return [m.group(2) for m in FENCE.finditer(DOC.read_text()) if m.group(1) == kind]


@pytest.mark.parametrize(
    "code", blocks("python"), ids=lambda c: re.findall(r"seqnet\.\w+\(", c)[-1]
)
def test_the_python_runs(code: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQNET_")}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


def test_the_first_example_prints_what_it_found(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", blocks("python")[0]], cwd=tmp_path,
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert re.fullmatch(r"\d+ evaluations; lowest val_loss \d\.\d{4} at step \d+\n", done.stdout)


def test_early_stopping_prints_what_the_page_says(tmp_path: Path) -> None:
    code = next(c for c in blocks("python") if "EarlyStopping" in c)
    shown = DOC.read_text().split(code, 1)[1]
    printed = re.search(r"^```text\n(.*?)^```$", shown, re.S | re.M)
    assert printed is not None
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path,
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert done.stdout == printed.group(1)


def test_the_protocol_table_lists_every_hook() -> None:
    table = DOC.read_text().split("## The protocol", 1)[1].split("To stop training", 1)[0]
    named = re.findall(r"^\| `(on_\w+)\(", table, re.M)
    assert named == list(HOOKS)
