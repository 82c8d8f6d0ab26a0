"""End to end through tox: discovery, the in-tree tox plugin, nested bench envs, the report.

Real interpreters (pyenv's CPython 3.9, Debian's PyPy, a free-threaded build where
one is provisioned), real pyperf runs at the smoke profile.  The tox work dir is
kept under ~/.cache/gilbench so CI reuses the environments between runs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pyperf
import pytest
from helpers import PAIRS, TOX_WORK, provisioned_pair

from harness import interpreters
from workloads import _schema

pytestmark = pytest.mark.slow
USER_WORKLOADS = '''
from workloads import workload


@workload(size=200_000, modes=("serial", "threads"))
def my_sum(n):
    """A user's own loop, declared outside gilbench."""
    return sum(range(n))
'''


TWO = ("nbody", "richards")


def pair_envs(*halves: str) -> list[str]:
    """The bench envs of every provisioned pair of ``PAIRS``: ``""`` the default half,
    ``"t"`` the free-threaded one, ``"t-gil"`` that one with PYTHON_GIL=1."""
    pairs = [provisioned_pair(minor, interpreters.provisioned_root()) for minor in PAIRS]
    return ["bench-%s%s" % (pair.factor, half) for pair in pairs if pair for half in halves]


# Every mode gilbench has, between them: the pure-Python ones and the native loop's.
EVERY_MODE = {
    "countdown": ("serial", "threads", "processes", "interpreters"),
    "native_lcg": ("serial", "threads-nogil", "threads-holding-gil"),
}


def _with_pyperformance(envs: list[str]) -> list[str]:
    """The pair envs whose pyperformance benchmarks the run measures: where pyperformance is
    installed and a matched pair is found (the pyperformance section compares its halves)."""
    pairs = [e for e in pair_envs("", "t") if e in envs]
    return pairs if importlib.util.find_spec("pyperformance") is not None else []


@pytest.fixture(scope="module")
def bench_all(root, tmp_path_factory, gilbench_home):
    """The suite's one bench-all through tox, as a user starts it: CPython 3.9, PyPy and both
    halves of every provisioned matched pair (the free-threaded one also under PYTHON_GIL=1),
    an env without an interpreter, every mode (countdown's and the native loop's), a user's
    own workload file, and two pyperformance benchmarks."""
    found = interpreters.assign(interpreters.discover())
    candidates = ["bench-py39", "bench-pypy3", *pair_envs("", "t", "t-gil")]
    envs = [e for e in candidates if interpreters.env_factor(e) in found]
    if len(envs) < 2:
        pytest.skip("needs at least two of CPython 3.9, PyPy and a provisioned matched pair on this machine")
    missing = [e for e in interpreters.BENCH_ENVS if interpreters.env_factor(e) not in found][:1]
    out = tmp_path_factory.mktemp("bench-all")
    mine = out / "elsewhere" / "my_lib_bench.py"  # a user's workloads, outside the repo and off sys.path
    mine.parent.mkdir()
    mine.write_text(USER_WORKLOADS)
    cmd = [sys.executable, "-m", "tox", "run", "-c", str(root / "tox.ini"), "--workdir", str(TOX_WORK)]
    cmd += ["-e", "bench-all", "--", "--profile", "smoke", "--env", ",".join(envs + missing)]
    cmd += [
        "--workload",
        ",".join([*EVERY_MODE, "my_sum"]),
        "--workloads",
        str(mine),
        "--workers",
        "1,2",
        "--no-provision",
    ]
    cmd += ["--pyperformance", ",".join(TWO)] if _with_pyperformance(envs) else []
    cmd += ["--results-dir", str(out / "results"), "--reports-dir", str(out / "reports")]
    # its own lock: a real run beside the suite must not refuse this one
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TOX_")}, "GILBENCH_HOME": str(gilbench_home)}
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    (run_dir,) = (out / "results").iterdir()
    return envs, run_dir, proc.stdout, out, missing


def test_every_found_env_ran_and_missing_ones_were_skipped(bench_all):
    envs, run_dir, stdout, _, missing = bench_all
    manifest = json.loads((run_dir / "meta" / "run.json").read_text())
    for env in envs:
        assert manifest["envs"][env]["status"] == "ok"
        assert (run_dir / (env + ".json")).exists()
    for env in missing:
        assert manifest["envs"][env]["status"] == "skipped"
        assert "skip %s" % env in stdout


def test_one_run_id_for_all_envs_and_progress_shown(bench_all):
    envs, run_dir, stdout, _, _ = bench_all
    for env in envs:
        for bench in pyperf.BenchmarkSuite.load(str(run_dir / (env + ".json"))).get_benchmarks():
            assert bench.get_metadata()["run_id"] == run_dir.name
    assert "[env 1/%d]" % len(envs) in stdout
    assert "[%s env 1/%d]" % (envs[0], len(envs)) in stdout


def test_report_path_is_printed(bench_all):
    _, run_dir, stdout, out, _ = bench_all
    report = out / "reports" / run_dir.name / "index.html"
    assert report.exists()
    assert "report: %s" % report in stdout
    assert (report.parent / "summary.csv").exists() and (report.parent / "derived.csv").exists()
    assert sorted(p.name for p in run_dir.glob("*.json")) == sorted(e + ".json" for e in bench_all[0])


def _pair_envs_run(envs: list[str], minor: str) -> list[str]:
    """The envs of the ``minor`` pair in this run, or skip."""
    mine = [e for e in envs if interpreters.env_factor(e).rstrip("t") == "py" + minor.replace(".", "")]
    if not mine:
        pytest.skip("no matched CPython %s pair here (`tox -e tests` provisions 3.14's, .ci/run 3.13's too)" % minor)
    return mine


@pytest.mark.parametrize("minor", PAIRS)
def test_free_threaded_env_really_runs_without_the_gil(bench_all, minor):
    envs, run_dir, _, _, _ = bench_all
    (env,) = [e for e in _pair_envs_run(envs, minor) if e.endswith("t")]
    suite = pyperf.BenchmarkSuite.load(str(run_dir / (env + ".json")))
    for bench in suite.get_benchmarks():
        meta = bench.get_metadata()
        typed = _schema.from_pyperf(meta)
        assert typed["free_threaded_build"] is True
        assert typed["gil_enabled"] is False, bench.get_name()


@pytest.mark.parametrize("minor", PAIRS)
def test_every_mode_runs_on_every_env_of_each_pair(bench_all, minor):
    """On both halves of the pair, and with PYTHON_GIL=1: every mode measured, none unavailable
    (subinterpreters from the standard library on 3.14, from the PEP 734 backport on 3.13)."""
    envs, run_dir, _, _, _ = bench_all
    for env in _pair_envs_run(envs, minor):
        status = json.loads((run_dir / "meta" / (env + ".status.json")).read_text())["benchmarks"]
        names = set(pyperf.BenchmarkSuite.load(str(run_dir / (env + ".json"))).get_benchmark_names())
        for workload, modes in EVERY_MODE.items():
            mine = {name: bench for name, bench in status.items() if bench["workload"] == workload}
            assert {bench["status"] for bench in mine.values()} == {"ok"}, (env, mine)
            assert {bench["mode"] for bench in mine.values()} == set(modes), (env, workload)
            assert set(mine) <= names, (env, sorted(set(mine) - names))


def test_pyperf_compare_to_takes_the_whole_run_folder(bench_all):
    envs, run_dir, _, _, _ = bench_all
    cmd = [sys.executable, "-m", "pyperf", "compare_to", *map(str, sorted(run_dir.glob("*.json"))), "--table"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "countdown[serial]" in proc.stdout and envs[1] in proc.stdout


def test_envs_were_measured_in_interleaved_rounds(bench_all):
    """Round r of every env ran before round r+1 of any: the rounds' processes overlap in time."""
    envs, run_dir, stdout, _, _ = bench_all
    assert "measuring %d env(s) in interleaved rounds" % len(envs) in stdout
    manifest = json.loads((run_dir / "meta" / "run.json").read_text())
    assert isinstance(manifest["seed"], int)
    assert [probe["round"] for probe in manifest["noise"]][:1] == [1]  # the machine-noise probe before round 1
    lines = [line for line in stdout.splitlines() if line.startswith("round 1 ")]
    assert {env for env in envs if any(" %s " % env in line for line in lines)} == set(envs)


def test_a_users_workload_file_runs_in_every_env_and_reaches_the_report(bench_all):
    envs, run_dir, _, out, _ = bench_all
    for env in envs:
        names = pyperf.BenchmarkSuite.load(str(run_dir / (env + ".json"))).get_benchmark_names()
        assert {"my_sum[serial]", "my_sum[threads,w=2]"} <= set(names), (env, names)
    html = (out / "reports" / run_dir.name / "index.html").read_text()
    assert "my_sum" in html


@pytest.fixture(scope="module")
def pyperformance_run(bench_all):
    """The run's folder and report, where it measured pyperformance's benchmarks too."""
    envs, run_dir, _, out, _ = bench_all
    if not _with_pyperformance(envs):
        pytest.skip("needs pyperformance (the tests extra installs it) and a matched pair")
    return run_dir, out / "reports" / run_dir.name, _with_pyperformance(envs)


def test_pyperformance_benchmarks_are_in_every_envs_pyperf_file(pyperformance_run):
    run_dir, _, envs = pyperformance_run
    for env in envs:
        suite = pyperf.BenchmarkSuite.load(str(run_dir / (env + ".json")))
        for name in TWO:
            bench = suite.get_benchmark("pyperformance." + name)
            meta = _schema.from_pyperf(bench.get_metadata())
            assert meta["env"] == env and meta["mode"] == "serial" and meta["tags"] == ["pyperformance"]
            assert meta["free_threaded_build"] is env.endswith("t") and meta["peak_rss"] > 1 << 20
            assert bench.get_runs()[0].get_loops() >= 1
    cmd = [sys.executable, "-m", "pyperf", "compare_to", *map(str, sorted(run_dir.glob("*.json"))), "--table"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "pyperformance.nbody" in proc.stdout, proc.stdout + proc.stderr


def test_pyperformance_benchmarks_reach_the_report(pyperformance_run):
    run_dir, reports, envs = pyperformance_run
    summary = (reports / "summary.csv").read_text()
    assert all("pyperformance.%s" % name in summary for name in TWO)
    html = (reports / "index.html").read_text()
    assert "pyperformance: what a build costs one thread" in html
    assert "free-threaded build / default build" in html and "richards" in html
    for env in envs:
        status = json.loads((run_dir / "meta" / (env + ".status.json")).read_text())
        assert {status["benchmarks"]["pyperformance." + n]["status"] for n in TWO} == {"ok"}, env
