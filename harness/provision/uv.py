"""Prebuilt interpreters through ``uv python install`` (``--uv``), marked like our own builds
so discovery treats them alike; their pair id says they came from uv."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from harness.provision.request import ProvisionError, Request
from harness.provision.steps import Progress, clear_prefix, locked, read_marker, run_step, self_check, work_dir
from workloads.host import BUILD_MARKER, atomic_write_json, utc_now


def _uv_targets(request: Request) -> List[Tuple[str, bool]]:
    """(``uv python install`` request, free-threaded) per half."""
    if request.implementation == "pypy":
        return [("pypy@%s" % request.version if request.version else "pypy", False)]
    return [(request.version + ("t" if threaded else ""), threaded) for threaded in request.free_threaded]


def _uv_done(targets: List[Tuple[str, bool]], root: Path, progress: Progress) -> Optional[List[Path]]:
    """The prefixes uv already filled for these requests (found by the request in their marker), or None."""
    installed = {}
    for prefix in root.glob("*"):
        marker = read_marker(prefix)
        if marker and marker.get("source") == "uv":
            installed[marker.get("request", "")] = prefix
    if not all(target in installed for target, _ in targets):
        return None
    for target, _ in targets:
        progress.say("uv " + target, "already provisioned: %s" % installed[target])
    return [installed[target] for target, _ in targets]


def provision_uv(request: Request, root: Path, progress: Progress) -> List[Path]:
    """``uv python install`` into a scratch folder, moved under ``root`` and marked like our builds.

    uv's builds are relocatable, so unlike a source build the prefix may move.
    """
    targets = _uv_targets(request)
    done = _uv_done(targets, root, progress)
    if done is not None:
        return done
    uv = shutil.which("uv")
    if not uv:
        raise ProvisionError(
            "--uv: uv is not on PATH; install it (`python3 -m pip install uv`), or drop --uv to build from source"
        )
    with locked(root, ["uv-" + target for target, _ in targets], progress), work_dir(root) as work:
        done = _uv_done(targets, root, progress)  # another provision may have finished meanwhile
        if done is not None:
            return done
        results: List[Tuple[str, Path, Dict[str, Any]]] = []
        for target, threaded in targets:
            prefix = _uv_install(uv, target, work, root, progress)
            log = root / ".logs" / ("uv-%s.log" % target)
            facts = self_check(_uv_python(prefix, request, threaded), prefix, request.version, threaded, log)
            results.append((target, prefix, facts))
        pair_id = _uv_pair_id(request, [facts for _, _, facts in results], progress)
        for target, prefix, facts in results:
            atomic_write_json(str(prefix / BUILD_MARKER), _uv_marker(target, facts, pair_id))
            progress.say("uv " + target, "done: %s" % prefix)
    return [prefix for _, prefix, _ in results]


def _uv_install(uv: str, target: str, work: Path, root: Path, progress: Progress) -> Path:
    log = root / ".logs" / ("uv-%s.log" % target)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("gilbench provision --uv %s, %s\n" % (target, utc_now()), encoding="utf-8")
    staging = work / target
    cmd = [uv, "python", "install", target, "--install-dir", str(staging), "--no-bin"]
    run_step("uv " + target, "uv python install", cmd, work, log, progress)
    made = [d for d in staging.iterdir() if d.is_dir() and not d.name.startswith(".")]
    if len(made) != 1:
        raise ProvisionError(
            "uv %s: expected one installation in %s, found %d; see %s" % (target, staging, len(made), log)
        )
    prefix = root / made[0].name
    clear_prefix(prefix, progress)
    os.rename(made[0], prefix)
    return prefix


def _uv_python(prefix: Path, request: Request, threaded: bool) -> Path:
    minor = ".".join(request.version.split(".")[:2])
    names = ["python%s%s" % (minor, "t" if threaded else ""), "pypy%s" % minor, "python3", "pypy3"]
    for name in names:
        if (prefix / "bin" / name).exists():
            return prefix / "bin" / name
    raise ProvisionError("%s: no interpreter in bin/ (looked for %s)" % (prefix, ", ".join(names)))


def _uv_pair_id(request: Request, halves: List[Dict[str, Any]], progress: Progress) -> str:
    """A pair id only when both halves are one build but for --disable-gil."""
    if not request.pair:
        return ""
    shared = [
        (h["version"], h["compiler"], [a for a in shlex.split(h["config_args"]) if "disable-gil" not in a])
        for h in halves
    ]
    if shared[0] != shared[1]:
        progress.say("uv " + request.version, "not a matched pair: version, compiler or configure flags differ")
        return ""
    return "uv-cpython-%s-%s" % (shared[0][0], hashlib.sha256(json.dumps(shared[0]).encode()).hexdigest()[:10])


def _uv_marker(target: str, facts: Dict[str, Any], pair_id: str) -> Dict[str, Any]:
    config = shlex.split(facts["config_args"])
    return {
        "implementation": facts["implementation"],
        "version": facts["version"],
        "free_threaded": facts["free_threaded"],
        "configure_args": config,
        "compiler": facts["compiler"],
        "optimized": {
            "pgo": "--enable-optimizations" in config,
            "lto": any(a.startswith("--with-lto") for a in config),
        },
        "source": "uv",
        "source_sha256": "",  # uv checks its own downloads; no tarball of ours to hash
        "pair_id": pair_id,
        "request": target,
        "built_at": utc_now(),
        "sys_version": facts["sys_version"],
    }
