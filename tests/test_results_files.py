"""A real run's files: pyperf's own CLI accepts them, and the metadata contract holds."""

from __future__ import annotations

import json

import pyperf
import pytest
from conftest import run_module

from workloads._registry import PROFILES

CONTRACT = (
    "workload", "mode", "workers", "gil_enabled", "free_threaded_build", "work_size", "workload_sha256",
    "profile", "run_id", "env", "implementation", "version", "jit", "profile_settings",
)  # fmt: skip


@pytest.fixture(scope="module")
def suite_file(smoke_run):
    return smoke_run / "bench-host.json"


def test_pyperf_stats_accepts_the_file(suite_file):
    proc = run_module("pyperf", "stats", str(suite_file))
    assert proc.returncode == 0, proc.stderr
    assert "countdown[threads,w=2]" in proc.stdout


def test_pyperf_compare_to_works_between_two_envs(smoke_run, suite_file, tmp_path):
    other = tmp_path / "other.json"
    suite = pyperf.BenchmarkSuite.load(str(suite_file))
    suite.dump(str(other))
    proc = run_module("pyperf", "compare_to", str(suite_file), str(other))
    assert proc.returncode == 0, proc.stderr
    assert "countdown[serial]" in proc.stdout


def test_every_benchmark_carries_the_metadata_contract(suite_file):
    suite = pyperf.BenchmarkSuite.load(str(suite_file))
    names = suite.get_benchmark_names()
    assert {"countdown[serial]", "countdown[threads,w=1]", "countdown[threads,w=2]",
            "countdown[processes,w=2]"} <= set(names)  # fmt: skip
    hashes: dict[str, set] = {}
    for bench in suite.get_benchmarks():
        meta = bench.get_metadata()
        missing = [k for k in CONTRACT if k not in meta]
        assert not missing, (bench.get_name(), missing)
        assert meta["env"] == "bench-host" and meta["profile"] == "smoke"
        smoke = PROFILES["smoke"]
        values = smoke.latency_values if "latency" in meta.get("tags", []) else smoke.values
        settings = "processes=%d values=%d warmups=%d loops=1" % (smoke.processes, values, smoke.warmups)
        assert meta["profile_settings"] == settings
        assert bench.get_nrun() == smoke.processes and len(bench.get_values()) == smoke.processes * values
        hashes.setdefault(meta["workload"], set()).add(meta["workload_sha256"])
    assert all(len(h) == 1 for h in hashes.values())  # a workload's source hash is the same in every benchmark


def test_status_file_records_every_planned_benchmark(smoke_run):
    status = json.loads((smoke_run / "bench-host.status.json").read_text())
    assert status["format"] == "gilbench-status/1"
    assert set(status["planned"]) == set(status["benchmarks"])
    outcomes = {e["status"] for e in status["benchmarks"].values()}
    assert outcomes <= {"ok", "unavailable"}
    for entry in status["benchmarks"].values():
        if entry["status"] == "unavailable":
            assert entry["reason"]
        if entry["mode"] == "interpreters":
            assert entry["status"] == "unavailable" and "3.14" in entry["reason"]
