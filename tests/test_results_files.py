"""A real run's files: pyperf's own CLI accepts them, and the metadata contract holds."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import pyperf
import pytest
from helpers import run_module

from workloads._registry import PROFILES
from workloads.host import SHORT_WARMUP

CONTRACT = (
    "workload",
    "mode",
    "workers",
    "gil_enabled",
    "free_threaded_build",
    "work_size",
    "workload_sha256",
    "profile",
    "run_id",
    "env",
    "implementation",
    "version",
    "jit",
    "profile_settings",
    "switch_interval",
)


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
    assert {
        "countdown[serial]",
        "countdown[threads,w=2]",
        "countdown[processes,w=1]",
        "countdown[processes,w=2]",
    } <= set(names)
    assert "countdown[threads,w=1]" not in names  # one worker thread is the serial benchmark itself
    hashes: dict[str, set] = {}
    expected = {}
    for module in ("workloads.cpu", "workloads.convoy"):
        source = importlib.util.find_spec(module).origin
        expected[module] = hashlib.sha256(Path(source).read_bytes()).hexdigest()
    for bench in suite.get_benchmarks():
        meta = bench.get_metadata()
        missing = [k for k in CONTRACT if k not in meta]
        assert not missing, (bench.get_name(), missing)
        assert meta["env"] == "bench-host" and meta["profile"] == "smoke"
        smoke = PROFILES["smoke"]
        values = smoke.latency_values if "latency" in meta.get("tags", []) else smoke.blocks.values
        settings = "values=%d warmups=%d warmup_scale=%g loops=1 block=" % (values, smoke.warmups, SHORT_WARMUP)
        assert meta["profile_settings"].startswith(settings)
        assert bench.get_nrun() == smoke.rounds and len(bench.get_values()) == smoke.rounds * values
        assert [run.get_metadata()["round"] for run in bench.get_runs()] == list(range(smoke.rounds))
        hashes.setdefault(meta["workload"], set()).add(meta["workload_sha256"])
    assert all(len(h) == 1 for h in hashes.values())  # a workload's source hash is the same in every benchmark
    assert hashes["countdown"] == {expected["workloads.cpu"]}  # and it is the hash of the module's file
    assert hashes["convoy"] == {expected["workloads.convoy"]}


def test_only_pyperf_files_match_the_run_folder_glob(smoke_run):
    """Status, timeline and manifest live in meta/, where `results/<run>/*.json` does not reach."""
    assert [p.name for p in smoke_run.glob("*.json")] == ["bench-host.json"]


def test_status_file_records_every_planned_benchmark(smoke_run):
    status = json.loads((smoke_run / "meta" / "bench-host.status.json").read_text())
    assert status["format"] == "gilbench-status/1"
    assert set(status["planned"]) == set(status["benchmarks"])
    outcomes = {e["status"] for e in status["benchmarks"].values()}
    assert outcomes <= {"ok", "unavailable"}
    for entry in status["benchmarks"].values():
        if entry["status"] == "unavailable":
            assert entry["reason"]
        if entry["mode"] == "interpreters" and sys.version_info < (3, 12):
            assert entry["status"] == "unavailable" and "3.12+" in entry["reason"]
