"""NumPy in threads: matrix products on per-thread arrays.

NumPy releases the GIL inside its numeric kernels, so threads can scale even on a
GIL build — as far as the Python-level glue between calls allows.  BLAS is pinned
to one thread per process so that the scaling measured is ours, not OpenBLAS's.
Where NumPy has no wheel for an interpreter, the rows say so.  Subinterpreters
are not measured: NumPy refuses to load in them.
"""

from __future__ import annotations

import os
from typing import Optional

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # must happen before numpy is imported

from workloads._registry import workload  # noqa: E402

try:
    import numpy
except ImportError as exc:
    numpy = None
    _IMPORT_ERROR = str(exc)

SIDE = 96


def _unavailable() -> Optional[str]:
    if numpy is None:
        return "NumPy is not installed for this interpreter (no binary wheel?): %s" % _IMPORT_ERROR
    return None


@workload(size=5_000, modes=("serial", "threads", "processes"), requires=_unavailable, tags=("native", "numpy"))
def numpy_matmul(n: int) -> float:
    """``n`` products of two 96×96 float64 matrices the thread owns."""
    rng = numpy.random.default_rng(n)
    a = rng.random((SIDE, SIDE))
    b = rng.random((SIDE, SIDE))
    total = 0.0
    for _ in range(n):
        total += float((a @ b)[0, 0])
    return total
