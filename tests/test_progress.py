"""Progress bars: live on a terminal, updated in place in a Jupyter notebook, plain lines or
nothing otherwise; and never on stdout where a command's output goes (--json, -q)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import seqnet
from seqnet.cli import app
from seqnet.lengths import evaluate_lengths
from seqnet.model import Model
from seqnet.trainspec import TrainSpec
from seqnet_binadd import BinaryAdditionTask
from seqnet_elman import ElmanCell
from seqnet_optim import Adam

QUICK = ["--set", "task.bits=4", "--set", "model.hidden=6", "--set", "train.eval_every=10",
         "--set", "train.eval_samples=50", "--set", "train.validate_lengths=[]"]  # fmt: skip


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def train(steps: int, bar: seqnet.ProgressBar) -> seqnet.Result:
    task = BinaryAdditionTask(bits=4)
    model = Model(ElmanCell(hidden=6), task.input_size, task.output_size)
    spec = TrainSpec(steps=steps, seed=3, eval_every=10, eval_samples=50, batch=8)
    return seqnet.train(model, task, Adam(lr=0.01), spec, callbacks=[bar])


def test_a_file_gets_a_line_per_evaluation(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    result = train(25, seqnet.ProgressBar(out))
    lines = out.getvalue().splitlines()
    assert [line.split("  ")[0] for line in lines] == ["step 10/25", "step 20/25", "step 25/25"]
    last = result.history[-1]
    assert f"loss {last.loss:.4f}" in lines[-1]
    assert f"exact_match {last.metrics['exact_match']:.4f}" in lines[-1]
    assert capsys.readouterr() == ("", "")  # nothing anywhere else
    quiet = io.StringIO()
    train(25, seqnet.ProgressBar(quiet, lines=False))
    assert quiet.getvalue() == ""


def test_a_terminal_gets_a_live_bar_with_rate_and_time_left(
    capsys: pytest.CaptureFixture[str],
) -> None:
    screen = Terminal()
    train(30, seqnet.ProgressBar(screen))
    drawn = screen.getvalue()
    assert "training" in drawn and "steps/s" in drawn and "30/30" in drawn
    # drawn with the cursor hidden, then erased line by line (the bar and the metrics line)
    assert "\x1b[?25l" in drawn and "loss " in drawn
    assert re.fullmatch(r"\x1b\[\?25h\r(\x1b\[1A\x1b\[2K)+", drawn[drawn.rindex("\x1b[?25h") :])
    assert "step 10/30" not in drawn  # no plain lines on a terminal
    assert capsys.readouterr() == ("", "")


def test_eval_progress_counts_every_sequence_step() -> None:
    task = BinaryAdditionTask(bits=4)
    model = Model(ElmanCell(hidden=6), task.input_size, task.output_size)
    params = model.init(seqnet_rng())
    seen: list[tuple[int, int]] = []
    evaluate_lengths(model, params, BinaryAdditionTask, {"bits": 4}, [8, 100], 30,
                     on_progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert seen[-1] == (30 * 8 + 30 * 100, 30 * 8 + 30 * 100)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) >= 4


def seqnet_rng() -> object:
    import numpy as np

    return np.random.default_rng(0)


@pytest.mark.parametrize("mode", ["--json", "-q", "plain"])
def test_commands_keep_progress_off_stdout(tmp_path: Path, mode: str) -> None:
    runner = CliRunner()
    flags = [] if mode == "plain" else [mode]
    out = tmp_path / "run"
    done = runner.invoke(app, ["run", "binadd", *QUICK, "--steps", "30", "--out", str(out),
                               *flags])  # fmt: skip
    assert done.exit_code == 0, done.output
    stdout = done.stdout
    assert "\x1b" not in stdout + done.stderr  # no terminal codes when output is not a terminal
    if mode == "--json":
        assert json.loads(stdout)["steps"] == 30 and stdout.count("\n") == 1
        assert "step 10/30" in done.stderr
    elif mode == "-q":
        assert stdout == ""
    else:
        assert stdout.startswith("step 10/30  loss ")
    evaluated = runner.invoke(app, ["eval", str(out), "--lengths", "8,64", "--samples", "20",
                                    "--json"])  # fmt: skip
    assert evaluated.exit_code == 0 and evaluated.stderr == ""
    assert set(json.loads(evaluated.stdout)["lengths"]) == {"8", "64"}


def test_a_notebook_shows_the_bar_as_one_output_updated_in_place(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    code = """
import seqnet
from seqnet_binadd import BinaryAdditionTask
from seqnet_elman import ElmanCell
from seqnet_optim import Adam
task = BinaryAdditionTask(bits=4)
model = seqnet.Sequential([ElmanCell(hidden=6)], task.input_size, task.output_size)
spec = seqnet.TrainSpec(steps=40, seed=3, eval_every=10, eval_samples=50, batch=8)
result = seqnet.train(model, task, Adam(lr=0.01), spec, callbacks=[seqnet.ProgressBar()])
print(result.steps)
"""
    from tests.test_tutorial import kernel_manager  # this interpreter's kernel, over IPC

    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    km = kernel_manager(tmp_path)
    client = nbclient.NotebookClient(book, km=km, timeout=120,
                                     resources={"metadata": {"path": str(tmp_path)}})  # fmt: skip
    try:
        client.execute()
    finally:
        if client.kc is not None:
            client.kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    outputs = book.cells[0].outputs
    shown = [o for o in outputs if o.output_type == "display_data"]
    streams = [(o.name, o.text) for o in outputs if o.output_type == "stream"]
    assert streams == [("stdout", "40\n")]  # no warning, no escape codes, no plain lines
    assert len(shown) == 1  # one output, updated in place
    final = shown[0].data["text/plain"]
    assert final.startswith("training") and "40/40" in final and "steps/s" in final
    assert "exact_match" in final and "\x1b" not in final
