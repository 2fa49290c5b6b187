"""A run folder has one owner, survives crashes, and trusts nothing it did not write itself.

Real processes where a real process is the point (two runs racing, SIGKILL); CliRunner elsewhere.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from seqnet import checkpoint
from seqnet.cli import app
from seqnet.lock import LOCK, FolderLock, holder
from seqnet.rundir import RunDir

runner = CliRunner()
TINY = ["--hidden", "4", "--set", "task.bits=3", "--set", "train.eval_every=10",
        "--set", "train.eval_samples=20", "--set", "train.margin=1000"]  # fmt: skip
FOREVER = [sys.executable, "-m", "seqnet", "run", "binadd", *TINY, "--steps", "10000000"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def tiny_run(folder: Path, steps: int = 30) -> None:
    result = runner.invoke(app, ["run", "binadd", *TINY, "--steps", str(steps), "--out",
                                 str(folder), "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("own") / "done"
    tiny_run(folder)
    return folder


def copy_run(source: Path, dest: Path) -> Path:
    dest.mkdir()
    for f in source.iterdir():
        if f.is_file():
            (dest / f.name).write_bytes(f.read_bytes())
    return dest


def wait_for_line(proc: subprocess.Popen[bytes], text: bytes) -> None:
    assert proc.stdout is not None
    while text not in proc.stdout.readline():
        assert proc.poll() is None, "the run ended early"


def test_two_runs_started_together_into_one_folder_exactly_one_wins(tmp_path: Path) -> None:
    folder = tmp_path / "D"
    cmd = [*FOREVER, "--out", str(folder)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
             for _ in range(2)]  # fmt: skip
    try:
        loser_seen = False
        deadline = time.monotonic() + 120
        while not loser_seen and time.monotonic() < deadline:
            loser_seen = any(p.poll() is not None for p in procs)
            time.sleep(0.05)
        loser = next(p for p in procs if p.poll() is not None)
        winner = next(p for p in procs if p is not loser)
        _, err = loser.communicate(timeout=30)
        assert loser.returncode == 2, err
        lines = err.decode().splitlines()
        assert len(lines) == 1 and "in use by pid" in lines[0], lines
        wait_for_line(winner, b"step 30/")
        winner.send_signal(signal.SIGTERM)
        winner.communicate(timeout=60)
        assert winner.returncode == 130
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.communicate(timeout=30)  # reaps it and closes its pipes
    steps = [
        json.loads(line)["step"] for line in (folder / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps == sorted(set(steps)) and steps[:3] == [10, 20, 30]
    _ckpt, spec = RunDir.open(folder).load()
    assert spec.model_dump(mode="json") == yaml.safe_load((folder / "spec.yaml").read_text())


def test_a_killed_owner_leaves_no_stale_lock_and_no_temp_files(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    proc = subprocess.Popen([*FOREVER, "--out", str(folder)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV)  # fmt: skip
    try:
        wait_for_line(proc, b"step 20/")
        busy = runner.invoke(app, ["resume", str(folder)])
        assert busy.exit_code == 2 and f"in use by pid {proc.pid}" in busy.stderr
        proc.kill()  # SIGKILL: no handler runs, the lock file stays, the kernel drops the lock
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)  # reaps it and closes its pipes
    (folder / ".checkpoint.npz.abc123.tmp").write_bytes(b"half a checkpoint")
    with open(folder / "metrics.jsonl", "a") as f:
        f.write('{"step": 99999, "loss"')  # torn mid-append
    result = runner.invoke(app, ["resume", str(folder), "--steps", "10", "-q", "--json"])
    assert result.exit_code == 0, result.output
    assert not list(folder.glob("*.tmp")) and (folder / LOCK).exists()
    rows = RunDir(folder).records()
    assert [r["step"] for r in rows] == sorted({r["step"] for r in rows})


def test_a_reader_that_wins_the_race_to_an_unwritten_note_still_names_the_holder(
    tmp_path: Path,
) -> None:
    """Two runs start together: the loser may read the lock file before the winner writes it."""
    (tmp_path / LOCK).write_text("")
    note = {"pid": 4242, "host": "h", "command": "seqnet run binadd", "since": "12:00:01"}
    writer = threading.Timer(0.2, lambda: (tmp_path / LOCK).write_text(json.dumps(note)))
    writer.start()
    try:
        assert holder(tmp_path).startswith("pid 4242 on h")
    finally:
        writer.join()
    (tmp_path / LOCK).write_text("")
    assert (
        holder(tmp_path, wait=0.05) == "another process"
    )  # an empty note is not waited on forever


def test_a_held_folder_is_refused_by_every_writer_with_one_line(done: Path, tmp_path: Path) -> None:
    folder = copy_run(done, tmp_path / "c")
    lock = FolderLock(folder, "test")
    try:
        for args in (["resume", str(folder), "--steps", "5"],
                     ["run", "binadd", *TINY, "--out", str(folder)],
                     ["plot", str(folder)]):  # fmt: skip
            result = runner.invoke(app, args)
            assert result.exit_code == 2, (args, result.output)
            assert result.stderr.count("\n") == 1 and "is in use by pid" in result.stderr
        assert runner.invoke(app, ["eval", str(folder), "--samples", "5"]).exit_code == 0
    finally:
        lock.release()
    assert runner.invoke(app, ["resume", str(folder), "--steps", "5", "-q"]).exit_code == 0


def test_a_folder_made_before_its_first_checkpoint_is_started_by_resume(tmp_path: Path) -> None:
    folder = tmp_path / "early"
    spec_source = runner.invoke(app, ["spec", "binadd", "--set", "task.bits=3"]).stdout
    folder.mkdir()
    (folder / "spec.yaml").write_text(spec_source)  # what a run killed before step 0 leaves
    (folder / "metrics.jsonl").write_text("")
    again = runner.invoke(app, ["run", "binadd", "--out", str(folder)])
    assert again.exit_code == 2
    assert "stopped before its first checkpoint; start it with: seqnet resume" in again.stderr
    evaluated = runner.invoke(app, ["eval", str(folder)])
    assert evaluated.exit_code == 2 and "seqnet resume" in evaluated.stderr
    result = runner.invoke(app, ["resume", str(folder), "--steps", "20", "-q", "--json"])
    assert result.exit_code == 0, result.output
    assert RunDir.open(folder).load()[0].step == 20


def test_a_torn_last_metrics_line_is_dropped_and_a_damaged_one_named(
    done: Path, tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    folder = copy_run(done, tmp_path / "c")
    with open(folder / "metrics.jsonl", "a") as f:
        f.write('{"step": 40, "lo')
    plotted = runner.invoke(app, ["plot", str(folder)])
    assert plotted.exit_code == 0, plotted.output
    lines = (folder / "metrics.jsonl").read_text().splitlines()
    (folder / "metrics.jsonl").write_text("\n".join(["garbage", *lines]) + "\n")
    bad = runner.invoke(app, ["plot", str(folder)])
    assert bad.exit_code == 1 and "metrics.jsonl line 1 is damaged" in bad.stderr


def rewrite_manifest(path: Path, change: dict[str, object], rehash: bool) -> None:
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(members["manifest.json"])
    for dotted, value in change.items():
        node = manifest
        *keys, last = dotted.split(".")
        for key in keys:
            node = node[key]
        node[last] = value
    if rehash:  # a forger's edit: the digest recomputed over it
        with np.load(path, allow_pickle=False) as npz:
            data = {n: npz[n] for n in npz.files if n != "manifest.json"}
        manifest["sha256"] = checkpoint.digest(data, manifest)
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


@pytest.mark.parametrize(
    ("change", "rehash", "message"),
    [
        ({"spec.model.hidden": 64}, False, "fails its SHA-256 check"),
        ({"spec.task.name": "parity"}, False, "fails its SHA-256 check"),
        ({"step": -5}, False, "fails its SHA-256 check"),
        ({"step": -5}, True, "step must be a whole number >= 0"),
        ({"step": True}, True, "step must be a whole number >= 0"),
        ({"step": 10**9}, True, "past its budget"),
        ({"loop.reached": "yes"}, True, "loop must hold"),
        ({"spec.model.hidden": 64}, True, "does not fit its spec: head.W is (4, 1)"),
        ({"spec.model.cell": "lstm"}, True, "model.activation: unknown option"),
        ({"spec.model.hidden": "x"}, True, "holds a spec seqnet cannot use"),
    ],
)
def test_every_field_of_a_checkpoint_is_verified_before_use(
    done: Path, tmp_path: Path, change: dict[str, object], rehash: bool, message: str
) -> None:
    folder = copy_run(done, tmp_path / "c")
    rewrite_manifest(folder / "checkpoint.npz", change, rehash)
    for args in (["resume", str(folder), "--steps", "5"], ["eval", str(folder)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_resume_refuses_a_hand_edited_spec_and_keeps_the_edit(done: Path, tmp_path: Path) -> None:
    folder = copy_run(done, tmp_path / "c")
    spec_path = folder / "spec.yaml"
    edited = spec_path.read_text().replace("hidden: 4", "hidden: 32")
    spec_path.write_text(edited)
    result = runner.invoke(app, ["resume", str(folder), "--steps", "5"])
    assert result.exit_code == 2 and "model.hidden differ" in result.stderr
    assert spec_path.read_text() == edited


def test_a_raised_budget_in_spec_yaml_is_honoured(done: Path, tmp_path: Path) -> None:
    folder = copy_run(done, tmp_path / "c")
    spec_path = folder / "spec.yaml"
    spec_path.write_text(spec_path.read_text().replace("steps: 30", "steps: 40"))
    result = runner.invoke(app, ["resume", str(folder), "-q", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["steps"] == 40


def test_resume_steps_does_not_spend_the_budget(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    result = runner.invoke(app, ["run", "binadd", *TINY, "--steps", "60", "--out", str(folder),
                                 "-q"])  # fmt: skip
    assert result.exit_code == 0
    ckpt, _spec = RunDir.open(folder).load()
    # take the run back to step 20 as an interrupted one would be: resume from a copy of it
    early = copy_run(folder, tmp_path / "early")
    (early / "checkpoint.npz").unlink()
    (early / "metrics.jsonl").write_text("")
    assert runner.invoke(app, ["resume", str(early), "--steps", "20", "-q"]).exit_code == 0
    assert RunDir.open(early).load()[0].step == 20
    assert RunDir.open(early).load()[1].train.steps == 60
    plain = runner.invoke(app, ["resume", str(early), "-q", "--json"])
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.stdout)["steps"] == 60
    assert RunDir.open(early).load()[0].params.keys() == ckpt.params.keys()
    for name, value in RunDir.open(early).load()[0].params.items():
        assert (value == ckpt.params[name]).all(), name  # bit for bit the unbroken run


def test_resume_on_a_finished_run_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "solved"
    result = runner.invoke(app, ["run", "parity", "--set", "task.length=2", "--set",
                                 "train.validate_lengths=[]", "--out", str(folder), "-q",
                                 "--json"])  # fmt: skip
    assert result.exit_code == 0 and json.loads(result.stdout)["reached_target"]
    summary = (folder / "summary.json").read_bytes()
    again = runner.invoke(app, ["resume", str(folder)])
    assert again.exit_code == 2 and "is finished: it reached its target" in again.stderr
    assert (folder / "summary.json").read_bytes() == summary


def test_the_printed_resume_command_quotes_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "my run's folder"
    proc = subprocess.Popen([*FOREVER, "--out", str(folder)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV)  # fmt: skip
    try:
        wait_for_line(proc, b"step 10/")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)  # reaps it and closes its pipes
    command = err.decode().splitlines()[-1].removeprefix("resume with: ")
    assert command == "seqnet resume " + "'" + str(folder).replace("'", "'\"'\"'") + "'"
    assert shlex.split(command)[2] == str(folder)
