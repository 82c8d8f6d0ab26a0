"""The scheduler's small decisions, without running a benchmark."""

from __future__ import annotations

from types import SimpleNamespace

from workloads._driver import seed_of, slots
from workloads._schema import BenchSpec


def test_each_run_of_a_machine_gets_its_own_order():
    """Run ids of one machine share their suffix (the machine id): the seed must not."""
    seeds = {seed_of("20261125T%06dZ-003596" % t) for t in range(100)}
    assert len(seeds) == 100
    assert seed_of("20261125T173739Z-003596") == seed_of("20261125T173739Z-003596")  # a resumed run: same order


class _FakeRun:
    """What ``slots`` reads of an env's run: its env name and its open benchmarks' rounds."""

    def __init__(self, env: str, specs: list[BenchSpec], done: int = 0) -> None:
        self.target = SimpleNamespace(env=env)
        self.specs, self.done = specs, done

    def open_specs(self) -> list[BenchSpec]:
        return self.specs

    def next_round(self, spec: BenchSpec) -> int:
        return self.done


def _spec(workload: str, mode: str, workers: int) -> BenchSpec:
    name = "%s[%s]" % (workload, mode if mode == "serial" else "%s,w=%d" % (mode, workers))
    return BenchSpec(name=name, workload=workload, module="m", mode=mode, workers=workers, size=1, block=workload)


def _matrix() -> list[_FakeRun]:
    specs = [_spec(w, m, k) for w in ("countdown", "fib") for m, k in (("serial", 1), ("threads", 2))]
    return [_FakeRun(env, specs) for env in ("bench-py39", "bench-py313", "bench-py313t")]


def test_blocks_measure_a_workload_in_one_process_per_env_with_the_envs_back_to_back():
    order = slots(_matrix(), 0, "blocks", seed=1)
    assert len(order) == 2  # one slot per workload
    for slot in order:
        assert sorted(run.target.env for run, _ in slot) == ["bench-py313", "bench-py313t", "bench-py39"]
        workloads = {spec.workload for _, specs in slot for spec in specs}
        assert len(workloads) == 1 and all(len(specs) == 2 for _, specs in slot)


def test_the_processes_layout_runs_one_benchmark_per_process():
    order = slots(_matrix(), 0, "processes", seed=1)
    assert len(order) == 12 and all(len(slot) == 1 and len(slot[0][1]) == 1 for slot in order)


def test_slots_are_shuffled_by_round_and_repeatable():
    runs = _matrix()
    first = [[(r.target.env, s.name) for r, specs in slot for s in specs] for slot in slots(runs, 0, "blocks", 7)]
    again = [[(r.target.env, s.name) for r, specs in slot for s in specs] for slot in slots(runs, 0, "blocks", 7)]
    assert first == again  # a resumed run keeps its order
    orders = {
        str([[(r.target.env, s.name) for r, specs in slot for s in specs] for slot in slots(runs, n, "blocks", 7)])
        for n in range(8)
    }
    assert len(orders) > 1


def test_only_benchmarks_due_in_the_round_are_measured():
    runs = _matrix()
    runs[0].done = 1  # this env already measured round 0
    order = slots(runs, 0, "blocks", seed=1)
    assert {run.target.env for slot in order for run, _ in slot} == {"bench-py313", "bench-py313t"}
