"""Shared fixtures: the project root, a CLI runner, and a real smoke run.

These tests run real interpreters and real pyperf processes; nothing is mocked.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_module(module: str, *args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 600):
    """Run ``python -m module args`` in a fresh process; return the CompletedProcess.

    The default working directory is neutral, so the *installed* package (with its
    compiled extension) is imported rather than the source tree.
    """
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd or tempfile.gettempdir(),
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit status 2, one 'error:' line naming what was wrong, and no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def gilbench_home(tmp_path_factory) -> Path:
    """An isolated lock/cache folder so tests never contend with a real run."""
    return tmp_path_factory.mktemp("gilbench-home")


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, gilbench_home) -> Path:
    """A real smoke run of countdown on this interpreter: results/<run-id>/ folder."""
    results = tmp_path_factory.mktemp("results")
    proc = run_module(
        "workloads", "--profile", "smoke", "--workload", "countdown", "--workers", "1,2",
        "--run-id", "20260101T000000Z-test00", "--env", "bench-host", "--results-dir", str(results),
        env={"GILBENCH_HOME": str(gilbench_home)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return results / "20260101T000000Z-test00"
