"""End to end through tox: discovery, the in-tree tox plugin, nested bench envs, the report.

Real interpreters (pyenv's CPython 3.9, Debian's PyPy, a free-threaded build where
one is provisioned), real pyperf runs at the smoke profile.  The tox work dir is
kept under ~/.cache/gilbench so CI reuses the environments between runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyperf
import pytest

from harness import interpreters

pytestmark = pytest.mark.slow
TOX_WORK = Path(interpreters.gilbench_home()) / "tox-tests"


@pytest.fixture(scope="module")
def bench_all(root, tmp_path_factory):
    found = interpreters.assign(interpreters.discover())
    envs = [e for e in ("bench-py39", "bench-pypy3", "bench-py313t") if interpreters.env_factor(e) in found]
    if len(envs) < 2:
        pytest.skip("needs at least two of CPython 3.9, PyPy, 3.13t on this machine")
    out = tmp_path_factory.mktemp("bench-all")
    cmd = [sys.executable, "-m", "tox", "run", "-c", str(root / "tox.ini"), "--workdir", str(TOX_WORK),
           "-e", "bench-all", "--", "--profile", "smoke", "--env", ",".join(envs + ["bench-py314"]),
           "--workload", "countdown", "--workers", "1,2",
           "--results-dir", str(out / "results"), "--reports-dir", str(out / "reports")]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOX_")}
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    (run_dir,) = (out / "results").iterdir()
    return envs, run_dir, proc.stdout, out


def test_every_found_env_ran_and_missing_ones_were_skipped(bench_all):
    envs, run_dir, stdout, _ = bench_all
    manifest = json.loads((run_dir / "run.json").read_text())
    for env in envs:
        assert manifest["envs"][env]["status"] == "ok"
        assert (run_dir / (env + ".json")).exists()
    if "py314" not in interpreters.assign(interpreters.discover()):
        assert manifest["envs"]["bench-py314"]["status"] == "skipped"
        assert "skip bench-py314" in stdout


def test_one_run_id_for_all_envs_and_progress_shown(bench_all):
    envs, run_dir, stdout, _ = bench_all
    for env in envs:
        for bench in pyperf.BenchmarkSuite.load(str(run_dir / (env + ".json"))).get_benchmarks():
            assert bench.get_metadata()["run_id"] == run_dir.name
    assert "[env 1/%d]" % len(envs) in stdout
    assert "[%s env 1/%d]" % (envs[0], len(envs)) in stdout


def test_report_path_is_printed(bench_all):
    _, run_dir, stdout, out = bench_all
    report = out / "reports" / run_dir.name / "index.html"
    assert report.exists()
    assert "report: %s" % report in stdout
    assert (run_dir / "summary.csv").exists()


def test_free_threaded_env_really_runs_without_the_gil(bench_all):
    envs, run_dir, _, _ = bench_all
    if "bench-py313t" not in envs:
        pytest.skip("no free-threaded build here (CI provisions one)")
    suite = pyperf.BenchmarkSuite.load(str(run_dir / "bench-py313t.json"))
    for bench in suite.get_benchmarks():
        meta = bench.get_metadata()
        assert meta["free_threaded_build"] == "True"
        assert meta["gil_enabled"] == "False", bench.get_name()
