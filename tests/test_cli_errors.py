"""Bad input: one line naming the argument or file, exit status 2, never a traceback."""

from __future__ import annotations

import shutil

import pytest
from helpers import assert_one_line_error, run_module


@pytest.mark.parametrize(
    "args,needles",
    [
        (["bench-all", "--env", "bench-py27"], ["unknown env 'bench-py27'", "bench-py313t"]),
        (["bench-all", "--profile", "turbo"], ["unknown profile 'turbo'", "smoke"]),
        (["bench-all", "--workload", "nope"], ["unknown workload 'nope'", "countdown"]),
        (["bench-all", "--suite", "nope"], ["unknown suite 'nope'", "scaling"]),
        (["bench-all", "--resume", "19990101T000000Z-none00"], ["--resume 19990101T000000Z-none00"]),
        (["bench-all", "--budget", "soon"], ["--budget 'soon'", "45m"]),
        (["bench-all", "--precision", "150"], ["--precision 150"]),
        (["bench-all", "--max-rounds", "1"], ["--max-rounds 1", "at least 3 rounds"]),
        (["bench-all", "--workloads", "nowhere/mine.py"], ["--workloads nowhere/mine.py", "no such .py file"]),
        (["bench-all", "--workers", "two"], ["--workers", "comma-separated integers"]),
        (["report", "does/not/exist"], ["does/not/exist"]),
        (["machines", "does/not/exist"], ["does/not/exist"]),
        (["bench-all", "--pyperformance", "nope"], ["unknown pyperformance benchmark 'nope'", "nbody, spectral_norm"]),
        (["bench-all", "--pyperformance", "nbody,mdp"], ["'mdp' is not in gilbench's subset: too slow", "richards"]),
    ],
)
def test_harness_rejects_bad_arguments(args, needles, gilbench_home):
    proc = run_module("harness", *args, env={"GILBENCH_HOME": str(gilbench_home)})
    assert_one_line_error(proc, *needles)


@pytest.mark.parametrize(
    "args,needles",
    [
        (["--profile", "turbo"], ["unknown profile 'turbo'", "rigorous"]),
        (["--workload", "nope"], ["unknown workload 'nope'", "countdown"]),
        (["--suite", "scaling,nope"], ["unknown suite 'nope'", "cpu", "scaling"]),
        (["--mode", "fibers"], ["unknown mode 'fibers'", "threads"]),
        (["--workers", "two"], ["--workers"]),
    ],
)
def test_workloads_driver_rejects_bad_arguments(args, needles, gilbench_home, tmp_path):
    proc = run_module("workloads", *args, "--results-dir", str(tmp_path), env={"GILBENCH_HOME": str(gilbench_home)})
    assert_one_line_error(proc, *needles)


def test_profile_from_environment_is_validated_too(gilbench_home, tmp_path):
    proc = run_module(
        "workloads",
        "--results-dir",
        str(tmp_path),
        env={"GILBENCH_HOME": str(gilbench_home), "GILBENCH_PROFILE": "turbo"},
    )
    assert_one_line_error(proc, "unknown profile 'turbo'")


@pytest.mark.parametrize("command", ["report", "machines"])
def test_report_of_an_empty_folder(tmp_path, command):
    proc = run_module("harness", command, str(tmp_path), "--reports-dir", str(tmp_path / "reports"))
    assert_one_line_error(proc, str(tmp_path), "no results")


def test_report_names_a_broken_file_and_still_renders_the_rest(smoke_run, tmp_path):
    run = tmp_path / smoke_run.name
    shutil.copytree(smoke_run, run)
    broken = run / "bench-broken.json"
    broken.write_text((run / "bench-host.json").read_text()[:200])  # a truncated write
    proc = run_module("harness", "report", str(run), "--reports-dir", str(tmp_path / "reports"))
    assert_one_line_error(proc, str(broken))
    assert (tmp_path / "reports" / run.name / "index.html").exists()
