"""Native code in threads: a Cython C loop that releases the GIL, and one that holds it.

Modes ``threads-nogil`` and ``threads-holding-gil`` call the same C loop through
two wrappers (see ``_native.pyx``).  On a GIL build the first scales with threads
and the second does not; on a free-threaded build both scale, since there is no
GIL to hold.  Where the extension could not be built for an interpreter, the rows
say why instead of disappearing.
"""

from __future__ import annotations

import os
from typing import Optional

from workloads._registry import workload

try:
    from workloads import _native
except ImportError as exc:  # not built for this interpreter
    _native = None
    _IMPORT_ERROR = "%s: %s" % (type(exc).__name__, exc)


def _unavailable() -> Optional[str]:
    if _native is not None:
        return None
    recorded = os.path.join(os.path.dirname(__file__), "_native_unavailable.txt")
    if os.path.exists(recorded):  # written by setup.py when the build failed
        with open(recorded, encoding="utf-8") as fh:
            return "the Cython extension failed to build: " + fh.read().strip()
    return "the Cython extension is not built for this interpreter (%s)" % _IMPORT_ERROR


def _lcg(name: str):
    def call(n: int) -> int:
        return getattr(_native, name)(n)

    call.__name__ = name
    return call


_RELEASING = _lcg("lcg_nogil")


@workload(
    size=150_000_000,
    modes=("serial", "threads-nogil", "threads-holding-gil"),
    # serial and threads-nogil call the same function: one worker of threads-nogil
    # is the serial benchmark, so it is not measured twice.
    variants={"serial": _RELEASING, "threads-nogil": _RELEASING, "threads-holding-gil": _lcg("lcg_holding_gil")},
    requires=_unavailable,
    tags=("native",),
    roles=("native",),
)
def native_lcg(n: int) -> int:
    """A C loop (64-bit LCG) called from Python threads, releasing or holding the GIL."""
    return _RELEASING(n)
