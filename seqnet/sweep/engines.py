"""Where a sweep's runs run: the `Engine` contract and the two built-in engines.

`process` is the standard library's process pool on this machine; `dask` sends runs to a Dask
distributed cluster (the optional extra `seqnet[dask]`). Both register through the `seqnet`
entry points, the way a third party's engine would. Dask is imported only when used.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import re
import signal
from collections.abc import Iterator
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor
from typing import Any, ClassVar, Protocol

from pydantic import Field, field_validator

from seqnet import allocator
from seqnet.errors import SeqnetError
from seqnet.hookspecs import Register
from seqnet.interfaces import PluginSpec
from seqnet.plugins import hookimpl
from seqnet.signatures import spec_init

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
ADDRESS = re.compile(r"([a-z][a-z0-9+.-]*://)?[A-Za-z0-9_.\-\[\]:]+:\d{1,5}")
"""A scheduler address: [protocol://]host:port (the form Dask's own parser needs)."""


class Engine(Protocol):
    """A place to run runs (see the `seqnet_register_engines` hook for the full contract)."""

    name: ClassVar[str]

    def executor(self) -> contextlib.AbstractContextManager[Executor]:
        """An executor for the block; on an exception leaving it, stop without waiting."""
        ...

    def slots(self) -> int:
        """How many runs to keep in flight (called inside the `executor()` block)."""
        ...


class EngineError(SeqnetError):
    """An engine that cannot start: a missing extra, an unreachable scheduler."""

    exit_code = 2


def cores() -> int:
    """The cores this process may use (its affinity mask, where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def worker_setup() -> None:
    """In each worker process the sweep starts: Ctrl-C is the sweep's to handle (the parent
    stops the workers itself), and malloc keeps freed memory for the next training step, as
    the seqnet command does (seqnet.allocator)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    allocator.keep_freed_memory()


def dask_setup(worker: Any) -> None:
    """Dask preload hook in each worker of a local cluster: `worker_setup` (see above). The
    workers of a scheduler you started yourself are yours to set up."""
    worker_setup()


class ProcessEngine:
    """Worker processes on this machine (concurrent.futures.ProcessPoolExecutor)."""

    name = "process"

    class Spec(PluginSpec):
        workers: int | None = Field(
            None, ge=1, description="worker processes (default: the number of cores)"
        )

    @spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.workers = spec.workers or cores()

    @contextlib.contextmanager
    def executor(self) -> Iterator[Executor]:
        # spawn, not fork: the parent may have threads (the progress bar), and a fresh
        # interpreter is what each worker gets on every platform.
        pool = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=worker_setup,
        )
        try:
            try:  # start the workers now, so that a worker that cannot start is told apart
                pool.submit(os.getpid).result()
            except BrokenExecutor:
                raise EngineError(
                    "the sweep's worker processes could not start; when a script starts a"
                    ' sweep, guard it with `if __name__ == "__main__":` (each worker imports'
                    " the main module, as multiprocessing's spawn does)"
                ) from None
            yield pool
        except BaseException:
            terminate(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def slots(self) -> int:
        return self.workers


def terminate(pool: ProcessPoolExecutor) -> None:
    """Stop the pool's workers now, mid-run (Python 3.14 has `terminate_workers` for this)."""
    # `_processes` is private, but the only handle on the workers before Python 3.14; take
    # it before shutdown(), which drops it.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()


class DaskEngine:
    """A Dask distributed cluster: an existing one at `scheduler`, or a local one for the sweep."""

    name = "dask"

    class Spec(PluginSpec):
        scheduler: str | None = Field(
            None,
            description="address of a running scheduler, e.g. tcp://host:8786 (default:"
            " DASK_SCHEDULER_ADDRESS, else a local cluster on 127.0.0.1 for this sweep)",
        )
        workers: int | None = Field(
            None, ge=1, description="worker processes of the local cluster (default: cores)"
        )

        @field_validator("scheduler")
        @classmethod
        def an_address(cls, value: str | None) -> str | None:
            if value is not None and not ADDRESS.fullmatch(value):
                raise ValueError(f"{value[:80]!r} is not a scheduler address like tcp://host:8786")
            return value

    @spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.scheduler = spec.scheduler or os.environ.get(SCHEDULER_ENV) or None
        if self.scheduler is not None and not ADDRESS.fullmatch(self.scheduler):
            raise EngineError(
                f"{SCHEDULER_ENV}={self.scheduler[:80]!r} is not a scheduler address like"
                " tcp://host:8786"
            )
        self.workers = spec.workers or cores()
        self.client: Any = None

    @contextlib.contextmanager
    def executor(self) -> Iterator[Executor]:
        try:
            import dask
            import distributed
        except ImportError:
            raise EngineError(
                "the dask engine needs Dask distributed: pip install 'seqnet[dask]'"
            ) from None
        with contextlib.ExitStack() as stack:
            if self.scheduler is None:
                # A run that kills its worker is failed at once by Dask and retried once,
                # alone, by the sweep: the same rule as the process engine.
                stack.enter_context(dask.config.set({"distributed.scheduler.allowed-failures": 0}))
                cluster = stack.enter_context(
                    distributed.LocalCluster(  # type: ignore[no-untyped-call]
                        n_workers=self.workers,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address="127.0.0.1:0",  # loopback only, any free port
                        silence_logs=logging.ERROR,
                        preload=[__name__],  # dask_setup below: Ctrl-C is the sweep's
                    )
                )
                address = cluster.scheduler_address
            else:
                address = self.scheduler
            try:
                client = stack.enter_context(
                    distributed.Client(address, timeout="20s")  # type: ignore[no-untyped-call]
                )
            except (OSError, ValueError, TypeError) as error:
                reason = " ".join(str(error).split())[:200]
                raise EngineError(
                    f"cannot reach the Dask scheduler at {address}: {reason}"
                ) from None
            self.client = client
            pool = client.get_executor(pure=False)
            try:
                yield pool
            finally:
                pool.shutdown(wait=False)  # cancels what is left; all is done on a normal exit
                self.client = None

    def slots(self) -> int:
        if self.client is None:
            return self.workers
        threads: dict[str, int] = self.client.nthreads()
        return max(1, sum(threads.values()))


@hookimpl  # from seqnet.plugins, not `seqnet`: seqnet.Sweep's module imports this one
def seqnet_register_engines(register: Register) -> None:
    register(ProcessEngine)
    register(DaskEngine)
