"""Memory held by a workload, measured inside the benchmark process that holds it.

A process's peak RSS says little about what a workload's objects cost: an interpreter
starts at 10-30 MiB whatever it then does.  ``measure_per_object`` builds a known
number of objects in a fresh process, before anything has been freed there, and
divides the growth of the resident set by the count: bytes per object as the
operating system sees them, allocator overhead included.  It runs once per process
(the workload's ``setup``), because memory freed by an earlier build stays mapped
(mimalloc, glibc and PyPy's GC keep it) and a second build would reuse it unseen.

Linux only (``/proc/self/status``); elsewhere nothing is recorded and the report
says "not measured" for the env.
"""

from __future__ import annotations

import statistics
from typing import Any, Callable, List, Optional

_PER_OBJECT: List[float] = []


def _status_bytes(field: str) -> Optional[int]:
    """A ``/proc/self/status`` memory line (``VmRSS``, ``VmHWM``) in bytes, or None."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def resident_bytes() -> Optional[int]:
    """This process's resident memory now (Linux ``VmRSS``), or None."""
    return _status_bytes("VmRSS")


def peak_resident_bytes() -> Optional[int]:
    """This process's own peak resident memory (Linux ``VmHWM``), or None.

    Not ``ru_maxrss`` (pyperf's ``mem_max_rss``): Linux keeps a process's resource usage
    across ``execve``, and a child starts with its parent's pages, so a benchmark process
    started by a 100 MiB host reports at least 100 MiB whatever it allocates.  ``VmHWM``
    belongs to the address space, which ``execve`` replaces.
    """
    return _status_bytes("VmHWM")


def measure_per_object(make: Callable[[], Any], count: int) -> Optional[float]:
    """Resident bytes per object of ``count`` calls of ``make()``, all held at once.

    The list that holds them is allocated before the first reading, so its 8 bytes
    per reference are not counted.  The figure is kept for this process's pyperf
    metadata (``bytes_per_object``) and returned; None where RSS cannot be read.
    """
    held: List[Any] = [None] * count
    before = resident_bytes()
    for i in range(count):
        held[i] = make()
    after = resident_bytes()
    del held
    if before is None or after is None:
        return None
    _PER_OBJECT.append((after - before) / count)
    return _PER_OBJECT[-1]


def bytes_per_object() -> Optional[float]:
    """The mean of this process's ``measure_per_object`` figures, or None if none."""
    return statistics.mean(_PER_OBJECT) if _PER_OBJECT else None
