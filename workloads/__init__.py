"""gilbench workloads: the code that runs inside every measured interpreter.

Keep it Python 3.9- and PyPy-compatible and standard-library only (plus pyperf).
A workload is a plain function plus a ``@workload(...)`` declaration; see
``workloads/cpu.py`` for the pattern and ``docs/adding-a-workload.md``.
"""

from workloads._registry import declared, workload

__all__ = ["declared", "workload"]
