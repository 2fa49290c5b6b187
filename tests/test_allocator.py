"""The allocator tuning that keeps a training step's large arrays in memory between steps."""

from __future__ import annotations

import platform
import resource
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

import seqnet
from seqnet import allocator, cli
from seqnet.allocator import keep_freed_memory
from seqnet.sweep import engines as sweep_engines
from seqnet_binadd import BinaryAdditionTask
from seqnet_elman import ElmanCell
from seqnet_optim import Adam

BIG = 2**24  # float64s: 128 MiB, far past glibc's largest mmap threshold (32 MiB)


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def test_a_freed_large_array_is_reused_without_page_faults() -> None:
    tuned = keep_freed_memory()
    if platform.libc_ver()[0] != "glibc":
        assert not tuned  # nothing to tune, and it says so
        return
    assert tuned
    del_me = np.ones(BIG)  # touched, then freed: the next step's array takes its place
    del del_me
    before = minor_faults()
    again = np.ones(BIG)
    # glibc's default would map it afresh: a fault per page (≥ 64 even with 2 MiB pages)
    assert minor_faults() - before < 16
    assert again.sum() == BIG


def test_a_threads_large_array_is_reused_too() -> None:
    # seqnet.parallel's threads allocate a step's arrays; by default they get their own arenas,
    # which map anything over 64 MiB afresh each time
    if not keep_freed_memory():
        return  # not glibc: the first test checks that nothing is claimed
    faults: list[int] = []

    def step() -> None:
        first = np.ones(BIG)
        del first
        before = minor_faults()
        again = np.ones(BIG)
        faults.append(minor_faults() - before)
        del again

    worker = threading.Thread(target=step)
    worker.start()
    worker.join()
    assert faults[0] < 16


def test_a_library_call_leaves_malloc_as_it_found_it() -> None:
    """seqnet.train in a fresh process, then a large array freed and taken again: glibc's
    defaults map it afresh (a fault per page), so train did not tune malloc for the caller."""
    if platform.libc_ver()[0] != "glibc":
        return  # nothing to observe: keep_freed_memory changes nothing without glibc
    code = f"""
import resource, numpy as np, seqnet
from seqnet_binadd import BinaryAdditionTask
from seqnet_elman import ElmanCell
from seqnet_optim import Adam
task = BinaryAdditionTask(bits=4)
model = seqnet.Model(ElmanCell(hidden=4), task.input_size, task.output_size)
seqnet.train(model, task, Adam(lr=0.01), seqnet.TrainSpec(steps=2, eval_samples=10))
first = np.ones({BIG}); del first
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
again = np.ones({BIG})
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(done.stdout) >= 64  # 128 MiB mapped afresh: at least 64 pages even of 2 MiB


def test_the_seqnet_command_and_sweep_workers_tune_malloc_and_train_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda: calls.append("tuned") or True)
    task = BinaryAdditionTask(bits=4)
    model = seqnet.Model(ElmanCell(hidden=4), task.input_size, task.output_size)
    seqnet.train(model, task, Adam(lr=0.01), seqnet.TrainSpec(steps=2, eval_samples=10))
    assert calls == []
    monkeypatch.setattr(sys, "argv", ["seqnet", "plugins", "--json"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 0
    assert calls == ["tuned"]
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # not this test process's Ctrl-C
    sweep_engines.worker_setup()
    assert calls == ["tuned", "tuned"]
