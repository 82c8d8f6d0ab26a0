"""Discovery on this machine: pyenv's CPythons, Debian's PyPy, provisioned builds, and (faked)
a CPython this machine does not have."""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
from helpers import PAIRS, run_module

from harness import interpreters
from workloads.host import BUILD_MARKER


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


@pytest.mark.parametrize("minor", PAIRS)
def test_free_threaded_builds_are_told_apart(minor):
    factor = "py%st" % minor.replace(".", "")
    found = interpreters.assign(interpreters.discover())
    if factor not in found:
        pytest.skip("no free-threaded %s here (`tox -e tests` provisions 3.14's, CI 3.13's too)" % minor)
    ft = found[factor]
    assert ft.free_threaded_build and not ft.gil_enabled
    assert interpreters.resolve_env("bench-%s-gil" % factor).path == ft.path


def fake_python(prefix: Path, version: str, threaded: bool, pair_id: str) -> Path:
    """A provisioned-looking prefix whose ``bin/python3.Y[t]`` answers the probe as that CPython would:
    for a release this machine does not have (3.15), discovery and the tox plugin must still serve it."""
    facts = json.loads(
        subprocess.run([sys.executable, "-I", str(interpreters.PROBE)], capture_output=True, check=True).stdout
    )
    facts.update(
        version=version, implementation_version=version, free_threaded_build=threaded, gil_enabled=not threaded
    )
    facts["build"].update(source="apt-mirror", pair_id=pair_id)
    minor = version.rsplit(".", 1)[0]
    exe = prefix / "bin" / ("python%s%s" % (minor, "t" if threaded else ""))
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\ncat <<'EOF'\n%s\nEOF\n" % json.dumps(facts))
    exe.chmod(0o755)
    (prefix / BUILD_MARKER).write_text(json.dumps({"version": version, "free_threaded": threaded, "pair_id": pair_id}))
    return exe


@pytest.fixture
def python315(tmp_path, monkeypatch) -> dict:
    """A fake matched 3.15.0 pair in an otherwise empty provisioned folder."""
    root = tmp_path / "pythons"
    made = {
        factor: fake_python(root / ("cpython-3.15.0" + suffix), "3.15.0", bool(suffix), "cpython-3.15.0-fake")
        for factor, suffix in (("py315", ""), ("py315t", "t"))
    }
    monkeypatch.setenv("GILBENCH_PYTHONS", str(root))
    monkeypatch.setenv("GILBENCH_HOME", str(tmp_path / "home"))  # its own probe cache
    return made


def test_a_315_pair_is_discovered_and_serves_its_envs(python315):
    found = interpreters.discover()
    for env, factor in (("bench-py315", "py315"), ("bench-py315t", "py315t"), ("bench-py315t-gil", "py315t")):
        interp = interpreters.resolve_env(env, found)
        assert interp is not None and interp.path == str(python315[factor]), env
        assert interp.source == "provisioned" and interp.matched_pair and interp.version == "3.15.0"
    assert interpreters.resolve_pkg_env(".pkg-cpython315t", found).path == str(python315["py315t"])
    plan = {env: interp for env, interp, _ in interpreters.bench_plan(found)}
    assert plan["bench-py315t"].free_threaded_build and not plan["bench-py315t"].gil_enabled


def test_the_tox_plugin_points_the_315_envs_at_them(python315):
    """``toxfile.py``'s hook gives each bench-py315* env, and the wheel build env of 3.15t, the
    interpreter discovered.  Called directly: real tox would also start the interpreter,
    which a fake 3.15 cannot stand in for."""
    toxfile = pytest.importorskip("toxfile")
    toxfile._interpreters.cache_clear()  # discovery of this test's folder, not the session's
    try:
        for env, factor in (
            ("bench-py315", "py315"),
            ("bench-py315t", "py315t"),
            ("bench-py315t-gil", "py315t"),
            (".pkg-cpython315t", "py315t"),
        ):
            conf = types.SimpleNamespace(name=env, loaders=[])
            toxfile.tox_add_env_config(conf, None)
            assert [loader.raw for loader in conf.loaders] == [{"base_python": [str(python315[factor])]}], env
    finally:
        toxfile._interpreters.cache_clear()


def test_override_pins_an_interpreter(monkeypatch):
    pypy = shutil.which("pypy3")
    if not pypy:
        pytest.skip("no pypy3")
    monkeypatch.setenv("GILBENCH_PYTHON_PYPY3", pypy)
    assert interpreters.resolve_env("bench-pypy3").source == "override"


def test_only_factor_named_overrides_are_interpreters(monkeypatch):
    """GILBENCH_PYTHON_ORG_URL (a provisioning setting) is no interpreter, and an override
    naming no file is a row with the reason, not a crash."""
    monkeypatch.setenv("GILBENCH_PYTHON_ORG_URL", "http://127.0.0.1:9/ftp/python")
    monkeypatch.setenv("GILBENCH_PYTHON_PY399", "/no/such/python3.99")
    found = interpreters.discover()
    assert not any("ftp" in interp.path for interp in found)
    (missing,) = [interp for interp in found if interp.path == "/no/such/python3.99"]
    assert missing.source == "override" and "No such file" in missing.error


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
