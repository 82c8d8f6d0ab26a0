"""Machines, for real: ids under ``taskset``, the same id on every interpreter, runs from two
machines that ``compare`` refuses to mix, a run resumed elsewhere, sweeps sized to the CPUs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import EXAMPLE_RUN, SMOKE_COUNTDOWN, assert_one_line_error, run_module

from harness import collect
from workloads._machine import can_pin, pin_order
from workloads.host import PROFILES, EnvRun, Outcome, RunOptions, Target, this_machine

ID = "from workloads.host import this_machine as m; print(m().id, m().cpus)"
CONFINED = "20260103T000000Z-cpu0"

needs_taskset = pytest.mark.skipif(
    shutil.which("taskset") is None or this_machine().cpus < 2, reason="needs taskset (util-linux) and two CPUs"
)


def machine_id(*prefix: str, python: str = sys.executable) -> tuple[str, int]:
    """The id and CPUs a fresh process reads, started under ``prefix`` (e.g. ``taskset -c 0``)."""
    proc = subprocess.run([*prefix, python, "-c", ID], capture_output=True, text=True, timeout=60, check=True)
    ident, cpus = proc.stdout.split()
    return ident, int(cpus)


@needs_taskset
def test_one_cpu_under_taskset_is_another_machine_and_the_same_one_each_time():
    free, confined = machine_id(), machine_id("taskset", "-c", "0")
    assert confined[1] == 1 and free[1] == this_machine().cpus
    assert confined[0] != free[0]
    assert machine_id("taskset", "-c", "0") == confined and machine_id() == free


def test_every_interpreter_of_a_machine_reads_the_same_id():
    """CPython 3.9 to 3.14, free-threaded builds and PyPy (no sched_getaffinity there): one machine, one id."""
    from harness import interpreters

    root = str(Path(__file__).resolve().parent.parent)
    found = {str(i.path) for i in interpreters.assign(interpreters.discover()).values()}
    assert found
    for exe in sorted(found):
        proc = subprocess.run(
            [exe, "-c", "import sys; sys.path.insert(0, %r); %s" % (root, ID)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0 and proc.stdout.split()[0] == this_machine().id, (exe, proc.stdout, proc.stderr)


def _list(*prefix: str, extra: tuple[str, ...] = ()) -> list[str]:
    cmd = [*prefix, sys.executable, "-m", "workloads", "--list", "--workload", "countdown", "--profile", "fast", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout.split()


@needs_taskset
def test_the_default_sweep_stops_at_the_cpus_the_run_may_use():
    cpus = this_machine().cpus
    free = _list()
    assert "countdown[threads,w=%d]" % cpus in free and "countdown[threads,w=%d]" % (2 * cpus) not in free
    assert "countdown[threads,w=%d]" % (2 * cpus) in _list(extra=("--oversubscribe",))
    confined = _list("taskset", "-c", "0")
    assert not any(",w=2" in name for name in confined) and "countdown[processes,w=1]" in confined
    assert "countdown[threads,w=2]" in _list("taskset", "-c", "0", extra=("--oversubscribe",))


@pytest.fixture(scope="module")
def confined_run(smoke_run, gilbench_home) -> Path:
    """A real smoke run of countdown under ``taskset -c 0``, beside the session's free one."""
    results = smoke_run.parent
    if not (results / CONFINED).exists():
        proc = subprocess.run(
            ["taskset", "-c", "0", sys.executable, "-m", "workloads", "--profile", "smoke", "--workload", "countdown"]
            + ["--workers", "1,2", "--run-id", CONFINED, "--env", "bench-host", "--results-dir", str(results)],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=str(results.parent),
            env=dict(os.environ, GILBENCH_HOME=str(gilbench_home)),
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "oversubscribed: 2 workers on 1 CPU" in proc.stdout
    return results / CONFINED


@needs_taskset
def test_a_confined_run_records_its_machine_and_labels_two_workers_oversubscribed(confined_run, smoke_run):
    rows = collect.load_runs([confined_run]).benchmarks.set_index("name")
    assert set(rows["machine"]) == {machine_id("taskset", "-c", "0")[0]} and set(rows["cpu_count"]) == {1}
    assert rows.loc["countdown[threads,w=2]", "oversubscribed"]
    assert not rows.loc["countdown[processes,w=1]", "oversubscribed"]
    free = collect.load_runs([smoke_run]).benchmarks.set_index("name")
    assert set(free["machine"]) == {this_machine().id} and not free["oversubscribed"].any()
    status = json.loads((confined_run / "meta" / "bench-host.status.json").read_text())
    assert status["machine"]["cpus"] == 1 and status["cpu_count"] == 1


@needs_taskset
def test_compare_refuses_two_machines_in_one_line(confined_run, smoke_run):
    free, confined = this_machine().id, machine_id("taskset", "-c", "0")[0]
    for a, b in ((smoke_run, confined_run), (smoke_run / "bench-host.json", confined_run / "bench-host.json")):
        proc = run_module("harness", "compare", str(a), str(b))
        assert_one_line_error(proc, free, confined, "%d CPUs vs 1 CPU" % this_machine().cpus)
        assert len(proc.stderr.strip().splitlines()) == 1 and proc.stdout == ""


@needs_taskset
def test_a_run_is_resumed_only_on_the_machine_that_started_it(confined_run, gilbench_home, tmp_path):
    copy = tmp_path / "results"
    shutil.copytree(confined_run, copy / CONFINED)
    proc = run_module(
        "workloads",
        *SMOKE_COUNTDOWN,
        "--resume",
        CONFINED,
        "--env",
        "bench-host",
        "--results-dir",
        str(copy),
        env={"GILBENCH_HOME": str(gilbench_home)},
    )
    assert_one_line_error(proc, "was started on machine %s" % machine_id("taskset", "-c", "0")[0], "1 CPU vs")


@pytest.mark.skipif(not can_pin(), reason="this OS lets no thread choose its CPU")
def test_the_pinning_tool_measures_a_pinned_twin_beside_its_env(smoke_run, tmp_path):
    """tools/pinning.py's pieces on a copy of a real run: the twin's processes pin their
    workers (recorded per benchmark), and each benchmark compares free against pinned."""
    from tools import pinning

    results = tmp_path / "results"
    shutil.copytree(smoke_run, results / smoke_run.name)
    options = RunOptions(PROFILES["smoke"], smoke_run.name, str(results), seed=0)
    free = EnvRun(options, Target("bench-host", sys.executable))
    free.load()
    twin = pinning.pinned_twin(free)
    assert twin.target.env == "bench-host-pinned" and twin.status["pin_workers"]
    block = [s for s in twin.specs if s.block == "countdown" and not s.unavailable]
    assert set(twin.run_block(block, 0).values()) == {Outcome.OK}
    twin.finish()
    data = collect.load_runs([results / smoke_run.name]).benchmarks
    pinned = data[data["env"] == "bench-host-pinned"].set_index("name")["pinned_cpus"]
    assert pinned["countdown[threads,w=2]"] == pin_order()[:2] and pinned["countdown[serial]"] == pin_order()[:1]
    table = pinning.effect(data, "bench-host")
    assert set(table["env"]) == {"bench-host → bench-host-pinned"}
    assert set(table["benchmark"]) == {s.name for s in block}


def test_runs_recorded_before_machine_ids_still_load_and_compare(smoke_run):
    """The committed example run has no machine record: its machine is its run id's suffix,
    its CPUs pyperf's, and compare goes on (there is no telling its machine apart)."""
    from harness import publish

    raw = Path(__file__).resolve().parent.parent / "docs" / "results" / EXAMPLE_RUN / publish.RAW
    old = collect.load_runs([raw]).benchmarks
    assert set(old["machine"]) == {EXAMPLE_RUN.rpartition("-")[2]} and old["machine_facts"].isna().all()
    assert set(old["cpu_count"]) == {2} and not old["oversubscribed"].any()  # the example run measured 1 and 2
    proc = run_module("harness", "compare", str(raw / "bench-py313.json.gz"), str(smoke_run / "bench-host.json"))
    assert proc.returncode == 0, proc.stderr
