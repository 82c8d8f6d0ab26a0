"""Discover: every Python interpreter on this machine, and which bench env each serves.

Looked for, in order of preference: interpreters built by ``harness provision``,
uv-managed Pythons, pyenv's versions directory, then PATH.  Each candidate is
probed by running ``workloads/_meta.py`` in it (the same code the benchmark workers
use for their metadata); probes are cached by path, size and mtime.

This module is imported by ``toxfile.py`` inside tox itself, so it stays light:
standard library only, Python 3.9+.
"""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from workloads import host
from workloads.host import BUILD_MARKER

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "workloads" / "_meta.py"

# The tox bench envs (tox.ini lists the same names; a test keeps them in step).
# ``-gil`` variants run a free-threaded build with PYTHON_GIL=1.
BENCH_FACTORS = (
    "py39",
    "py310",
    "py311",
    "py312",
    "py313",
    "py313t",
    "py313t-gil",
    "py314",
    "py314t",
    "py314t-gil",
    "py315",
    "py315t",
    "py315t-gil",
    "pypy3",
)
BENCH_ENVS = tuple("bench-" + f for f in BENCH_FACTORS)
SOURCES = ("override", "provisioned", "uv", "pyenv", "PATH")
# ``GILBENCH_PYTHON_<FACTOR>``: every factor starts with "py" (py313t, pypy3), which keeps
# other settings out, such as harness.provision's GILBENCH_PYTHON_ORG_URL.
OVERRIDE_PREFIX = "GILBENCH_PYTHON_PY"
MIN_VERSION = (3, 9)
PROBE_TIMEOUT = 30.0


@dataclass
class Interpreter:
    """One probed interpreter."""

    path: str
    source: str
    implementation: str = ""
    version: str = ""
    free_threaded_build: bool = False
    gil_enabled: bool = True
    jit: str = "off"
    build: Dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def version_tuple(self) -> Tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", self.version)[:3])

    @property
    def factor(self) -> Optional[str]:
        """The tox factor this interpreter serves (``py313t``, ``pypy3``), if any."""
        if self.error or self.version_tuple[:2] < MIN_VERSION:
            return None
        major, minor = self.version_tuple[:2]
        if self.implementation == "pypy":
            return "pypy%d" % major
        if self.implementation == "cpython":
            return "py%d%d%s" % (major, minor, "t" if self.free_threaded_build else "")
        return None

    @property
    def matched_pair(self) -> bool:
        return bool(self.build.get("pair_id"))


def gilbench_home() -> Path:
    """The per-user cache (``$GILBENCH_HOME``): one definition, ``workloads.host.gilbench_home``."""
    return Path(host.gilbench_home())


def provisioned_root() -> Path:
    """Where ``harness provision`` installs interpreters (``$GILBENCH_PYTHONS`` overrides)."""
    return Path(os.environ.get("GILBENCH_PYTHONS") or gilbench_home() / "pythons")


def _uv_root() -> Path:
    if os.environ.get("UV_PYTHON_INSTALL_DIR"):
        return Path(os.environ["UV_PYTHON_INSTALL_DIR"])
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "uv" / "python"


def _pyenv_root() -> Path:
    return Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


_EXE = re.compile(r"^(python3(\.\d+t?)?|pypy3(\.\d+)?)$")


def _executables(folder: Path) -> List[Path]:
    """Interpreter executables in a ``bin`` folder: ``python3.13t`` before ``python3``."""
    found = [Path(p) for p in glob.glob(str(folder / "*")) if _EXE.match(os.path.basename(p))]
    return sorted((p for p in found if os.access(p, os.X_OK)), key=lambda p: (-len(p.name), p.name))


def candidates() -> List[Tuple[str, Path]]:
    """(source, executable) pairs, best source first; one executable per install."""
    found: List[Tuple[str, Path]] = [
        ("override", Path(path)) for name, path in sorted(os.environ.items()) if name.startswith(OVERRIDE_PREFIX)
    ]
    root = provisioned_root()
    for prefix in sorted(root.glob("*")):
        # a build killed half-way has no marker and is never used
        if (prefix / BUILD_MARKER).exists():
            found += [("provisioned", exe) for exe in _executables(prefix / "bin")[:1]]
    for prefix in sorted(_uv_root().glob("*")):
        found += [("uv", exe) for exe in _executables(prefix / "bin")[:1]]
    for prefix in sorted(_pyenv_root().joinpath("versions").glob("*")):
        found += [("pyenv", exe) for exe in _executables(prefix / "bin")[:1]]
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if folder and ".pyenv/shims" not in folder and "/.tox/" not in folder:
            found += [("PATH", exe) for exe in _executables(Path(folder))]
    return found


def _cache_path() -> Path:
    return gilbench_home() / "interpreters-cache.json"


def _load_cache() -> Dict[str, Any]:
    try:
        return json.loads(_cache_path().read_text())
    except (OSError, ValueError):
        return {}


def _save_cache(cache: Dict[str, Any]) -> None:
    path = _cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp%d" % os.getpid())
        tmp.write_text(json.dumps(cache, indent=1))
        os.replace(tmp, path)
    except OSError:
        pass  # a cache we cannot write only costs a re-probe


def probe(exe: Path, cache: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Run the metadata probe in ``exe``; cached by real path, size and mtime.

    The key also holds the mtime of a provisioning marker beside ``bin/``: a prefix
    re-marked or replaced by the same files (a uv reinstall keeps their mtimes) is
    probed again, so its build facts are never stale.
    """
    real = os.path.realpath(exe)
    try:
        stat = os.stat(real)
    except OSError as exc:  # an override naming no file: a row saying so, not a traceback
        return {"error": "cannot run %s: %s" % (exe, exc.strerror)}
    marker = Path(real).parent.parent / BUILD_MARKER
    marked = marker.stat().st_mtime_ns if marker.exists() else 0
    key = "%s|%d|%d|%s|%d" % (real, stat.st_size, stat.st_mtime_ns, PROBE.stat().st_mtime_ns, marked)
    if cache is not None and key in cache:
        return cache[key]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    try:
        out = subprocess.run(
            [str(exe), "-I", str(PROBE)], capture_output=True, text=True, timeout=PROBE_TIMEOUT, env=env
        )
        facts = json.loads(out.stdout) if out.returncode == 0 else {"error": out.stderr.strip()[-300:]}
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        facts = {"error": "probe failed: %s" % exc}
    if cache is not None and "error" not in facts:
        cache[key] = facts
    return facts


def discover() -> List[Interpreter]:
    """Every interpreter found, each real executable once, best source first."""
    cache = _load_cache()
    seen: set = set()
    result: List[Interpreter] = []
    for source, exe in candidates():
        real = os.path.realpath(exe)
        if real in seen:
            continue
        seen.add(real)
        facts = probe(exe, cache)
        interp = Interpreter(path=str(exe), source=source)
        if "error" in facts:
            interp.error = facts["error"] or "probe failed"
        else:
            parsed = host.InterpreterFacts.from_json(facts)
            for name in ("implementation", "version", "free_threaded_build", "gil_enabled", "jit"):
                setattr(interp, name, getattr(parsed, name))
            interp.build = asdict(parsed.build)
        result.append(interp)
    _save_cache(cache)
    return result


def _preference(interp: Interpreter) -> Tuple[int, int, Tuple[int, ...], int]:
    """User overrides, then matched provisioned pairs, then the newest version, then the best source."""
    return (
        0 if interp.source == "override" else 1,
        0 if interp.matched_pair else 1,
        tuple(-v for v in interp.version_tuple),
        SOURCES.index(interp.source),
    )


def env_factor(env: str) -> str:
    """``bench-py313t-gil`` -> ``py313t``: the interpreter factor of a bench env."""
    return env[len("bench-") :].split("-")[0] if env.startswith("bench-") else env


def assign(interpreters: Iterable[Interpreter]) -> Dict[str, Interpreter]:
    """Pick one interpreter per factor (``py313t``, ``pypy3``, ...).

    ``GILBENCH_PYTHON_PY313T=/path/python3.13t`` puts that interpreter first for
    its factor; it still has to probe as the right kind of Python.
    """
    chosen: Dict[str, Interpreter] = {}
    for interp in sorted(interpreters, key=_preference):
        factor = interp.factor
        if factor and factor not in chosen:
            chosen[factor] = interp
    return chosen


def resolve_env(env: str, interpreters: Optional[List[Interpreter]] = None) -> Optional[Interpreter]:
    """The interpreter a bench env runs on, or None when this machine has none."""
    return assign(interpreters if interpreters is not None else discover()).get(env_factor(env))


_PKG_ENV = re.compile(r"^\.pkg-(cpython|pypy)(\d)(\d+)(t?)$")


def resolve_pkg_env(env: str, interpreters: Optional[List[Interpreter]] = None) -> Optional[Interpreter]:
    """The interpreter for tox's per-interpreter wheel build env, e.g. ``.pkg-cpython313t``.

    tox names these after the run env's interpreter and then looks that spec up on
    PATH; pointing them at the same discovered interpreter keeps builds and runs
    on one executable.
    """
    match = _PKG_ENV.match(env)
    if not match:
        return None
    impl, major, minor, threaded = match.groups()
    for interp in sorted(interpreters if interpreters is not None else discover(), key=_preference):
        if (
            not interp.error
            and interp.implementation == impl
            and interp.version_tuple[:2] == (int(major), int(minor))
            and interp.free_threaded_build == bool(threaded)
        ):
            return interp
    return None


def bench_plan(interpreters: Optional[List[Interpreter]] = None) -> List[Tuple[str, Optional[Interpreter], str]]:
    """(env, interpreter or None, reason when missing) for every bench env."""
    interpreters = interpreters if interpreters is not None else discover()
    plan = []
    for env in BENCH_ENVS:
        interp = resolve_env(env, interpreters)
        reason = "" if interp else "no %s interpreter found (%s)" % (env_factor(env), _how_to_get(env_factor(env)))
        plan.append((env, interp, reason))
    return plan


def _how_to_get(factor: str) -> str:
    if factor.startswith("pypy"):
        return "install Debian's pypy3 and pypy3-dev, or `uv python install pypy@3.10`"
    match = re.match(r"py3(\d+)(t?)", factor)
    minor, threaded = match.groups() if match else ("?", "")
    # X.Y builds the newest pinned release; an unpinned one takes X.Y.Z --sha256 (docs/interpreters.md)
    if threaded:
        return "`tox -e provision -- cpython 3.%s --pair`, or `uv python install 3.%st`" % (minor, minor)
    return "`tox -e provision -- cpython 3.%s`, pyenv, or `uv python install 3.%s`" % (minor, minor)


def table(interpreters: List[Interpreter]) -> List[Dict[str, str]]:
    """Rows for ``harness interpreters``: every interpreter found, chosen ones marked."""
    chosen = {id(i): f for f, i in assign(interpreters).items()}
    rows = []
    for interp in sorted(interpreters, key=lambda i: (i.factor is None, i.implementation, i.version_tuple, i.path)):
        factor = chosen.get(id(interp))
        envs = [e for e in BENCH_ENVS if factor and env_factor(e) == factor]  # py313t serves bench-py313t-gil too
        rows.append(
            {
                "env": ", ".join(envs) or "-",
                "implementation": interp.implementation or "?",
                "version": interp.version or "?",
                "free-threaded": _yes(interp.free_threaded_build) if not interp.error else "?",
                "GIL at runtime": ("on" if interp.gil_enabled else "off") if not interp.error else "?",
                "JIT": interp.jit if not interp.error else "?",
                "source": interp.source,
                "path": interp.path,
                "note": interp.error or _note(interp, factor),
            }
        )
    return rows


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _note(interp: Interpreter, factor: Optional[str]) -> str:
    if interp.version_tuple[:2] < MIN_VERSION:
        return "older than 3.9: not benchmarked"
    if interp.matched_pair:
        return "matched pair %s" % interp.build["pair_id"]
    if not factor:
        return "shadowed by a preferred %s" % interp.factor
    return ""


def as_json(interpreters: List[Interpreter]) -> str:
    return json.dumps([asdict(i) for i in interpreters], indent=1)
