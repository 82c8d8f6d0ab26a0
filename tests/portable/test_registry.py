"""The workload matrix: names, sizes, worker ladder, strong-scaling splits.

Runs on every interpreter (nox parametrises it), so standard library + pyperf only.
"""

from __future__ import annotations

import pytest

from workloads._registry import (
    ON_REQUEST_SUITES,
    PROFILES,
    Bench,
    cpu_count,
    load_all,
    plan,
    select,
    split,
    suites_of,
    worker_ladder,
)

# The kernels of workloads/cpu.py and workloads/contention.py that are members of the scaling family.
SCALING_MEMBERS = {
    "method_calls",
    "function_calls",
    "object_creation",
    "closure_creation",
    "dict_creation",
    "dataclass_creation",
    "generator_drain",
    "float_arith",
    "c_calls",
    "deepcopy_small",
    "threadlocal_read",
    "shared_list_append",
    "shared_dict_update",
}


@pytest.mark.parametrize(
    "cpus,ladder",
    [
        (1, [1]),
        (2, [1, 2]),
        (3, [1, 2, 3]),
        (12, [1, 2, 4, 8, 12]),
        (16, [1, 2, 4, 8, 16]),
        (64, [1, 2, 4, 8, 16, 32, 64]),
    ],
)
def test_worker_ladder_is_powers_of_two_up_to_the_cpus_and_the_cpus(cpus, ladder):
    assert worker_ladder(cpus) == ladder
    assert worker_ladder(cpus, oversubscribe=True) == ladder + [2 * cpus]


def test_plan_sizes_the_default_sweep_to_the_cpus_and_oversubscribes_only_when_asked():
    registry = load_all()
    cpus = cpu_count()
    counts = {b.workers for b in plan(registry, PROFILES["fast"], ["countdown"]) if b.mode == "threads"}
    assert max(counts) == cpus and counts == set(worker_ladder(cpus)) - {1}
    more = plan(registry, PROFILES["fast"], ["countdown"], oversubscribe=True)
    assert max(b.workers for b in more) == 2 * cpus
    asked = plan(registry, PROFILES["fast"], ["countdown"], ladder=[1, 2 * cpus + 1])
    assert max(b.workers for b in asked) == 2 * cpus + 1  # counts above the CPUs are measured when asked for


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


def test_every_workload_belongs_to_its_module_family_first():
    for wl in load_all().values():
        assert wl.suites[0] == wl.module.rpartition(".")[2]
        assert len(set(wl.suites)) == len(wl.suites)
    assert set(suites_of(load_all())) >= {"cpu", "contention", "stdlib", "scaling"}
    assert set(ON_REQUEST_SUITES) <= set(suites_of(load_all()))


def test_the_scaling_family_is_its_module_plus_the_kernels_other_modules_lend_it():
    registry = load_all()
    family = {wl.name for wl in select(registry, suites=["scaling"])}
    own = {name for name, wl in registry.items() if wl.module == "workloads.scaling"}
    assert family == own | SCALING_MEMBERS
    assert len(family) >= 28
    for name in family:
        wl = registry[name]
        assert "serial" in wl.modes and "threads" in wl.modes and not wl.self_timed


def test_the_default_run_leaves_out_what_is_only_measured_on_request():
    registry = load_all()
    default = {wl.name for wl in select(registry)}
    assert default == {name for name, wl in registry.items() if not wl.on_request}
    assert default >= SCALING_MEMBERS  # lent kernels stay in the default run, under their names
    assert not default & {name for name, wl in registry.items() if wl.module == "workloads.scaling"}
    assert {b.workload.name for b in plan(registry, PROFILES["smoke"])} == default


def test_workloads_and_suites_choose_together_in_declaration_order():
    registry = load_all()
    chosen = [wl.name for wl in select(registry, ["fib", "countdown"], ["stdlib"])]
    assert chosen[:2] == ["countdown", "fib"]
    assert set(chosen[2:]) == {n for n, wl in registry.items() if "stdlib" in wl.suites}
    names = {b.workload.name for b in plan(registry, PROFILES["smoke"], suites=["scaling"])}
    assert names == {wl.name for wl in select(registry, suites=["scaling"])}


def test_a_jit_keeps_the_value_length_its_warm_ups_need():
    """The default profile's blocks: without a JIT, values of an eighth of the declared work
    and no shorter than 12.5 ms per worker; with one, a quarter and 25 ms, as before."""
    from workloads._prepare import plan_specs

    blocks = PROFILES["default"].blocks
    assert blocks.sizing(False) == (0.125, 0.0125) and blocks.sizing(True) == (0.25, 0.025)
    assert PROFILES["fast"].blocks.sizing(True) == PROFILES["fast"].blocks.sizing(False)
    registry = load_all()
    benches = plan(registry, PROFILES["default"], ["countdown"], ["serial"])
    plain = plan_specs(registry, PROFILES["default"], benches)[0].size
    jit = plan_specs(registry, PROFILES["default"], benches, jit=True)[0].size
    assert jit == 2 * plain == benches[0].size // 4
