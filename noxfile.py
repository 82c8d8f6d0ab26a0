"""nox front door, for those who prefer it to tox.

It shares code with tox instead of repeating it: interpreters come from
``harness.interpreters`` (the same discovery the tox bench envs use), and the
``bench`` session runs the same ``python -m harness bench-all``, which drives the
tox bench envs one after another.
"""

from __future__ import annotations

import sys

import nox

from harness.interpreters import assign, discover

nox.options.sessions = ["tests", "lint"]
nox.options.default_venv_backend = "venv"

# One tests session per interpreter found, free-threaded builds and PyPy included.
_FOUND = assign(discover())
HOST = "py311" if "py311" in _FOUND else max((f for f in _FOUND if not f.endswith("t")), default="py311")


@nox.session(python=False)
@nox.parametrize("factor", sorted(_FOUND))
def tests(session: nox.Session, factor: str) -> None:
    """The portable tests on every interpreter; the whole suite on the host interpreter."""
    venv = session.cache_dir / ("venv-" + factor)
    python = str(venv / "bin" / "python")
    if not (venv / "bin" / "python").exists():
        session.run(_FOUND[factor].path, "-m", "venv", str(venv), external=True)
    extras = ".[test]" if factor == HOST else "."
    session.run(python, "-m", "pip", "install", "--quiet", extras, "pytest", external=True)
    target = [] if factor == HOST else ["tests/portable"]
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


@nox.session(python=False)
def provision(session: nox.Session) -> None:
    """Same as `tox -e provision`: e.g. `nox -s provision -- cpython 3.13.5 --pair`."""
    session.run(sys.executable, "-m", "harness", "provision", *session.posargs, external=True)
