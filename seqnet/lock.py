"""One owner per folder: an exclusive `flock` on `<folder>/.seqnet.lock`, held while a process
writes there. The kernel drops the lock when its holder exits or is killed, so a lock left by
a dead process is never stale; the file only says who holds it now (pid, host, command, time).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from seqnet.errors import SeqnetError

LOCK = ".seqnet.lock"


class FolderBusy(SeqnetError):
    """Another process owns the folder (a usage error: wait for it, or use another folder)."""

    exit_code = 2


def holder(folder: Path, wait: float = 1.0) -> str:
    """Who holds `folder`'s lock, as the lock file says: `pid 123 on host, since 12:00:01`.

    A holder writes its note just after taking the lock, so a reader that lost a race by
    microseconds may find the file empty: it reads again for up to `wait` seconds.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            data = json.loads((folder / LOCK).read_text(encoding="utf-8"))
            return (f"pid {int(data['pid'])} on {data['host']}, {data['command']},"
                    f" since {data['since']}")  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError):
            if time.monotonic() >= deadline:
                return "another process"
            time.sleep(0.02)


class FolderLock:
    """The exclusive lock of one folder, taken at construction; `release()` (or exit) drops it.

    flock rather than a pid file: a pid file needs the reader to decide whether its writer is
    still alive (pids are reused, hosts differ), and a killed writer leaves it behind; a flock
    belongs to the open file and the kernel releases it with the process, SIGKILL included.
    """

    def __init__(self, folder: Path, what: str) -> None:
        self.folder = Path(folder)
        self.fd: int | None = None
        path = self.folder / LOCK
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise SeqnetError(f"cannot lock '{self.folder}': {error.strerror}") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            self.fd = None
            raise FolderBusy(
                f"'{self.folder}' is in use by {holder(self.folder)}; wait for it to finish"
                f" (the lock goes away when that process ends)"
            ) from None
        since = time.strftime("%Y-%m-%d %H:%M:%S")
        command = " ".join(["seqnet", what, *sys.argv[2:3]])[:200]
        note = {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                "since": since}  # fmt: skip
        # written in place (the lock is on this file), then cut to its length: the file is never
        # empty while a note is being replaced
        data = (json.dumps(note) + "\n").encode("utf-8")
        os.pwrite(self.fd, data, 0)
        os.ftruncate(self.fd, len(data))

    @property
    def held(self) -> bool:
        return self.fd is not None

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)
            os.close(self.fd)  # closing the last descriptor releases the flock
            self.fd = None

    def __del__(self) -> None:
        self.release()
