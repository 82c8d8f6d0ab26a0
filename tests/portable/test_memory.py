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
    it would reuse unseen.  2,000 written buffers of 16 KiB (32 MiB, far above a page or an
    arena of slack): about 16 KiB each on the default builds; up to a quarter more where the
    allocator rounds the block up (mimalloc's 20 KiB size class on free-threaded builds);
    a little less on PyPy, whose GC had already mapped some of the pages."""
    code = (
        "from workloads import memory\n"
        "got = memory.measure_per_object(lambda: bytes(bytearray(b'x') * 16384), 2000)\n"
        "assert memory.bytes_per_object() == got\n"
        "print(got)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120)
    assert 0.95 * 16384 <= float(out.stdout) < 1.3 * 16384


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
