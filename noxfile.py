"""nox front door, for those who prefer it to tox.

It shares code with tox instead of repeating it: interpreters come from
``harness.interpreters`` (the same discovery the tox bench envs use), and the
``bench`` session runs the same ``python -m harness bench-all``, which drives the
tox bench envs one after another.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

# nox usually lives in its own environment (`pipx install nox`), where this source tree
# is not importable, and `nox -l` should run nothing.  So nothing here imports `harness`
# or probes an interpreter at import time: sessions are declared statically, and
# `harness` is imported from ROOT inside the sessions that need it.
ROOT = Path(__file__).resolve().parent

nox.options.sessions = ["tests", "lint"]
nox.options.default_venv_backend = "venv"

# The interpreter factors of the tox bench envs (``harness.interpreters.BENCH_FACTORS``
# without the ``-gil`` variants, which reuse the free-threaded interpreter).  Static so
# that listing sessions runs nothing; tests/test_noxfile.py keeps it in step.
FACTORS = ("py39", "py310", "py311", "py312", "py313", "py313t", "py314", "py314t", "py315", "py315t", "pypy3")


def _interpreters():
    """``harness.interpreters``, imported from this source tree whatever environment runs nox."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from harness import interpreters

    return interpreters


BACKPORT = (
    "interpreters-pep-734; platform_python_implementation == 'CPython' "
    "and python_version >= '3.12' and python_version < '3.14'"
)


_FOUND: dict = {}


def _found() -> dict:
    """factor -> Interpreter for this machine, probed once per nox run (probes are cached on disk too)."""
    if not _FOUND:
        interpreters = _interpreters()
        _FOUND.update(interpreters.assign(interpreters.discover()))
    return _FOUND


def _host(found: dict) -> str:
    """The interpreter that runs the whole suite: 3.11 if found, else the newest default-build CPython."""
    if "py311" in found:
        return "py311"
    default_builds = [f for f, i in found.items() if i.implementation == "cpython" and not i.free_threaded_build]
    return max(default_builds, key=lambda f: found[f].version_tuple, default="py311")


@nox.session(python=False)
@nox.parametrize("factor", FACTORS)
def tests(session: nox.Session, factor: str) -> None:
    """The portable tests on every interpreter found; the whole suite on the host interpreter."""
    found = _found()
    if factor not in found:
        reasons = {env: reason for env, _, reason in _interpreters().bench_plan(list(found.values()))}
        session.skip(reasons.get("bench-" + factor) or "no %s interpreter found" % factor)
    host = factor == _host(found)
    venv = session.cache_dir / ("venv-" + factor)
    python = str(venv / "bin" / "python")
    if not (venv / "bin" / "python").exists():
        session.run(found[factor].path, "-m", "venv", str(venv), external=True)
    extras = ".[test]" if host else "."
    session.run(python, "-m", "pip", "install", "--quiet", extras, "pytest", external=True)
    # as the bench envs do (tox.ini): the PEP 734 backport gives 3.12 and 3.13 the
    # interpreters mode, where a wheel installs; 3.14 has it in its standard library
    session.run(
        python, "-m", "pip", "install", "--quiet", "--only-binary=:all:", BACKPORT, external=True, success_codes=[0, 1]
    )
    target = [] if host else ["tests/portable"]
    session.run(python, "-m", "pytest", *target, *session.posargs, external=True)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def docs(session: nox.Session) -> None:
    session.install(".[docs]")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


@nox.session
def bench(session: nox.Session) -> None:
    """Same as `tox -e bench-all`: e.g. `nox -s bench -- --profile fast`."""
    session.install(".[report]", "tox>=4.26")
    session.run("python", "-m", "harness", "bench-all", *session.posargs)


@nox.session
def provision(session: nox.Session) -> None:
    """Same as `tox -e provision`: e.g. `nox -s provision -- cpython 3.13.5 --pair`."""
    # filelock, not gilbench; `-m` finds the source tree because nox runs sessions from ROOT
    session.install("filelock>=3.12")
    session.run("python", "-m", "harness", "provision", *session.posargs)
