"""The allocator tuning that keeps a training step's large arrays in memory between steps."""

from __future__ import annotations

import platform
import resource
import threading

import numpy as np

from seqnet.allocator import keep_freed_memory

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
