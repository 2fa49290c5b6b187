"""Faults from outside: a full disk, a read-only folder, signals to a sweep, a broken engine.

The disk faults are simulated by making the failing system call raise (ENOSPC, EROFS) at the
moment it would; signals go to real processes, because a real process is the point.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from seqnet import atomic, lock
from seqnet.cli import app

runner = CliRunner()
TINY = ["--hidden", "4", "--steps", "20", "--set", "task.bits=3", "--set", "train.eval_every=10",
        "--set", "train.eval_samples=20"]  # fmt: skip
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def one_line(result: Any, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return str(lines[0])


def failing(real: Any, code: int, after: int = 0) -> Any:
    """`real`, except that calls after the first `after` raise OSError(code)."""
    calls = [0]

    def call(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] > after:
            raise OSError(code, os.strerror(code))
        return real(*args, **kwargs)

    return call


@pytest.mark.parametrize("after", [0, 1, 2, 3, 5])
def test_a_full_disk_is_one_line_and_leaves_no_half_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after: int
) -> None:
    monkeypatch.setattr(atomic.os, "fsync", failing(os.fsync, errno.ENOSPC, after))
    folder = tmp_path / "r"
    line = one_line(runner.invoke(app, ["run", "binadd", *TINY, "--out", str(folder)]), 1)
    assert "No space left on device" in line
    assert not list(tmp_path.rglob("*.tmp"))
    if folder.exists():  # what is there is whole: a spec, and perhaps checkpoints
        monkeypatch.undo()
        if (folder / "checkpoint.npz").exists():
            resumed = runner.invoke(app, ["resume", str(folder), "-q"])
            assert resumed.exit_code == 0, resumed.output


def test_a_read_only_folder_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lock.os, "open", failing(os.open, errno.EROFS))
    line = one_line(runner.invoke(app, ["run", "binadd", *TINY, "--out", str(tmp_path / "r")]), 1)
    assert "Read-only file system" in line


def test_a_full_disk_while_plotting_leaves_no_half_png(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    folder = tmp_path / "r"
    assert runner.invoke(app, ["run", "binadd", *TINY, "--out", str(folder), "-q"]).exit_code == 0
    monkeypatch.setattr(atomic.os, "fsync", failing(os.fsync, errno.ENOSPC))
    one_line(runner.invoke(app, ["plot", str(folder)]), 1)
    assert not list((folder / "plots").glob("*.png")) and not list(folder.rglob("*.tmp"))


def test_plot_out_an_existing_file_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    folder = tmp_path / "r"
    assert runner.invoke(app, ["run", "binadd", *TINY, "--out", str(folder), "-q"]).exit_code == 0
    target = tmp_path / "picture.png"
    target.write_bytes(b"mine")
    line = one_line(runner.invoke(app, ["plot", str(folder), "--out", str(target)]), 2)
    assert "is a file" in line and target.read_bytes() == b"mine"


@pytest.mark.parametrize("task", ["binadd", "parity", "adding", "copy"])
def test_plot_draws_every_length_task(task: str, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    folder = tmp_path / task
    result = runner.invoke(app, ["run", task, "--hidden", "4", "--steps", "10", "--set",
                                 "train.eval_every=5", "--set", "train.eval_samples=10",
                                 "--out", str(folder), "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    plotted = runner.invoke(app, ["plot", str(folder), "--length", "12"])
    assert plotted.exit_code == 0, plotted.output
    assert (folder / "plots" / "hidden.png").stat().st_size > 0


# --- sweeps ----------------------------------------------------------------------------------

SWEEP = ["sweep", "binadd", "--set", "train.steps=20", "--set", "task.bits=3",
         "--set", "train.eval_samples=20", "--set", "model.hidden=4", "-q"]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--seeds", "0-3", "--repeats", "2"], {}, "not both"),
        (["--seeds", "0-1000000000000"], {}, "at most 10,000"),
        (["--seeds", "0-" + "9" * 5000], {}, "characters long"),
        (["--repeats", "100000000"], {}, "less than or equal to 10000"),
        (["--samples", "1000000000", "--grid", "model.hidden=4,8"], {}, "100000"),
        (["--grid", "model.hidden=" + ",".join(map(str, range(1, 400))),
          "--grid", "train.batch=" + ",".join(map(str, range(1, 400)))], {}, "at most 100,000"),
        (["--scheduler", "not-an-address"], {}, "not a scheduler address"),
        (["--seeds", "0-1"], {"DASK_SCHEDULER_ADDRESS": "junk"}, "not a scheduler address"),
        (["--engine", "dask", "--scheduler", "tcp://host:99999999"], {}, "not a scheduler"),
    ],
)  # fmt: skip
def test_a_bad_sweep_is_one_line_and_leaves_no_folder(
    args: list[str], env: dict[str, str], message: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    line = one_line(runner.invoke(app, [*SWEEP, *args, "--out", "S"]), 2)
    assert message in line
    assert not Path("S").exists() and not Path("sweeps").exists()


def test_a_failed_engine_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from seqnet.sweep import engines as sweep_engines

    def broken(self: Any) -> Any:
        raise sweep_engines.EngineError("the dask engine needs Dask distributed")

    monkeypatch.setattr(sweep_engines.DaskEngine, "executor", broken)
    monkeypatch.chdir(tmp_path)
    one_line(runner.invoke(app, [*SWEEP, "--engine", "dask", "--out", "S"]), 2)
    assert not Path("S").exists()
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    again = runner.invoke(app, [*SWEEP, "--out", "S", "--workers", "1"])
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize(
    "content",
    ['{"runs": 5}', "[]", "garbage", '{"base": {}, "runs": [{"name": 1}]}',
     '{"source": "x", "base": {"task": {"name": "binadd"}}, "sweep": {"seeds": "a"}, "runs": []}',
     '{"source": "x", "base": {"task": {"name": "binadd"}}, "sweep": {}, "runs": [3]}', ""],
)  # fmt: skip
def test_a_damaged_sweep_json_is_one_line(content: str, tmp_path: Path) -> None:
    folder = tmp_path / "S"
    folder.mkdir()
    (folder / "sweep.json").write_text(content)
    one_line(runner.invoke(app, ["sweep", "--resume", str(folder)]), 2)


def children(pid: int) -> set[int]:
    """Every descendant of `pid` (from /proc)."""
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        parent = frontier.pop()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                if ppid == parent and int(entry.name) not in found:
                    found.add(int(entry.name))
                    frontier.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


SIGNALLED = {
    "sweep": ["sweep", "binadd", "--set", "train.steps=10000000", "--set", "train.margin=1000",
              "--set", "model.hidden=4", "--seeds", "0-3", "--workers", "2"],
    # the benchmark runs through the same sweep machinery, under its own command
    "bench chomsky": ["bench", "chomsky", "--tasks", "reverse_string", "--cells", "elman",
                      "--steps", "20000", "--hidden", "4", "--seeds", "0-3", "--workers", "2"],
}  # fmt: skip


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree from /proc")
@pytest.mark.parametrize("command", list(SIGNALLED))
@pytest.mark.parametrize("signals", [[signal.SIGTERM], [signal.SIGINT, signal.SIGINT]])
def test_a_signalled_sweep_says_so_and_leaves_no_workers(
    tmp_path: Path, signals: list[int], command: str
) -> None:
    folder = tmp_path / "S"
    cmd = [sys.executable, "-m", "seqnet", *SIGNALLED[command], "--out", str(folder)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    try:
        deadline = time.monotonic() + 60
        while len(children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = children(proc.pid)
        assert workers, "the sweep started no workers"
        time.sleep(1.0)
        for sig in signals:
            proc.send_signal(sig)
            time.sleep(0.01)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)  # reaps it and closes its pipes
    assert proc.returncode == 130, err
    lines = err.decode().strip().splitlines()
    assert "Traceback" not in err.decode()
    assert lines[-1].startswith("error: interrupted") and f"seqnet {command} --resume" in lines[-1]
    time.sleep(0.5)
    assert not [pid for pid in workers if alive(pid)]
    assert json.loads((folder / "sweep.json").read_text())["runs"]
