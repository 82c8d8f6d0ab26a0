"""Memory per object (``workloads.memory``): the arithmetic on real allocations, and a real
benchmark process that records it in its pyperf metadata."""

from __future__ import annotations

import os
import subprocess
import sys

import pyperf
import pytest

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc/self/status")


def test_bytes_per_object_is_the_growth_of_the_resident_set_over_the_count():
    """In a fresh process, as a benchmark process measures it: this one has freed memory
    it would reuse unseen."""
    # 2,000 buffers of 16 KiB each: 32 MiB, far above a page or an arena of slack
    code = (
        "from workloads import memory\n"
        "got = memory.measure_per_object(lambda: bytearray(16384), 2000)\n"
        "assert memory.bytes_per_object() == got\n"
        "print(got)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120)
    assert 16384 <= float(out.stdout) < 16384 * 1.1


def test_a_hold_process_records_its_bytes_per_object_beside_its_values(tmp_path):
    part = tmp_path / "part.json"
    cmd = [sys.executable, "-m", "workloads._runner", "--output", str(part), "--module", "workloads.objects"]
    cmd += ["--workload", "hold_dicts", "--size", "20000", "--values", "2", "--warmups", "1", "--bench", "serial"]
    cmd += ["--bench-profile", "smoke", "--run-id", "r", "--env", "e"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    (bench,) = pyperf.BenchmarkSuite.load(str(part)).get_benchmarks()
    meta = bench.get_runs()[0].get_metadata()
    # a three-key dict: at least its 48-byte header and 3 slots, under a kilobyte on any build
    assert 48 < meta["bytes_per_object"] < 1024
    assert "memory" in meta["tags"]
