"""Workloads that misbehave on purpose, for tests/test_faults.py.

Loaded only when ``GILBENCH_WORKLOAD_MODULES=faulty_workloads`` and this folder is
on ``PYTHONPATH``; they are never part of a real run.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time

from workloads import workload

SERIAL = ("serial",)


@workload(size=1, modes=SERIAL, tags=("fault",))
def raises(n: int) -> None:
    """Raises an exception."""
    raise RuntimeError("this workload fails on purpose")


@workload(size=1, modes=SERIAL, tags=("fault",))
def segfaults(n: int) -> None:
    """Dereferences a null pointer in native code."""
    ctypes.string_at(0)


@workload(size=1, modes=SERIAL, tags=("fault",))
def exits(n: int) -> None:
    """Leaves the process without cleanup."""
    os._exit(3)


@workload(size=1, modes=SERIAL, tags=("fault",))
def deadlocks(n: int) -> None:
    """Takes a non-reentrant lock twice: never returns; the driver's timeout stops it."""
    lock = threading.Lock()
    lock.acquire()
    lock.acquire()


@workload(size=60, modes=("serial", "threads"), tags=("fault",))
def naps(n: int) -> None:
    """Sleeps ``n`` ms in total."""
    time.sleep(n / 1000)


GATE_ENV = "GILBENCH_TEST_GATE"
GATE_SECONDS = 120.0  # never wait for ever, whatever the test does


def _gate_open(folder: str) -> bool:
    return os.path.exists(os.path.join(folder, "open-all")) or os.path.exists(
        os.path.join(folder, "open-%d" % os.getpid())
    )


@workload(size=2, modes=("serial", "threads"), tags=("fault",))
def gated(n: int) -> None:
    """Blocks until the test opens its gate, so a test can interrupt a benchmark *in flight*.

    The benchmark process announces itself with ``waiting-<pid>`` in the folder named by
    ``$GILBENCH_TEST_GATE``, then waits for ``open-<pid>`` (or ``open-all``).  Whether a
    signal lands before, during or after a benchmark is then decided by the test, not by
    how fast the machine happens to be.
    """
    folder = os.environ[GATE_ENV]
    waiting = os.path.join(folder, "waiting-%d" % os.getpid())
    if not os.path.exists(waiting):
        with open(waiting, "w") as fh:
            fh.write("waiting")
    deadline = time.monotonic() + GATE_SECONDS
    while not _gate_open(folder) and time.monotonic() < deadline:
        time.sleep(0.005)


@workload(size=20_000, modes=SERIAL, tags=("cpu",), name="evil<script>alert(1)</script>")
def hostile_name(n: int) -> None:
    """A workload whose name is HTML: the report must show it as text."""
    while n > 0:
        n -= 1


# A second gated workload: in the blocks layout a workload's benchmarks share one process, so a
# test that needs one process finished and another in flight needs two workloads.
workload(size=2, modes=("serial", "threads"), tags=("fault",), name="gated_too")(gated)
