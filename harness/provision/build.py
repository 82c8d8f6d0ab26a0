"""Source builds: one verified tarball built twice with identical configure flags, once
with ``--disable-gil``, into ``<root>/cpython-X.Y.Z`` and ``<root>/cpython-X.Y.Zt``.

CPython bakes ``--prefix`` in at configure time, so each half is built in place and the
marker written last means "complete"; a prefix without it (a build killed half-way) is
removed and built again.  Both halves record the same ``pair_id``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from harness.provision.request import ProvisionError, Request
from harness.provision.sources import extract, obtain
from harness.provision.steps import Progress, clear_prefix, locked, read_marker, run_step, self_check, work_dir
from workloads.host import BUILD_MARKER, atomic_write_json, utc_now


@dataclass(frozen=True)
class _Build:
    """One prefix to fill: a version, a GIL flavour and the exact configure flags."""

    prefix: Path
    version: str
    free_threaded: bool
    optimized: bool
    source_sha256: str
    pair_id: str
    compiler: str = ""

    @property
    def name(self) -> str:
        return self.prefix.name

    @property
    def python(self) -> Path:
        minor = ".".join(self.version.split(".")[:2])
        return self.prefix / "bin" / ("python%s%s" % (minor, "t" if self.free_threaded else ""))

    @property
    def configure_args(self) -> List[str]:
        return ["--prefix=%s" % self.prefix, *_common_flags(self.optimized)] + (
            ["--disable-gil"] if self.free_threaded else []
        )


def _common_flags(optimized: bool) -> List[str]:
    """The flags both halves share: the GIL must be the only difference."""
    return ["--enable-optimizations", "--with-lto"] if optimized else []


def _plan(request: Request, root: Path, pair_id: str, compiler: str = "") -> List[_Build]:
    return [
        _Build(
            prefix=root / ("cpython-%s%s" % (request.version, "t" if threaded else "")),
            version=request.version,
            free_threaded=threaded,
            optimized=request.optimized,
            source_sha256=request.sha256,
            pair_id=pair_id,
            compiler=compiler,
        )
        for threaded in request.free_threaded
    ]


def _pair_id(request: Request, compiler: str) -> str:
    """Same id for both halves: same source bytes, same shared flags, same compiler."""
    if not request.pair:
        return ""
    digest = hashlib.sha256(json.dumps([request.sha256, _common_flags(request.optimized), compiler]).encode())
    return "cpython-%s-%s" % (request.version, digest.hexdigest()[:10])


def _matches(marker: Optional[Dict[str, Any]], build: _Build) -> bool:
    """The prefix already holds what was asked for (a pair also needs the pair's id)."""
    return (
        marker is not None
        and marker.get("version") == build.version
        and marker.get("free_threaded") == build.free_threaded
        and marker.get("optimized") == {"pgo": build.optimized, "lto": build.optimized}
        and marker.get("source_sha256") == build.source_sha256
        and (not build.pair_id or marker.get("pair_id") == build.pair_id)
    )


def _complete(request: Request, root: Path) -> bool:
    """Every prefix already holds what was asked for; a pair's halves also share one id.

    Checked without running the compiler, so a gcc update alone never rebuilds a pair.
    """
    builds = _plan(request, root, "")
    markers = [read_marker(b.prefix) for b in builds]
    if not all(_matches(m, b) for m, b in zip(markers, builds)):
        return False
    ids = {(m or {}).get("pair_id") or "" for m in markers}
    return not request.pair or (len(ids) == 1 and "" not in ids)


def provision_source(request: Request, root: Path, progress: Progress) -> List[Path]:
    """Build what ``request`` names; for X.Y, the newest pinned release already built or,
    failing that, the newest a source serves (see ``sources.obtain``)."""
    releases = request.releases
    built = next((r for r in releases if _complete(r, root)), None)
    if built is not None:
        for build in _plan(built, root, ""):
            progress.say(build.name, "already provisioned: %s" % build.prefix)
        return [b.prefix for b in _plan(built, root, "")]
    compiler = _toolchain()
    release = releases[0] if len(releases) == 1 else obtain(request, root, progress)[0]
    builds = _plan(release, root, _pair_id(release, compiler), compiler)
    with locked(root, [b.name for b in builds], progress):
        todo = [b for b in builds if not _matches(read_marker(b.prefix), b)]
        for build in builds:
            if build not in todo:
                progress.say(build.name, "already provisioned: %s" % build.prefix)
        if todo:
            _, tarball, source = obtain(release, root, progress)
            with work_dir(root) as work:
                src = extract(tarball, release.version, work, progress)
                for build in todo:
                    _build(build, src, work / build.name, source, root, progress)
    if release.pair:
        progress.say(builds[0].name, "matched pair %s" % builds[0].pair_id)
    return [b.prefix for b in builds]


def _toolchain() -> str:
    """The C compiler's version line (part of the pair id); fail early when there is none."""
    cc = shlex.split(os.environ.get("CC") or "gcc")[0]
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ProvisionError("no C compiler %r (%s): install build-essential to build CPython" % (cc, exc)) from None
    if not shutil.which("make"):
        raise ProvisionError("no `make` on PATH: install build-essential to build CPython")
    return out.splitlines()[0].strip() if out else cc


def _build(build: _Build, src: Path, folder: Path, source: str, root: Path, progress: Progress) -> None:
    """configure, make, make install, self-check, then (last) the marker."""
    log = root / ".logs" / (build.name + ".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("gilbench provision %s, %s\n" % (build.name, utc_now()), encoding="utf-8")
    clear_prefix(build.prefix, progress)
    progress.say(build.name, "log: %s" % log)
    folder.mkdir(parents=True)
    started = time.monotonic()
    try:
        run_step(build.name, "configure", [str(src / "configure"), *build.configure_args], folder, log, progress)
        run_step(build.name, "make", ["make", "-j%d" % (os.cpu_count() or 1)], folder, log, progress)
        run_step(build.name, "install", ["make", "install"], folder, log, progress)
        facts = self_check(build.python, build.prefix, build.version, build.free_threaded, log)
    except BaseException:
        shutil.rmtree(build.prefix, ignore_errors=True)  # no marker was written: nothing half-usable stays
        raise
    marker = {
        "implementation": "cpython",
        "version": build.version,
        "free_threaded": build.free_threaded,
        "configure_args": build.configure_args,
        "compiler": build.compiler,
        "optimized": {"pgo": build.optimized, "lto": build.optimized},
        "source": source,
        "source_sha256": build.source_sha256,
        "pair_id": build.pair_id,
        "built_at": utc_now(),
        "build_seconds": round(time.monotonic() - started, 1),
        "sys_version": facts["sys_version"],
        "executable": str(build.python.relative_to(build.prefix)),
    }
    atomic_write_json(str(build.prefix / BUILD_MARKER), marker)
    progress.say(build.name, "done in %ds: %s" % (marker["build_seconds"], build.python))
