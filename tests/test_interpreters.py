"""Discovery on this machine: pyenv's CPythons, Debian's PyPy, provisioned builds."""

from __future__ import annotations

import configparser
import os
import re
import shutil
from pathlib import Path

import pytest
from helpers import run_module

from harness import interpreters


def test_tox_ini_declares_exactly_the_bench_envs_discovery_serves(root):
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(root / "tox.ini")
    sections = [s for s in ini.sections() if s.startswith("testenv:bench-{")]
    assert len(sections) == 1
    factors = re.match(r"testenv:bench-\{(.*)\}", sections[0]).group(1).split(",")
    assert tuple("bench-" + f for f in factors) == interpreters.BENCH_ENVS


def test_finds_pyenv_and_pypy_without_touching_path():
    found = interpreters.assign(interpreters.discover())
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    if not (pyenv_root / "versions").is_dir() or not shutil.which("pypy3"):
        pytest.skip("this machine has no pyenv versions or no pypy3")
    assert {"py39", "py310", "py311", "py312", "py313", "pypy3"} <= set(found)
    assert found["pypy3"].implementation == "pypy" and found["pypy3"].jit == "on"
    assert not found["py312"].free_threaded_build and found["py312"].gil_enabled


def test_free_threaded_builds_are_told_apart():
    found = interpreters.assign(interpreters.discover())
    if "py313t" not in found:
        pytest.skip("no free-threaded 3.13 here (CI provisions one)")
    ft = found["py313t"]
    assert ft.free_threaded_build and not ft.gil_enabled
    assert interpreters.resolve_env("bench-py313t-gil").path == ft.path


def test_override_pins_an_interpreter(monkeypatch):
    pypy = shutil.which("pypy3")
    if not pypy:
        pytest.skip("no pypy3")
    monkeypatch.setenv("GILBENCH_PYTHON_PYPY3", pypy)
    assert interpreters.resolve_env("bench-pypy3").source == "override"


def test_missing_envs_say_how_to_get_them():
    plan = {env: reason for env, interp, reason in interpreters.bench_plan([])}
    assert "tox -e provision -- cpython 3.14" in plan["bench-py314t"]
    assert "pypy3-dev" in plan["bench-pypy3"]


def test_interpreters_command_prints_the_table():
    proc = run_module("harness", "interpreters")
    assert proc.returncode == 0, proc.stderr
    header = proc.stdout.splitlines()[0]
    for column in ("env", "implementation", "version", "free-threaded", "GIL at runtime", "JIT", "path"):
        assert column in header
