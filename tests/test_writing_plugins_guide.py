"""docs/writing-plugins.md, followed word for word, so that the guide cannot rot.

The package is built from the guide's own file listings (which must equal the example package
in docs/examples/seqnet-reverse/), installed with the guide's pip command into a fresh virtual
environment that sees the installed seqnet (`--system-site-packages`), and every `$` command of
the guide is run there in order. The guide's "break something" outputs are reproduced too.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.numerics import EXACT

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "writing-plugins.md"
EXAMPLE = ROOT / "docs" / "examples" / "seqnet-reverse"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
FILE_MARK = re.compile(r"<!-- file: (\S+) -->\n```")


def guide_files() -> dict[str, str]:
    """Path -> text of each listing marked `<!-- file: PATH -->` in the guide."""
    text = GUIDE.read_text()
    files = {}
    for mark in FILE_MARK.finditer(text):
        block = FENCE.match(text, mark.end() - 3)
        assert block, f"no code block after the mark for {mark.group(1)}"
        files[mark.group(1)] = block.group(2)
    return files


def guide_blocks(kind: str) -> list[str]:
    return [m.group(2) for m in FENCE.finditer(GUIDE.read_text()) if m.group(1) == kind]


def guide_commands() -> list[str]:
    return [
        line[2:]
        for block in guide_blocks("console")
        for line in block.splitlines()
        if line.startswith("$ ")
    ]


def example_files() -> dict[str, str]:
    skip = {"__pycache__", ".pytest_cache", "build", "dist", "runs"}
    return {
        path.relative_to(EXAMPLE).as_posix(): path.read_text()
        for path in sorted(EXAMPLE.rglob("*"))
        if path.is_file()
        and not skip & set(path.relative_to(EXAMPLE).parts)
        and not any(part.startswith(".") for part in path.relative_to(EXAMPLE).parts)
        and ".egg-info" not in path.as_posix()
    }


def test_the_guide_shows_the_example_package_whole() -> None:
    shown = guide_files()
    assert shown == example_files()
    layout = guide_blocks("text")[0]  # the tree of step 1 names every file
    for path in shown:
        assert Path(path).name in layout


def venv_with_seqnet(where: Path) -> Path:
    """A fresh venv that sees this interpreter's packages (seqnet, pip, pytest), even when this
    interpreter is itself a venv; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages",
                    str(where)], check=True)  # fmt: skip
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    outer = [*site.getsitepackages(), sysconfig.get_path("purelib")]
    lines = [f"import site; site.addsitedir({path!r})" for path in dict.fromkeys(outer)]
    (Path(purelib) / "_outer_site.pth").write_text("\n".join(lines) + "\n")
    return python


def run_command(command: str, python: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run one `$` line of the guide in the venv: `python` and `seqnet` are the venv's."""
    words = shlex.split(command)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQNET_")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", COLUMNS="200")
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    if words[0] == "python":
        argv = [str(python), *words[1:]]
    elif words[0] == "seqnet":
        argv = [str(python), "-m", "seqnet", *words[1:]]
    else:
        raise AssertionError(f"the guide runs '{words[0]}', which this test does not know")
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def test_following_the_guide_word_for_word(tmp_path: Path) -> None:
    work = tmp_path / "work"
    for path, text in guide_files().items():
        target = work / "seqnet-reverse" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    python = venv_with_seqnet(tmp_path / "venv")

    commands = guide_commands()
    assert commands[0] == "python -m pip install ./seqnet-reverse"
    outputs = {}
    for command in commands:
        done = run_command(command, python, work)
        assert done.returncode == 0, f"$ {command}\n{done.stdout}\n{done.stderr}"
        assert "warning:" not in done.stderr and "Traceback" not in done.stderr, done.stderr
        outputs[command] = done.stdout

    listed = outputs["seqnet plugins"]
    for shown in ("reverse", "indrnn", "seqnet-reverse 0.1.0 (seqnet-reverse)", "binadd"):
        assert shown in listed
    assert "reverse with elman, seed 0: solved after" in outputs["seqnet run reverse"]
    assert " ✓" in outputs["seqnet run reverse"]
    layered = outputs["seqnet run reverse --cell indrnn --layers 2"]
    # the page says it solves; on another machine's rounding it may need other steps (numerics.py)
    assert (
        "reverse with indrnn, seed 0: solved after" if EXACT else "reverse with indrnn, seed 0:"
    ) in layered
    assert "5 passed" in outputs["python -m pytest seqnet-reverse"]
    without = outputs["seqnet --disable-plugin seqnet-reverse plugins"]
    assert "indrnn" not in without and "disabled" in without and "elman" in without
    rows = json.loads(outputs["SEQNET_DISABLE_PLUGINS=binadd,seqnet-reverse seqnet plugins --json"])
    names = {(row["kind"], row["name"]) for row in rows}
    assert ("task", "binadd") not in names and ("task", "reverse") not in names
    assert ("plugin", "binadd") in names and ("plugin", "seqnet-reverse") in names


@pytest.mark.parametrize(
    ("path", "old", "new", "check"),
    [
        (
            "seqnet_reverse/task.py",
            "seqnet.Batch(x, y, mask)",
            "seqnet.Batch(x, y.astype(float), mask)",
            "from seqnet.testing import check_task\nfrom seqnet_reverse import ReverseTask\n"
            "check_task(ReverseTask())",
        ),
        (
            "seqnet_reverse/cell.py",
            'dh_prev = da * params["u"]',
            "dh_prev = da",
            "from seqnet.testing import check_cell_gradients\n"
            "from seqnet_reverse import IndRNNCell\ncheck_cell_gradients(IndRNNCell(hidden=4))",
        ),
    ],
)
def test_the_kit_reports_the_mistakes_the_guide_shows(
    tmp_path: Path, path: str, old: str, new: str, check: str
) -> None:
    for name, text in guide_files().items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.replace(old, new) if name == path else text)
    assert old in guide_files()[path] and f"`{new}" in GUIDE.read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQNET_")}
    env["PYTHONPATH"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True,
                          text=True, check=False)  # fmt: skip
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("AssertionError: ")
    assert f"{last}\n" in guide_blocks("text")
