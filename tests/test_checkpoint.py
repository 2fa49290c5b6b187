"""Checkpoints: exact round trips, atomic saves (a real process killed mid-save), refusals."""

from __future__ import annotations

import pickle
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from seqnet import checkpoint
from seqnet.checkpoint import Checkpoint, CheckpointError


def sample(step: int = 3, size: int = 4) -> Checkpoint:
    rng = np.random.default_rng(step)
    params = {"cells.0.W_h": rng.standard_normal((size, size)), "head.b": np.zeros(1)}
    return Checkpoint(
        spec={"task": {"name": "binadd", "bits": 8}},
        step=step,
        params=params,
        optimizer={"step": step, "slots": {"m": {k: v * 0.5 for k, v in params.items()}}},
        streams={"data": np.random.default_rng(step).bit_generator.state},
        loop={"hits": 0, "reached": False, "seconds": 0.25},
        versions=checkpoint.versions(
            {
                "task": {
                    "name": "binadd",
                    "plugin": "binadd",
                    "distribution": "seqnet",
                    "version": "0.1.0",
                }
            }
        ),
    )


def test_round_trip_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    saved = sample()
    checkpoint.save(path, saved)
    loaded = checkpoint.load(path)
    assert loaded.step == 3 and loaded.spec == saved.spec and loaded.loop == saved.loop
    for name, value in saved.params.items():
        np.testing.assert_array_equal(loaded.params[name], value)
        assert loaded.params[name].dtype == value.dtype
    m = loaded.optimizer["slots"]["m"]["cells.0.W_h"]
    np.testing.assert_array_equal(m, saved.optimizer["slots"]["m"]["cells.0.W_h"])
    # a 128-bit PCG64 state survives JSON exactly
    rng = np.random.default_rng()
    rng.bit_generator.state = loaded.streams["data"]
    assert rng.random() == np.random.default_rng(3).random()
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def refused(path: Path) -> str:
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_refuses_a_pickle(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    path.write_bytes(pickle.dumps({"params": np.zeros(3)}))
    assert "is a pickle" in refused(path)


def test_refuses_an_object_array(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    checkpoint.save(path, sample())
    with zipfile.ZipFile(path, "a") as zf, zf.open("evil.npy", "w") as member:
        np.lib.format.write_array(member, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert "object array" in refused(path)


def test_refuses_changed_arrays(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    checkpoint.save(path, sample())
    raw = bytearray(path.read_bytes())
    member = zipfile.ZipFile(path).getinfo("params/cells.0.W_h.npy")
    raw[member.header_offset + 200] ^= (
        0xFF  # one byte inside the array data (stored, no CRC check by numpy)
    )
    path.write_bytes(bytes(raw))
    message = refused(path)
    assert "SHA-256" in message or "corrupt" in message


def test_refuses_a_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    checkpoint.save(path, sample())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert "truncated or corrupt" in refused(path)


def test_refuses_a_plugin_that_is_not_installed(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    saved = sample()
    saved.versions["plugins"]["task"] = {
        "name": "sorting",
        "plugin": "sorting",
        "distribution": "seqnet-sorting",
        "version": "2.0",
    }
    checkpoint.save(path, saved)
    with pytest.raises(CheckpointError, match=r"needs task 'sorting', which is not installed "
                       r"\(it was provided by seqnet-sorting 2.0"):  # fmt: skip
        checkpoint.check_plugins(checkpoint.load(path), {"task": {"binadd"}}, path)


WRITER = """
import sys
from pathlib import Path
import numpy as np
from seqnet import checkpoint
from seqnet.checkpoint import Checkpoint

path = Path(sys.argv[1])
def ckpt(step, size):
    loop = {"hits": 0, "reached": False, "seconds": 0.0}
    return Checkpoint({}, step, {"w": np.full(size, float(step))}, {}, {}, loop, {})
checkpoint.save(path, ckpt(1, 10))
print("first", flush=True)
step = 2
while True:  # big saves, one after another, until killed
    checkpoint.save(path, ckpt(step, 4_000_000))
    step += 1
"""


def test_a_process_killed_mid_save_leaves_the_previous_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"first"
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".c.npz.*.tmp")):  # a save is under way
            assert time.monotonic() < deadline, "the writer never started a second save"
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert list(tmp_path.glob(".c.npz.*.tmp")), "killed after the save finished; not mid-save"
    loaded = checkpoint.load(path)  # whole: the first checkpoint or a later complete one
    assert np.all(loaded.params["w"] == float(loaded.step))
