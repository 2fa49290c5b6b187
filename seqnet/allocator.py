"""Keep freed memory for the next training step instead of handing it back to the kernel.

Every training step allocates the same large arrays again: the forward caches and the
gradients. glibc's malloc serves large blocks with fresh `mmap`s and `munmap`s them when freed
(from 128 KiB up, the threshold moving with what was freed before), and it gives freed memory
at the top of its heap back to the kernel. The next step then page-faults every 4 KiB page of
its arrays again, and the kernel zeroes each one. A GRU at B=256, H=512, T=64 (float32) has a
134 MB (T, B, 4H) gradient buffer: its first write took 2.6 ms per time step, 166 ms of a 1.1 s
training step, and 0.08 ms per time step with freed memory kept.

`keep_freed_memory()` asks glibc to serve every block from its main heap (no mmap, and no
per-thread arenas, whose heaps cap at 64 MiB and fall back to mmap above it: seqnet.parallel's
threads allocate too) and to keep up to 2 GiB of freed heap for reuse. A training process
reaches its peak every step anyway, so what it keeps between steps is memory it is about to use
again. The setting is process-wide: a program that allocates heavily from many threads of its
own shares one heap from then on. So it is the program's choice: the seqnet command and the
sweep's worker processes make it; `seqnet.train` and every other library call never do, and a
script opts in with `seqnet.keep_freed_memory()`. Without glibc (macOS, Windows, musl) nothing
changes.
"""

from __future__ import annotations

import ctypes
import sys
from functools import cache

# from glibc's <malloc.h>
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
M_ARENA_MAX = -8
KEEP_BYTES = 2**31 - 1  # mallopt takes a C int


@cache
def keep_freed_memory() -> bool:
    """Tune glibc's malloc for repeated training steps, once per process; False if not glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # from the C library Python already runs on
    except (OSError, AttributeError):  # a C library without mallopt (musl)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success, 0 when it refuses a value
    no_mmap = mallopt(M_MMAP_MAX, 0)  # large blocks come from the heap too
    one_heap = mallopt(M_ARENA_MAX, 1)  # threads' blocks as well
    keep = mallopt(M_TRIM_THRESHOLD, KEEP_BYTES)  # and freed heap stays for the next step
    return bool(no_mmap and one_heap and keep)
