"""The workload matrix: names, sizes, worker ladder, strong-scaling splits.

Runs on every interpreter (nox parametrises it), so standard library + pyperf only.
"""

from __future__ import annotations

import pytest

from workloads._registry import PROFILES, Bench, load_all, plan, split, worker_ladder


def test_worker_ladder_covers_every_count_then_powers_and_oversubscription():
    assert worker_ladder(1) == [1, 2]
    assert worker_ladder(2) == [1, 2, 4]
    assert worker_ladder(16) == [1, 2, 3, 4, 8, 16, 32]
    assert worker_ladder(12) == [1, 2, 3, 4, 8, 12, 24]


@pytest.mark.parametrize("total,parts", [(10, 3), (5_000_000, 4), (7, 7), (3, 4)])
def test_split_is_strong_scaling(total, parts):
    chunks = split(total, parts)
    assert len(chunks) == parts and sum(chunks) == total
    assert max(chunks) - min(chunks) <= 1


def test_plan_names_are_unique_and_derived():
    registry = load_all()
    benches = plan(registry, PROFILES["fast"], ladder=[1, 2, 4])
    names = [b.name for b in benches]
    assert len(names) == len(set(names))
    assert "countdown[serial]" in names
    assert "countdown[threads,w=2]" in names
    assert "countdown[processes,w=4]" in names
    assert all(b.workers == 1 for b in benches if b.mode == "serial")


def test_same_work_for_every_interpreter_within_a_profile():
    registry = load_all()
    fast = {b.name: b.size for b in plan(registry, PROFILES["fast"], ladder=[1, 2])}
    smoke = {b.name: b.size for b in plan(registry, PROFILES["smoke"], ladder=[1, 2])}
    assert fast["countdown[serial]"] == fast["countdown[threads,w=2]"] == fast["countdown[processes,w=2]"]
    assert smoke["countdown[serial]"] < fast["countdown[serial]"]


def test_workload_source_hash_is_stable():
    wl = load_all()["countdown"]
    assert len(wl.source_sha256) == 64
    assert wl.source_sha256 == Bench(wl, "serial", 1, 10).workload.source_sha256
