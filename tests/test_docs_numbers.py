"""Numbers the docs print, re-run: a page's console transcripts and the cheap rows of its tables.

A number in the docs comes from the command printed beside it. These tests run those commands
(in fresh processes, as a reader would) wherever they take a few seconds, so that a change of
defaults or of numerics cannot leave a page telling an old story. Wall times are not compared:
the machines are shared and noisy; steps and scores are exact for a seed on a machine that
rounds as the one that wrote the pages (tests/numerics.py). On another, a transcript's lines
are compared with their numbers masked, steps to within a factor of two, and losses to within
a factor of two; verdicts and generalisation scores stay exact.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.numerics import EXACT, steps_agree

ROOT = Path(__file__).parents[1]
SECONDS = re.compile(r" in \d+(\.\d+)? s;")  # the one wall-clock figure of a summary line
NUMBER = re.compile(r"-?\d[\d,]*(\.\d+)?(e-?\d+)?")  # masked on another machine's rounding


def seqnet(args: list[str], cwd: Path) -> str:
    """Run `seqnet ARGS` in a fresh interpreter; its stdout (progress lines included)."""
    done = subprocess.run(
        [sys.executable, "-m", "seqnet", *args], cwd=cwd, capture_output=True, text=True
    )
    assert done.returncode == 0, (
        f"seqnet {shlex.join(args)} exited {done.returncode}: {done.stderr}"
    )
    return done.stdout


def transcripts(page: Path) -> list[tuple[list[str], list[str]]]:
    """Every `$ seqnet ...` command of the page's console blocks, with the lines printed under
    it (a `\\` continues a command; a `# ...` comment ends it; `...` stands for lines left out)."""
    found: list[tuple[list[str], list[str]]] = []
    for block in re.findall(r"```(?:text|console)\n(.*?)```", page.read_text(), re.S):
        lines = iter(block.splitlines())
        for line in lines:
            if line.startswith("$ seqnet "):
                command = line[2:]
                while command.rstrip().endswith("\\"):
                    command = command.rstrip()[:-1] + " " + next(lines).strip()
                found.append((shlex.split(command, comments=True)[1:], []))
            elif found:
                found[-1][1].append(line)
    return found


def same_lines(printed: list[str], real: list[str]) -> None:
    """The page's lines appear, in order, among the real ones: each stretch between `...`
    lines as a contiguous block (a page leaves lines out only where it says so)."""

    def normal(lines: list[str]) -> list[str]:
        kept = [SECONDS.sub(" in T s;", line).rstrip() for line in lines
                if line.strip() and not line.startswith("run folder:")]  # fmt: skip
        return kept if EXACT else [NUMBER.sub("#", line) for line in kept]

    got = normal(real)
    stretches: list[list[str]] = [[]]
    for line in printed:
        if line.strip() == "...":
            stretches.append([])
        else:
            stretches[-1].extend(normal([line]))
    at = 0
    for stretch in filter(None, stretches):
        starts = [i for i in range(at, len(got)) if got[i : i + len(stretch)] == stretch]
        assert starts, f"the page prints {stretch!r} together; the command did not"
        at = starts[0] + len(stretch)


@pytest.mark.parametrize("page", ["README.md", "docs/binadd.md"])
def test_console_transcripts_print_what_the_page_shows(page: str, tmp_path: Path) -> None:
    runs = transcripts(ROOT / page)
    assert runs, f"{page} has no seqnet transcript"
    for args, printed in runs:
        if args[0] == "plot":
            pytest.importorskip("matplotlib")  # the dev extra installs it; CI draws the picture
        same_lines(printed, seqnet(args, tmp_path).splitlines())


def table(page: str, heading: str) -> list[dict[str, str]]:
    """The first markdown table under `heading` on `page`, as one dict per row."""
    text = (ROOT / page).read_text()
    section = text[text.index(heading) :]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    start = section.splitlines().index(lines[0])
    rows = []
    for line in section.splitlines()[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip("|"))])
    header, body = rows[0], rows[2:]
    return [dict(zip(header, row, strict=True)) for row in body]


def steps(cell: str) -> int:
    return int(cell.split()[0].replace(",", ""))


def cheap(rows: list[dict[str, str]], most: int) -> list[dict[str, str]]:
    """The rows a test can afford: runs that stopped within `most` steps."""
    return [row for row in rows if steps(row["steps"]) <= most]


def as_printed(value: float, printed: str) -> str:
    """`value` with as many decimals as the page printed."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return f"{value:.{decimals}f}"


def run_json(args: list[str], cwd: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(seqnet([*args, "--json", "-q"], cwd).splitlines()[-1])
    return result


ADDING = table("docs/tasks/adding.md", "## Measured: T = 100")


@pytest.mark.parametrize(
    "row", cheap(ADDING, 1200), ids=lambda row: f"{row['cell'].split()[0]}-{row['seed']}"
)
def test_the_adding_table(row: dict[str, str], tmp_path: Path) -> None:
    # the page's command: seqnet run adding --seed S [--cell gru|elman] --json -q
    cell = row["cell"].split()[0]
    result = run_json(["run", "adding", "--seed", row["seed"], "--cell", cell], tmp_path)
    assert steps_agree(result["steps"], steps(row["steps"])), result["steps"]
    accuracy = row["accuracy (\\|err\\| < 0.04)"]
    if EXACT:
        assert as_printed(float(result["mse"]), row["test MSE"]) == row["test MSE"]
        assert as_printed(float(result["accuracy"]), accuracy) == accuracy
    else:  # the same verdict, and the error within a factor of two
        assert float(result["mse"]) <= 2 * float(row["test MSE"]) + 1e-4
        assert result["reached_target"] == ("not solved" not in row["steps"])


PARITY = table("docs/tasks/parity.md", "## Per cell")


@pytest.mark.parametrize(
    "row", cheap(PARITY, 1000), ids=lambda row: f"{row['cell'].split()[0]}-{row['seed']}"
)
def test_the_parity_table(row: dict[str, str], tmp_path: Path) -> None:
    # the page's commands: seqnet run parity --seed S [--cell ...] --out DIR --json -q, then
    # seqnet eval DIR --lengths 100,1000,10000 --samples 100 --json
    cell = row["cell"].split()[0]
    args = ["run", "parity", "--seed", row["seed"], "--cell", cell, "--out", "r"]
    ran = run_json(args, tmp_path)["steps"]
    assert steps_agree(ran, steps(row["steps"])), ran
    lengths = ["--lengths", "100,1000,10000", "--samples", "100", "--json"]
    scores = json.loads(seqnet(["eval", "r", *lengths], tmp_path))["lengths"]
    for column, length in (("1,000 bits", "1000"), ("10,000 bits", "10000")):
        assert as_printed(scores[length]["exact_match"], row[column]) == row[column]
