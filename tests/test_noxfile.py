"""The nox front door works with nox in its own environment, listing sessions runs nothing, and its
session of the portable tests passes on each provisioned matched pair."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys

import pytest
from helpers import TOX_WORK

from harness import interpreters


def _static_factors(root) -> tuple:
    tree = ast.parse((root / "noxfile.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["FACTORS"]:
            return ast.literal_eval(node.value)
    raise AssertionError("noxfile.py has no FACTORS tuple")


def test_tests_sessions_cover_exactly_the_bench_interpreters(root):
    # one tests session per interpreter factor; bench-py313t-gil reuses py313t's interpreter
    expected = tuple(dict.fromkeys(interpreters.env_factor(env) for env in interpreters.BENCH_ENVS))
    assert _static_factors(root) == expected


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def test_nox_lists_sessions_from_outside_the_project(root, tmp_path):
    pytest.importorskip("nox")
    proc = subprocess.run(
        [sys.executable, "-m", "nox", "-l", "-f", str(root / "noxfile.py")],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    for session in ("tests(factor='py39')", "tests(factor='pypy3')", "lint", "docs", "bench", "provision"):
        assert session in proc.stdout


def test_loading_the_noxfile_imports_no_harness_and_runs_no_interpreter(root, tmp_path):
    pytest.importorskip("nox")
    # -I: neither the project root nor PYTHONPATH is on sys.path, as under `pipx install nox`
    code = (
        "import runpy, subprocess, sys\n"
        "def refuse(*args, **kwargs):\n"
        "    raise AssertionError('noxfile.py started a process at import: %r' % (args,))\n"
        "subprocess.Popen = refuse\n"
        "runpy.run_path(sys.argv[1])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'harness'))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", code, str(root / "noxfile.py")],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.slow
@pytest.mark.parametrize("half", ["", "t"], ids=["default", "free-threaded"])
def test_the_portable_tests_pass_on_both_halves_of_each_pair(pair, half, root):
    """nox's own session runs tests/portable in a venv of the provisioned interpreter: every
    mode's unit tests on 3.14 and 3.14t (and 3.13.5, 3.13.5t where CI built that pair)."""
    pytest.importorskip("nox")
    session = "tests(factor='%s%s')" % (pair.factor, half)
    cmd = [
        sys.executable,
        "-m",
        "nox",
        "-f",
        str(root / "noxfile.py"),
        "--envdir",
        str(TOX_WORK / "nox"),
        "-s",
        session,
    ]
    proc = subprocess.run(cmd, cwd=root, env=_env(), capture_output=True, text=True, timeout=1200)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert re.search(r"\d+ passed", out) and "Session %s was successful" % session in out, out[-4000:]
