"""The README's promises: its Python example runs as printed, and equals `seqnet run binadd`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def test_readme_example_is_the_same_run_as_the_cli(tmp_path: Path) -> None:
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert code is not None
    # a fresh interpreter, as a reader would run it
    example = subprocess.run(
        [sys.executable, "-c", code.group(1)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    steps, exact = example.stdout.split()
    cli = subprocess.run(
        [sys.executable, "-m", "seqnet", "run", "binadd", "--json", "-q"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    summary = json.loads(cli.stdout.splitlines()[-1])
    assert int(steps) == summary["steps"]
    assert float(exact) == summary["exact_match"] == 1.0


def test_quick_start_has_exactly_the_two_commands() -> None:
    text = README.read_text()
    quick = text[text.index("## Quick start") : text.index("## What a run looks like")]
    commands = re.findall(r"```sh\n(.*?)\n```", quick, re.S)
    assert [c.split("#")[0].strip() for c in commands] == [
        "pip install . && seqnet run binadd",
        "pip install -e '.[dev]' && python -m pytest",
    ]
    ci = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    assert "pip install -e '.[dev]' && python -m pytest" in ci.splitlines()
