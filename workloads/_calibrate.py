"""``python -m workloads._calibrate MODULE WORKLOAD SIZE``: seconds of one serial value.

Run by the driver in a subprocess while it plans, to scale work sizes per
interpreter.  The value is timed the way ``serial`` is measured (one fresh worker
thread), on the second of two calls, so a JIT has compiled the loop.
"""

from __future__ import annotations

import sys

from workloads._registry import _REGISTRY, Bench, import_workload_module
from workloads.modes import time_bench


def main() -> None:
    module, name, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    import_workload_module(module)
    bench = Bench(_REGISTRY[name], "serial", 1, size)
    time_bench(bench, 1)
    print(time_bench(bench, 1))


if __name__ == "__main__":
    main()
