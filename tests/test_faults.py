"""Fault injection: crashes, hangs, interrupts, kills, concurrent runs, bad and hostile input.

Each test drives the real driver (``python -m workloads``) or the real CLI in
subprocesses, with misbehaving workloads from ``tests/faults/faulty_workloads.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pyperf
import pytest
from browser import inspect_page
from helpers import assert_one_line_error, run_module, wait_for

from harness import collect

FAULTS = Path(__file__).parent / "faults"
HOSTILE = "evil<script>alert(1)</script>"


def fault_env(home: Path, gate: Path | None = None) -> dict[str, str]:
    env = {
        "GILBENCH_WORKLOAD_MODULES": "faulty_workloads",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(FAULTS), os.environ.get("PYTHONPATH", "")])),
        "GILBENCH_HOME": str(home),
    }
    if gate is not None:
        env["GILBENCH_TEST_GATE"] = str(gate)
    return env


def _driver_args(results: Path, run_id: str, args: tuple[str, ...]) -> list[str]:
    """``python -m workloads`` on the host interpreter, smoke profile, the faulty workloads' run."""
    return [
        "--profile",
        "smoke",
        "--run-id",
        run_id,
        "--env",
        "bench-host",
        "--results-dir",
        str(results),
        "--no-timeline",
        *args,
    ]


def driver(
    results: Path,
    home: Path,
    *args: str,
    run_id: str = "20260101T000000Z-fault0",
    timeout: float = 300,
    gate: Path | None = None,
):
    return run_module("workloads", *_driver_args(results, run_id, args), env=fault_env(home, gate), timeout=timeout)


def start_driver(results: Path, home: Path, *args: str, run_id: str, gate: Path | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "workloads", *_driver_args(results, run_id, args)]
    env = dict(os.environ, **fault_env(home, gate))
    # SIGINT as a terminal delivers it, whatever the test runner inherited: a shell starts
    # background jobs with SIGINT ignored, and Python keeps an inherited SIG_IGN.
    return subprocess.Popen(
        cmd,
        cwd=tempfile.gettempdir(),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def status_path(run: Path) -> Path:
    return run / "meta" / "bench-host.status.json"


def status_of(run: Path) -> dict:
    return json.loads(status_path(run).read_text())["benchmarks"]


def count_ok(run: Path) -> int:
    try:
        return sum(e["status"] == "ok" for e in status_of(run).values())
    except (OSError, ValueError):
        return 0


def count_measured(run: Path) -> int:
    """Benchmarks with at least one pyperf process on disk."""
    try:
        return sum(e["runs"] >= 1 for e in status_of(run).values())
    except (OSError, ValueError):
        return 0


def waiting(gate: Path) -> set[str]:
    """Pids of gated benchmark processes that have started and are waiting."""
    return {p.name.split("-", 1)[1] for p in gate.glob("waiting-*")}


@pytest.fixture(scope="module")
def crashed_run(tmp_path_factory):
    """One run where three workloads crash in three ways, between two healthy ones."""
    results, home = tmp_path_factory.mktemp("results"), tmp_path_factory.mktemp("home")
    proc = driver(results, home, "--workload", "countdown,raises,segfaults,exits,naps", "--workers", "2")
    return proc, results / "20260101T000000Z-fault0", home


def test_a_crash_fails_only_its_own_benchmark(crashed_run):
    proc, run, _ = crashed_run
    assert proc.returncode == 1, proc.stdout + proc.stderr  # some benchmarks failed; the run finished
    status = status_of(run)
    assert {n: e["status"] for n, e in status.items() if e["workload"] in ("raises", "segfaults", "exits")} == {
        "raises[serial]": "failed",
        "segfaults[serial]": "failed",
        "exits[serial]": "failed",
    }
    assert "this workload fails on purpose" in status["raises[serial]"]["reason"]
    assert "-11" in status["segfaults[serial]"]["reason"] or "SIGSEGV" in status["segfaults[serial]"]["reason"]
    assert "exit status 3" in status["exits[serial]"]["reason"]
    names = pyperf.BenchmarkSuite.load(str(run / "bench-host.json")).get_benchmark_names()
    assert {"countdown[serial]", "countdown[threads,w=2]", "naps[serial]", "naps[threads,w=2]"} <= set(names)
    assert not any(n.startswith(("raises", "segfaults", "exits")) for n in names)


@pytest.fixture(scope="module")
def mixed_report(crashed_run, tmp_path_factory):
    """The report of the crashed run's folder with a foreign, a broken and an empty file
    added: its exit status, stderr and HTML."""
    _, run, _ = crashed_run
    mixed = tmp_path_factory.mktemp("mixed") / run.name
    mixed.mkdir()
    for path in run.iterdir():
        if path.is_file():
            (mixed / path.name).write_bytes(path.read_bytes())
    foreign = pyperf.Benchmark([pyperf.Run([0.1, 0.2], metadata={"name": "someone_elses"}, collect_metadata=False)])
    pyperf.BenchmarkSuite([foreign]).dump(str(mixed / "bench-foreign.json"))
    (mixed / "meta").mkdir()
    for path in (run / "meta").iterdir():
        (mixed / "meta" / path.name).write_bytes(path.read_bytes())
    (mixed / "meta" / "bench-bad.status.json").write_text("{not json")
    (mixed / "bench-empty.json").write_text("")
    reports = mixed.parent / "reports"
    proc = run_module("harness", "report", str(mixed), "--reports-dir", str(reports))
    html = reports / run.name / "index.html"
    return proc, html.read_text() if html.exists() else ""


def test_the_report_lists_failures_with_their_error(mixed_report):
    _, html = mixed_report
    assert "this workload fails on purpose" in html
    assert "segfaults[serial]" in html and "exits[serial]" in html


def test_a_hang_is_stopped_by_the_timeout_and_the_run_goes_on(tmp_path):
    proc = driver(
        tmp_path / "r", tmp_path / "h", "--workload", "deadlocks,countdown", "--workers", "2", "--timeout", "3"
    )
    assert proc.returncode == 1
    status = status_of(tmp_path / "r" / "20260101T000000Z-fault0")
    assert status["deadlocks[serial]"]["status"] == "timeout"
    assert "timed out after 3 s" in status["deadlocks[serial]"]["reason"]
    assert status["countdown[serial]"]["status"] == "ok"


@pytest.mark.parametrize(
    ("sig", "layout"), [(signal.SIGINT, "blocks"), (signal.SIGTERM, "blocks"), (signal.SIGINT, "processes")]
)
def test_interrupt_keeps_finished_benchmarks_and_resume_finishes(tmp_path, sig, layout):
    """Race-free by construction: every benchmark waits at a gate the test opens, so the
    signal always lands while a benchmark process is in flight and after one has finished.
    In the blocks layout a process measures a workload's three benchmarks, so there are two
    workloads; in the processes layout each benchmark has its own process."""
    results, home, gate, run_id = tmp_path / "r", tmp_path / "h", tmp_path / "gate", "20260101T000000Z-intr00"
    gate.mkdir()
    run = results / run_id
    workloads = "gated,gated_too" if layout == "blocks" else "gated"
    per_process = 3 if layout == "blocks" else 1  # gated[serial], gated[threads,w=2], gated[threads,w=4]
    args = ("--workload", workloads, "--workers", "2,4", "--layout", layout)
    proc = start_driver(results, home, *args, run_id=run_id, gate=gate)
    wait_for(lambda: len(waiting(gate)) == 1)
    (first,) = waiting(gate)
    (gate / ("open-" + first)).write_text("")  # let the first process finish ...
    wait_for(lambda: count_measured(run) == per_process and len(waiting(gate)) == 2)  # ... and the second one start
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "--resume" in err and "Traceback" not in err
    assert count_measured(run) == per_process
    assert len(pyperf.BenchmarkSuite.load(str(run / "bench-host.json")).get_benchmarks()) == per_process
    assert "interrupted" in {e["status"] for e in status_of(run).values()}

    (gate / "open-all").write_text("")
    resumed = driver(results, home, *args, "--resume", run_id, run_id=run_id, gate=gate)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    total = 6 if layout == "blocks" else 3
    assert count_ok(run) == total
    suite = pyperf.BenchmarkSuite.load(str(run / "bench-host.json"))
    assert [b.get_nrun() for b in suite.get_benchmarks()] == [1] * total  # the finished ones were not measured again


def test_kill_9_at_any_moment_leaves_readable_files(tmp_path):
    """kill -9 where the benchmark processes announce themselves (race-free: each waits at a
    gate the test opens): while the first block is in flight, before anything is measured;
    then, resumed, after one block was written and while the next is in flight.  Every file
    on disk stays readable, and a last resume finishes the run."""
    results, home, gate, run_id = tmp_path / "r", tmp_path / "h", tmp_path / "gate", "20260101T000000Z-kill00"
    gate.mkdir()
    run = results / run_id
    args = ("--workload", "gated,gated_too", "--workers", "2,4")

    def readable() -> None:
        if (run / "bench-host.json").exists():
            pyperf.BenchmarkSuite.load(str(run / "bench-host.json"))  # never truncated
            collect.load_runs([run])
        json.loads(status_path(run).read_text())

    proc = start_driver(results, home, *args, run_id=run_id, gate=gate)
    wait_for(lambda: len(waiting(gate)) == 1)  # the first block in flight, nothing measured yet
    proc.kill()
    proc.communicate()
    readable()
    assert count_measured(run) == 0
    for stale in gate.glob("waiting-*"):
        stale.unlink()
    proc = start_driver(results, home, *args, "--resume", run_id, run_id=run_id, gate=gate)
    wait_for(lambda: len(waiting(gate)) == 1)
    (gate / ("open-" + next(iter(waiting(gate))))).write_text("")  # the first block finishes ...
    wait_for(lambda: count_measured(run) == 3 and len(waiting(gate)) == 2)  # ... and the second is in flight
    proc.kill()
    proc.communicate()
    readable()
    assert count_measured(run) == 3
    (gate / "open-all").write_text("")
    finished = driver(results, home, *args, "--resume", run_id, run_id=run_id, gate=gate)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    names = pyperf.BenchmarkSuite.load(str(run / "bench-host.json")).get_benchmark_names()
    assert len(names) == 6  # serial and 2 thread counts of each workload
    assert not list(run.glob(".bench-*")) and not list(run.glob(".tmp-*"))


@pytest.fixture
def lock_holder(tmp_path):
    """A run that holds the machine lock (a deadlocked benchmark) while the test runs."""
    home = tmp_path / "holder-home"
    first = start_driver(
        tmp_path / "r1", home, "--workload", "deadlocks", "--timeout", "30", run_id="20260101T000000Z-lock01"
    )
    try:
        holder = home / "bench.lock.holder"
        wait_for(lambda: holder.exists() and "pid" in holder.read_text())
        yield home
    finally:
        first.kill()
        first.communicate()


def test_a_second_run_at_once_is_refused_unless_forced(tmp_path, lock_holder):
    second = driver(tmp_path / "r2", lock_holder, "--workload", "countdown", "--workers", "2")
    assert_one_line_error(second, "another benchmark run holds", "(pid ", " since ", "--force")
    forced = driver(tmp_path / "r3", lock_holder, "--workload", "countdown", "--workers", "2", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "timings will be distorted" in forced.stderr


def test_bench_all_is_refused_while_a_run_holds_the_lock(tmp_path, lock_holder):
    proc = run_module(
        "harness",
        "bench-all",
        "--profile",
        "smoke",
        "--results-dir",
        str(tmp_path / "r2"),
        env={"GILBENCH_HOME": str(lock_holder)},
    )
    assert_one_line_error(proc, "another benchmark run holds")


def test_foreign_and_broken_files_are_named_and_the_rest_aggregates(mixed_report):
    proc, html = mixed_report
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3, proc.stderr
    assert any("bench-foreign.json" in e and "not a gilbench results file" in e for e in errors)
    assert any("bench-bad.status.json" in e for e in errors)
    assert any("bench-empty.json" in e for e in errors)
    assert "countdown" in html


def test_hostile_strings_render_as_text_in_the_report(tmp_path):
    results, home = tmp_path / "r", tmp_path / "h"
    proc = driver(results, home, "--workload", HOSTILE + ",countdown", "--workers", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = results / "20260101T000000Z-fault0"
    suite_path = run / "bench-host.json"
    data = json.loads(suite_path.read_text())
    data["metadata"]["hostname"] = "<img src=x onerror=alert(2)>"  # metadata an attacker controls
    suite_path.write_text(json.dumps(data))
    status = json.loads(status_path(run).read_text())
    status["benchmarks"]["countdown[processes,w=2]"].update(status="failed", reason="<script>alert(3)</script>")
    status_path(run).write_text(json.dumps(status))
    reports = tmp_path / "reports"
    assert run_module("harness", "report", str(run), "--reports-dir", str(reports)).returncode == 0
    html_path = reports / run.name / "index.html"
    html = html_path.read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    check = inspect_page(html_path.as_uri())
    assert check.dialogs == [] and check.scripts == 0 and check.images == 0
    text = check.all_text
    assert HOSTILE in text and "<img src=x onerror=alert(2)>" in text and "<script>alert(3)</script>" in text
