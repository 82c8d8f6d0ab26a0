"""The scheduler's small decisions, without running a benchmark."""

from __future__ import annotations

from workloads._driver import seed_of


def test_each_run_of_a_machine_gets_its_own_order():
    """Run ids of one machine share their suffix (the machine id): the seed must not."""
    seeds = {seed_of("20261125T%06dZ-003596" % t) for t in range(100)}
    assert len(seeds) == 100
    assert seed_of("20261125T173739Z-003596") == seed_of("20261125T173739Z-003596")  # a resumed run: same order
