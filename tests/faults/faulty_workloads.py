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
    """Sleeps ``n`` ms in total: slow enough for a test to interrupt the run."""
    time.sleep(n / 1000)


@workload(size=20_000, modes=SERIAL, tags=("cpu",), name="evil<script>alert(1)</script>")
def hostile_name(n: int) -> None:
    """A workload whose name is HTML: the report must show it as text."""
    while n > 0:
        n -= 1
