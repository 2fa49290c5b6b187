"""docs/models.md as a reader uses it: its Python runs, its spec files are the ones shipped in
docs/examples/models/ and resolve, and every `$` command it shows runs."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "models.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
FILE_MARK = re.compile(r"<!-- file: (\S+) -->\n```")


def blocks(kind: str) -> list[str]:
    return [m.group(2) for m in FENCE.finditer(DOC.read_text()) if m.group(1) == kind]


def shown_files() -> dict[str, str]:
    text = DOC.read_text()
    files = {}
    for mark in FILE_MARK.finditer(text):
        block = FENCE.match(text, mark.end() - 3)
        assert block, f"no code block after the mark for {mark.group(1)}"
        files[mark.group(1)] = block.group(2)
    return files


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQNET_")}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def test_the_spec_files_shown_are_the_ones_shipped() -> None:
    shown = shown_files()
    shipped = {
        p.relative_to(ROOT).as_posix(): p.read_text()
        for p in sorted((ROOT / "docs" / "examples" / "models").glob("*.yaml"))
    }
    assert shown == shipped and shipped


@pytest.mark.parametrize("code", blocks("python"), ids=lambda c: c.splitlines()[0][:40])
def test_the_python_runs(code: str, tmp_path: Path) -> None:
    if "import torch" in code:  # the export example; torch is optional
        pytest.importorskip("torch")
    done = run([sys.executable, "-c", code], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_every_command_runs() -> None:
    commands = [
        line[2:]
        for block in blocks("console")
        for line in block.splitlines()
        if line.startswith("$ ")
    ]
    assert commands
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "seqnet", command
        done = run([sys.executable, "-m", "seqnet", *words[1:]], ROOT)
        assert done.returncode == 0, f"$ {command}\n{done.stdout}\n{done.stderr}"
        assert "warning:" not in done.stderr and "Traceback" not in done.stderr
