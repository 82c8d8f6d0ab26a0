"""The scaling family on the interpreters whose answer matters most: the free-threaded
build (with the GIL off throughout) and PyPy, each bare, from this source tree."""

from __future__ import annotations

import subprocess

import pytest
from helpers import ROOT

from harness import interpreters

# Every test of tests/portable/test_scaling_workloads.py, then whether the GIL is still off.
CHECK = """
import sys
sys.path.insert(0, sys.argv[1])
import test_scaling_workloads as t
for name in sorted(n for n in dir(t) if n.startswith("test_")):
    getattr(t, name)()
print(len(t.run_family()), getattr(sys, "_is_gil_enabled", lambda: True)())
"""


@pytest.mark.parametrize(("factor", "gil"), [("py313t", False), ("pypy3", True)])
def test_every_kernel_runs_in_serial_and_threads_there(factor, gil):
    found = interpreters.assign(interpreters.discover())
    if factor not in found:
        pytest.skip("no %s interpreter here" % factor)
    proc = subprocess.run(
        [found[factor].path, "-c", CHECK, str(ROOT / "tests" / "portable")],
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    count, gil_enabled = proc.stdout.split()
    assert int(count) >= 2 * 28 and gil_enabled == str(gil)
