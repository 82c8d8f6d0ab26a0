"""The machine's capacity probe: its arithmetic, and one real probe."""

from __future__ import annotations

import math

import pytest

from harness import capacity


def test_capacity_is_the_throughput_of_k_over_one():
    # one spinner 50 ms; two at once 55 ms and 100 ms (the second vCPU there, then gone)
    probe = capacity.CapacityProbe(round=0, k=2, one=(0.05, 0.05), many=(0.055, 0.1))
    assert probe.capacity == pytest.approx(math.sqrt((2 * 0.05 / 0.055) * (2 * 0.05 / 0.1)))
    assert capacity.CapacityProbe.from_json(probe.to_json()) == probe


def test_rounds_take_the_geometric_mean_of_their_probes():
    probes = [
        capacity.CapacityProbe(0, 2, (1.0,), (0.5,)),
        capacity.CapacityProbe(0, 2, (1.0,), (1.0,)),
        capacity.CapacityProbe(1, 2, (1.0,), (0.8,)),
    ]
    assert capacity.by_round(probes) == {2: {0: pytest.approx(math.sqrt(4.0 * 2.0)), 1: pytest.approx(2.5)}}


def test_probe_widths_are_every_count_measured_above_one():
    assert capacity.probe_widths([1, 2], cpus=2) == [2]
    assert capacity.probe_widths([1, 2, 3], cpus=16) == [2, 3]
    assert capacity.probe_widths([1], cpus=2) == [] and capacity.probe_widths([1], cpus=1) == []
    assert capacity.probe_widths([1, 2, 4, 8, 16], cpus=16) == [2, 4, 8, 16]  # every count of a 16-CPU sweep


def test_probe_widths_add_the_oversubscribed_counts():
    """All the CPUs, and each count above them: a confined run's only capacity is at its w=2."""
    assert capacity.probe_widths([1, 2], cpus=1) == [2]  # taskset -c 0 --workers 1,2
    assert capacity.probe_widths([1, 2, 4], cpus=1) == [2, 4]
    assert capacity.probe_widths([1, 2, 4, 8], cpus=3) == [2, 3, 4, 8]  # 3: the CPUs, for 4 and 8 before
    assert capacity.probe_widths([1, 2, 4, 8, 16, 32], cpus=16) == [2, 4, 8, 16, 32]  # --oversubscribe


def test_a_real_probe_returns_one_time_per_pair_and_side():
    count = capacity.loop_count(0.005)
    probe = capacity.probe(3, 2, count, pairs=2)
    assert probe.round == 3 and len(probe.one) == 2 and len(probe.many) == 2
    assert all(t > 0 for t in probe.one + probe.many) and probe.capacity > 0
