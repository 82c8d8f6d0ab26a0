"""Facts about the running interpreter: GIL, free-threading, JIT, build.

Standard library only, and runnable as a plain script (``python _meta.py`` prints
the facts as JSON), so the host's interpreter discovery probes a bare interpreter
with exactly the code the benchmark workers use to fill their metadata.  No
``from __future__`` here: the probe must run, and fail clearly, even on 3.6.
"""

import importlib.util
import json
import os
import platform
import sys
import sysconfig
from typing import Any, Dict

# Written by ``harness provision`` into every interpreter it builds.
BUILD_MARKER = "gilbench-build.json"


def free_threaded_build() -> bool:
    """True for a ``--disable-gil`` CPython build (3.13t, 3.14t)."""
    return sysconfig.get_config_var("Py_GIL_DISABLED") == 1


def gil_enabled() -> bool:
    """Whether the GIL is on *now*: importing a non-free-threading extension can turn it on."""
    probe = getattr(sys, "_is_gil_enabled", None)
    return True if probe is None else bool(probe())


def jit_state() -> str:
    """``on`` or ``off``: PyPy's tracing JIT, or CPython's experimental JIT (3.13+)."""
    if sys.implementation.name == "pypy":
        info = getattr(sys, "pypy_translation_info", {})
        return "on" if info.get("translation.jit", True) else "off"
    jit = getattr(sys, "_jit", None)
    if jit is not None and hasattr(jit, "is_enabled"):
        return "on" if jit.is_enabled() else "off"
    config = sysconfig.get_config_var("CONFIG_ARGS") or ""
    if "--enable-experimental-jit" in config and "yes-off" not in config:
        return "off" if os.environ.get("PYTHON_JIT") == "0" else "on"
    return "off"


def subinterpreters_source() -> str:
    """Where ``concurrent.interpreters`` comes from here: ``standard library`` (3.14+), the
    ``interpreters-pep-734`` backport where it is installed (3.12, 3.13), or "" (none)."""
    try:
        if importlib.util.find_spec("concurrent.interpreters") is not None:
            return "standard library"
        if importlib.util.find_spec("interpreters_backport") is not None:
            return "interpreters-pep-734"
    except (ImportError, ValueError):
        pass
    return ""


def build_facts() -> Dict[str, Any]:
    """How this interpreter was built: configure flags, compiler, PGO/LTO, provenance."""
    config = sysconfig.get_config_var("CONFIG_ARGS") or ""
    facts: Dict[str, Any] = {
        "config_args": config,
        "cc": (sysconfig.get_config_var("CC") or "").split(" ")[0],
        "compiler": platform.python_compiler(),
        "pgo": "--enable-optimizations" in config,
        "lto": "--with-lto" in config,
        "source": "",
        "source_sha256": "",
        "pair_id": "",
    }
    marker = os.path.join(sys.base_prefix, BUILD_MARKER)
    if os.path.exists(marker):
        with open(marker, encoding="utf-8") as fh:
            recorded = json.load(fh)
        facts.update({k: recorded[k] for k in ("source", "source_sha256", "pair_id") if k in recorded})
    return facts


def interpreter_facts() -> Dict[str, Any]:
    """Everything the harness and the report need to know about this interpreter."""
    impl = sys.implementation
    version = ".".join(map(str, sys.version_info[:3]))
    return {
        "implementation": impl.name,
        "implementation_version": ".".join(map(str, impl.version[:3])),
        "version": version,
        "free_threaded_build": free_threaded_build(),
        "gil_enabled": gil_enabled(),
        "python_gil_env": os.environ.get("PYTHON_GIL", ""),
        "jit": jit_state(),
        "subinterpreters": subinterpreters_source(),
        "executable": sys.executable,
        "base_prefix": sys.base_prefix,
        "build": build_facts(),
    }


if __name__ == "__main__":
    json.dump(interpreter_facts(), sys.stdout)
