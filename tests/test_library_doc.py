"""docs/library.md as a reader runs it: its Python blocks in order, in one fresh interpreter, from
an empty folder; a block followed by a `text` block must print exactly that (durations aside).
A block marked `<!-- needs torch -->` runs, after the first block only, when torch is installed
(it is optional). Also the loss conventions the page states, against PyTorch's losses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seqnet.losses import get_loss

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "library.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)
NEEDS_TORCH = "<!-- needs torch -->\n"
# what changes from run to run however the code behaves: durations, rates (`1,234 steps/s`),
# times left (`0:00:03`, `-:--:--`)
TIMINGS = re.compile(
    r"[\d,]+(\.\d+)? ?\w+/(s|min)\b"  # a rate
    r"|\d+(\.\d+)?(e-?\d+)? ?m?s\b"  # a duration
    r"|-?\d*:\d\d:\d\d|-:--:--"  # a time left, or none yet
)
# runs each block in one namespace, as one script would, and keeps what each printed
DRIVER = """
import contextlib, io, json, sys
printed = []
namespace = {"__name__": "__main__"}
for number, code in enumerate(json.load(sys.stdin), 1):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"<docs/library.md, python block {number}>", "exec"), namespace)
    printed.append(out.getvalue())
print(json.dumps(printed))
"""


def blocks(torch: bool) -> list[tuple[str, str | None]]:
    """Each Python block, with the text block that directly follows it (its output), if any.
    Without torch: the blocks not marked as needing it; with: the first block and the marked."""
    text = DOC.read_text()
    found = list(FENCE.finditer(text))
    pairs = []
    for i, block in enumerate(found):
        if block.group(1) != "python":
            continue
        marked = text[: block.start()].endswith(NEEDS_TORCH)
        if marked != torch and not (torch and not pairs):
            continue
        after = found[i + 1] if i + 1 < len(found) else None
        shown = None
        between = text[block.end() : after.start()] if after is not None else "?"
        if after is not None and after.group(1) == "text" and not between.strip():
            shown = after.group(2)
        pairs.append((block.group(2), shown))
    return pairs


def run_blocks(pairs: list[tuple[str, str | None]], where: Path) -> None:
    """Run the blocks as one script in `where`; each must print what the page shows under it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQNET_")}
    done = subprocess.run(
        [sys.executable, "-c", DRIVER], input=json.dumps([code for code, _ in pairs]),
        cwd=where, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    printed = json.loads(done.stdout.splitlines()[-1])
    for (code, shown), out in zip(pairs, printed, strict=True):
        if shown is not None:
            assert TIMINGS.sub("<time>", out) == TIMINGS.sub("<time>", shown), code


def test_every_block_runs_and_prints_what_the_page_shows(tmp_path: Path) -> None:
    pairs = blocks(torch=False)
    assert len(pairs) >= 7
    run_blocks(pairs, tmp_path)
    for picture in ("learning_curves.png", "hidden.png"):  # what the page saves is a real PNG
        assert (tmp_path / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_export_to_pytorch_runs_as_shown(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pairs = blocks(torch=True)
    assert len(pairs) >= 2 and all(shown is not None for _, shown in pairs[1:])
    run_blocks(pairs, tmp_path)


@pytest.mark.parametrize("name", ["sigmoid_bce", "softmax_ce", "mse"])
def test_the_losses_are_what_the_page_says(name: str) -> None:
    """The table of docs/library.md: a mean over scored steps, summed over outputs, equal to the
    PyTorch loss it names, taken over the scored steps only."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    T, B, V = 5, 3, 4
    mask = np.array([[1, 0, 1], [1, 1, 0], [0, 0, 1], [1, 1, 1], [0, 1, 0]], dtype=float)
    z = rng.standard_normal((T, B, V))
    scored = mask > 0
    count = scored.sum()
    if name == "sigmoid_bce":
        y = rng.integers(0, 2, (T, B, V)).astype(float)
        ref = (
            torch.nn.BCEWithLogitsLoss(reduction="sum")(
                torch.tensor(z[scored]), torch.tensor(y[scored])
            )
            / count
        )
    elif name == "softmax_ce":
        y = rng.integers(0, V, (T, B))
        ref = torch.nn.CrossEntropyLoss()(torch.tensor(z[scored]), torch.tensor(y[scored]))
    else:
        y = rng.standard_normal((T, B, V))
        ref = torch.nn.MSELoss(reduction="sum")(torch.tensor(z[scored]), torch.tensor(y[scored]))
        ref = ref / count
    loss, _ = get_loss(name)(z, y, mask)
    assert loss == pytest.approx(float(ref), rel=1e-12)
    assert get_loss(name)(z, y, np.zeros((T, B)))[0] == 0.0
