"""Bench env interpreters driven directly, outside bench-all: what the validation checks
and the self-measurement tools (``validation/``, ``tools/``) share.

A *target* is a bench env's interpreter (gilbench installed in it) with a label and extra
environment variables, given on their command lines as ``LABEL=PYTHON[,KEY=VALUE...]``;
``prepare`` gets its calibrated plan from its own driver, and ``run_block`` runs one
benchmark process exactly as bench-all does and reads its values back.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence

from workloads.host import BenchSpec, worker_environ


@dataclass
class Target:
    """A bench env's interpreter (gilbench installed in it), its label and extra environment."""

    label: str
    python: str
    env: Dict[str, str] = field(default_factory=dict)

    @property
    def environ(self) -> Dict[str, str]:
        """What a benchmark process of this target runs with: bench-all's worker environment."""
        base = {k: v for k, v in worker_environ().items() if k != "PYTHON_GIL"}
        return dict(base, **self.env)


@dataclass
class Prepared:
    """A target's plan: its benchmarks, the warm-ups its profile gives it, whether it has a JIT."""

    specs: List[BenchSpec]
    warmups: int
    jit: bool


def parse_target(text: str) -> Target:
    """``LABEL=PYTHON[,KEY=VALUE...]`` -> Target (PYTHON made absolute, not resolved: a venv's
    python must stay one); ValueError naming the malformed part."""
    head, *extra = text.split(",")
    label, sep, python = head.partition("=")
    if not sep or not label or not python:
        raise ValueError("--target %r: expected LABEL=PYTHON[,KEY=VALUE...]" % text)
    env = {}
    for item in extra:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError("--target %r: %r is not KEY=VALUE" % (text, item))
        env[key] = value
    return Target(label, os.path.abspath(python), env)


def prepare(
    target: Target,
    workloads: Sequence[str],
    workers: str,
    profile: str,
    folder: Path,
    layout: str = "blocks",
    suites: Sequence[str] = (),
) -> Prepared:
    """The target's plan for ``workloads`` and the families ``suites``, calibrated by its own
    driver (``--prepare``, exactly as bench-all prepares an env): the benchmarks it can run,
    with their sizes."""
    cmd = [
        target.python,
        "-m",
        "workloads",
        "--prepare",
        "--no-timeline",
        "--profile",
        profile,
        "--workers",
        workers,
        "--results-dir",
        str(folder),
        "--run-id",
        "tool",
        "--env",
        target.label,
        "--layout",
        layout,
    ]
    cmd += [x for w in workloads for x in ("--workload", w)]
    cmd += [x for name in suites for x in ("--suite", name)]
    proc = subprocess.run(
        cmd, cwd=tempfile.gettempdir(), env=dict(os.environ, **target.env), capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError("%s: preparing failed\n%s" % (target.label, (proc.stdout + proc.stderr)[-2000:]))
    status = json.loads((folder / "tool" / "meta" / (target.label + ".status.json")).read_text())
    specs = [s for s in map(BenchSpec.from_json, status["plan"]) if not s.unavailable]
    return Prepared(specs, int(status["warmups"]), status["interpreter"].get("jit") == "on")


def run_block(target: Target, specs: Sequence[BenchSpec], command: List[str], part: str) -> Dict[str, dict]:
    """Run one benchmark process (``command``, from ``workloads.host.worker_command``) and
    read its pyperf file back: benchmark name -> {"values": [...], "warmups": [...], "wall": s}."""
    started = time.monotonic()
    proc = subprocess.run(
        command, cwd=os.path.dirname(part), env=target.environ, capture_output=True, text=True, check=False
    )
    wall = time.monotonic() - started
    if proc.returncode != 0 or not os.path.exists(part):
        raise RuntimeError(
            "%s: benchmark process exited %d\n%s" % (target.label, proc.returncode, (proc.stdout + proc.stderr)[-2000:])
        )
    with open(part, encoding="utf-8") as fh:
        suite = json.load(fh)
    os.unlink(part)
    out = {}
    for bench in suite["benchmarks"]:
        run = bench["runs"][0]
        name = bench.get("metadata", {}).get("name") or run["metadata"]["name"]
        out[name] = {"values": run["values"], "warmups": [w[1] for w in run.get("warmups", [])], "wall": wall}
    return out
