"""Obtain: CPython built from one verified source tarball, default and ``--disable-gil``.

Why build at all: the GIL contrast is honest only when the free-threaded build
differs from its partner in nothing but ``--disable-gil``.  A prebuilt 3.13.0 next
to a home-built 3.13.5t mixes version, compiler and PGO into the "GIL effect".  So
one tarball, checked against python.org's published sha256, is built twice with
identical configure flags into ``<root>/cpython-X.Y.Z`` and ``<root>/cpython-X.Y.Zt``,
and both halves record the same ``pair_id``.

A prefix counts only once ``gilbench-build.json`` is in it.  CPython bakes
``--prefix`` in at configure time, so we build in place and let that marker, not a
rename, mean "complete": it is written last, atomically, after ``make install`` and
a self-check of the installed interpreter.  Discovery ignores a prefix without it;
provisioning removes such a prefix (a build killed half-way) and builds it again.

The standard library and ``filelock``, not gilbench itself: ``tox -e provision``
installs only filelock and runs this on Python 3.10+ before anything else is built.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from filelock import FileLock, Timeout

from harness.interpreters import provisioned_root
from workloads._meta import BUILD_MARKER
from workloads._results import atomic_write_json, utc_now

# python.org's published sha256 of Python-X.Y.Z.tar.xz.  Debian's
# pythonX.Y_X.Y.Z.orig.tar.xz is that same file, so one table serves every source.
PINNED_SHA256 = {
    "3.13.5": "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640",
    "3.14.0": "2299dae542d395ce3883aca00d3c910307cd68e0b2f7336098c8e7b7eee9f3e9",
    "3.14.1": "8dfa08b1959d9d15838a1c2dab77dc8d8ff4a553a1ed046dfacbc8095c6d42fc",
    "3.14.2": "ce543ab854bc256b61b71e9b27f831ffd1bfd60a479d639f8be7f9757cf573e9",
    "3.14.3": "a97d5549e9ad81fe17159ed02c68774ad5d266c72f8d9a0b5a9c371fe85d902b",
    "3.14.4": "d923c51303e38e249136fc1bdf3568d56ecb03214efdef48516176d3d7faaef8",
    "3.14.5": "7e32597b99e5d9a39abed35de4693fa169df3e5850d4c334337ffd6a19a36db6",
    "3.14.6": "143b1dddefaec3bd2e21e3b839b34a2b7fb9842272883c576420d605e9f30c63",
    "3.14.7": "3b48dac8fb59f62eaa67ac83c1eb12bda1b7a08406dd286e252c11a66be27f81",
    "3.14.8": "c2215904f02b175596dc49351585104f4bc20341e1c47378b26a2c274360ce73",
}
IMPLEMENTATIONS = ("cpython", "pypy")
# Overridable so a machine with its own python.org mirror (or a test) can point elsewhere.
PYTHON_ORG_URL = "https://www.python.org/ftp/python"
APT_SOURCES = ("/etc/apt/sources.list", "/etc/apt/sources.list.d")
PYTHON_ORG_TIMEOUT = 10.0  # unreachable python.org must not hold up the mirror
MIRROR_TIMEOUT = 60.0
HEARTBEAT = 15.0  # seconds: the longest a running phase stays silent
PYPY_HOWTO = (
    "gilbench never builds PyPy; install Debian's packages (`apt-get install pypy3 pypy3-dev`: "
    "pyperf's psutil compiles against pypy3-dev), or where uv can download: "
    "`tox -e provision -- pypy 3.11 --uv`"
)

_VERSION = re.compile(r"^3\.(\d+)\.(\d+)(t?)$")
_UV_VERSION = re.compile(r"^3\.(\d+)(\.\d+)?(t?)$")
# Run by the installed interpreter: what it is, and whether pip could work in it.
_SELF_CHECK = """
import json, platform, sys, sysconfig
missing = []
for name in ("zlib", "_ssl"):
    try:
        __import__(name)
    except ImportError:
        missing.append(name)
print(json.dumps({
    "implementation": sys.implementation.name,
    "version": "%d.%d.%d" % sys.version_info[:3],
    "free_threaded": sysconfig.get_config_var("Py_GIL_DISABLED") == 1,
    "base_prefix": sys.base_prefix,
    "sys_version": sys.version,
    "config_args": sysconfig.get_config_var("CONFIG_ARGS") or "",
    "compiler": platform.python_compiler(),
    "missing": missing,
}))
"""


# The matched pair bench-all and the test suite build when no free-threaded CPython exists:
# its tarball is pinned above and served by Debian's pool as well as python.org.
DEFAULT_PAIR = "3.13.5"
DEFAULT_UV_PAIR = "3.13"


def ensure_free_threaded(write: Optional[Callable[[str], None]] = None) -> List[Path]:
    """Obtain a free-threaded CPython (with its matched default half) unless one is found.

    ``uv python install`` where uv is present and works (seconds), else the
    matched-pair source build (minutes; a no-op once cached).  Returns the prefixes
    provisioned, ``[]`` when a free-threaded build already exists.
    """
    from harness.interpreters import assign, discover

    say = write or functools.partial(print, flush=True)
    if any(f.endswith("t") for f in assign(discover())):
        return []
    if shutil.which("uv"):
        say("no free-threaded CPython found: installing CPython %st and %s with uv" % ((DEFAULT_UV_PAIR,) * 2))
        try:
            return provision(parse_request("cpython", DEFAULT_UV_PAIR, pair=True, uv=True), say)
        except ProvisionError as exc:
            say("uv could not install it (%s); building from source instead" % exc)
    say(
        "no free-threaded CPython found: building the matched CPython %s pair from source into %s "
        "(about 6 minutes on 2 cores, once; --no-provision skips this)" % (DEFAULT_PAIR, provisioned_root())
    )
    return provision(parse_request("cpython", DEFAULT_PAIR, pair=True), say)


class ProvisionError(Exception):
    """One line for the user (the CLI prints it as ``error: ...``, exit status 2)."""


@dataclass(frozen=True)
class Request:
    """What the user asked for, validated: see :func:`parse_request`."""

    implementation: str
    version: str  # X.Y.Z for source builds; uv also takes X.Y (or "" for the newest PyPy)
    free_threaded: Tuple[bool, ...]  # the halves: (False,), (True,) or (False, True) for --pair
    optimized: bool = False
    tarball: Optional[Path] = None
    sha256: str = ""
    uv: bool = False

    @property
    def pair(self) -> bool:
        return len(self.free_threaded) == 2


def parse_request(
    implementation: str,
    version: Optional[str],
    *,
    pair: bool = False,
    optimized: bool = False,
    tarball: Optional[str] = None,
    sha256: Optional[str] = None,
    uv: bool = False,
) -> Request:
    """Check the command line before anything is downloaded; raise ProvisionError naming the argument."""
    impl, version = implementation.lower(), version or ""
    if impl not in IMPLEMENTATIONS:
        raise ProvisionError("unknown implementation %r; valid: %s" % (implementation, ", ".join(IMPLEMENTATIONS)))
    if impl == "pypy" and not uv:
        raise ProvisionError(PYPY_HOWTO)
    if uv:
        return _parse_uv_request(impl, version, pair, optimized, tarball, sha256)
    match = _VERSION.match(version)
    if not match:
        raise ProvisionError(
            "version %r: expected X.Y.Z (e.g. 3.13.5), or X.Y.Zt for the free-threaded build alone" % version
        )
    free_threaded = _halves(version, match.group(3) == "t", pair, int(match.group(1)))
    release = version.rstrip("t")
    return Request(
        implementation=impl,
        version=release,
        free_threaded=free_threaded,
        optimized=optimized,
        tarball=_existing_file(tarball) if tarball else None,
        sha256=_expected_sha256(release, sha256),
    )


def _parse_uv_request(
    impl: str, version: str, pair: bool, optimized: bool, tarball: Optional[str], sha256: Optional[str]
) -> Request:
    for flag, given in (("--tarball", tarball), ("--sha256", sha256), ("--optimized", optimized)):
        if given:
            raise ProvisionError("%s does not go with --uv: uv installs prebuilt interpreters" % flag)
    if impl == "pypy":
        if pair or not re.match(r"^(3\.\d+)?$", version):
            raise ProvisionError("pypy --uv: version %r: expected X.Y (e.g. 3.11) and no --pair" % version)
        return Request(implementation=impl, version=version, free_threaded=(False,), uv=True)
    match = _UV_VERSION.match(version)
    if not match:
        raise ProvisionError("version %r: expected X.Y or X.Y.Z, with a t suffix for free-threaded" % version)
    free_threaded = _halves(version, match.group(3) == "t", pair, int(match.group(1)))
    return Request(implementation=impl, version=version.rstrip("t"), free_threaded=free_threaded, uv=True)


def _halves(version: str, threaded: bool, pair: bool, minor: int) -> Tuple[bool, ...]:
    if pair and threaded:
        raise ProvisionError("version %r with --pair: give %s, --pair builds both halves" % (version, version[:-1]))
    if (pair or threaded) and minor < 13:
        raise ProvisionError("version %r: free-threaded builds (--disable-gil) need 3.13 or newer" % version)
    return (False, True) if pair else (threaded,)


def _existing_file(path: str) -> Path:
    if not Path(path).is_file():
        raise ProvisionError("--tarball %s: no such file" % path)
    return Path(path).resolve()


def _expected_sha256(version: str, given: Optional[str]) -> str:
    if given is not None:
        if not re.match(r"^[0-9a-fA-F]{64}$", given):
            raise ProvisionError("--sha256 %r: expected 64 hex digits" % given)
        return given.lower()
    if version not in PINNED_SHA256:
        raise ProvisionError(
            "Python %s has no pinned sha256 (pinned: %s); pass --sha256 HEX from python.org's release page"
            % (version, ", ".join(PINNED_SHA256))
        )
    return PINNED_SHA256[version]


def provision(request: Request, write: Optional[Callable[[str], None]] = None) -> List[Path]:
    """Make every prefix the request names complete (marker present and matching); return them.

    A prefix already complete for this request is left alone, so a second identical
    call is a no-op that touches neither the network nor the compiler.  ``write``
    receives the progress lines (default: print them, flushed).
    """
    progress = _Progress(write or functools.partial(print, flush=True))
    root = provisioned_root()
    if request.uv:
        return _provision_uv(request, root, progress)
    return _provision_source(request, root, progress)


class _Progress:
    """Timestamped lines on the terminal: a long build must never look hung."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write
        self._start = time.monotonic()

    def say(self, label: str, message: str) -> None:
        self._write("[%4ds] %s: %s" % (time.monotonic() - self._start, label, message))


# -- source builds ---------------------------------------------------------------------------


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


def _read_marker(prefix: Path) -> Optional[Dict[str, Any]]:
    try:
        return json.loads((prefix / BUILD_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


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
    markers = [_read_marker(b.prefix) for b in builds]
    if not all(_matches(m, b) for m, b in zip(markers, builds)):
        return False
    ids = {(m or {}).get("pair_id") or "" for m in markers}
    return not request.pair or (len(ids) == 1 and "" not in ids)


def _provision_source(request: Request, root: Path, progress: _Progress) -> List[Path]:
    if _complete(request, root):
        for build in _plan(request, root, ""):
            progress.say(build.name, "already provisioned: %s" % build.prefix)
        return [b.prefix for b in _plan(request, root, "")]
    compiler = _toolchain()
    builds = _plan(request, root, _pair_id(request, compiler), compiler)
    with _locked(root, [b.name for b in builds], progress):
        todo = [b for b in builds if not _matches(_read_marker(b.prefix), b)]
        for build in builds:
            if build not in todo:
                progress.say(build.name, "already provisioned: %s" % build.prefix)
        if todo:
            tarball, source = _obtain(request, root, progress)
            with _work_dir(root) as work:
                src = _extract(tarball, request.version, work, progress)
                for build in todo:
                    _build(build, src, work / build.name, source, root, progress)
    if request.pair:
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


@contextlib.contextmanager
def _locked(root: Path, names: Sequence[str], progress: _Progress) -> Iterator[None]:
    """One provision per prefix at a time; a second one waits, then finds the work done."""
    folder = root / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        for name in sorted(names):  # a fixed order: two pairs never deadlock
            lock = FileLock(folder / (name + ".lock"))
            try:
                lock.acquire(blocking=False)
            except Timeout:
                progress.say(name, "waiting: another provision is building it")
                lock.acquire()
            stack.callback(lock.release)
        yield


@contextlib.contextmanager
def _work_dir(root: Path) -> Iterator[Path]:
    """A scratch folder beside the prefixes, removed afterwards; ones left by killed runs go too."""
    folder = root / ".build"
    _sweep_dead(folder)
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="%d-" % os.getpid(), dir=folder))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _sweep_dead(folder: Path) -> None:
    """Remove ``<pid>-...`` entries whose process is gone (scratch of a killed run)."""
    for entry in folder.glob("*-*"):
        pid = entry.name.split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- getting the source ----------------------------------------------------------------------


def apt_mirrors(paths: Optional[Sequence[str]] = None) -> List[str]:
    """HTTP(S) archive URIs from the machine's apt configuration, in order, without duplicates.

    Reads one-line ``*.list`` files and deb822 ``*.sources`` files, so the mirror the
    machine already trusts is used and no mirror host is written into gilbench.
    ``GILBENCH_APT_SOURCES`` (files or folders, ``os.pathsep``-separated) replaces the
    default ``/etc/apt/sources.list`` and ``/etc/apt/sources.list.d``.
    """
    if paths is None:
        paths = (os.environ.get("GILBENCH_APT_SOURCES") or os.pathsep.join(APT_SOURCES)).split(os.pathsep)
    uris: List[str] = []
    for path in map(Path, paths):
        files = sorted(p for p in path.glob("*") if p.suffix in (".list", ".sources")) if path.is_dir() else [path]
        for file in files:
            try:
                text = file.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            uris += _deb822_uris(text) if file.suffix == ".sources" else _one_line_uris(text)
    return list(dict.fromkeys(u.rstrip("/") for u in uris if u.startswith(("http://", "https://"))))


def _one_line_uris(text: str) -> Iterator[str]:
    """``deb [opt=val ...] URI suite components`` lines."""
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] not in ("deb", "deb-src"):
            continue
        words = words[1:]
        if words and words[0].startswith("["):  # options, possibly spread over several words
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if words:
            yield words[0]


def _deb822_uris(text: str) -> Iterator[str]:
    """``URIs:`` of the enabled ``deb``/``deb-src`` stanzas of a ``.sources`` file."""
    for stanza in re.split(r"\n[ \t]*\n", text):
        fields: Dict[str, str] = {}
        key = ""
        for line in stanza.splitlines():
            if line.startswith("#"):
                continue
            if line[:1].isspace() and key:  # a continuation line
                fields[key] += " " + line.strip()
                continue
            name, colon, value = line.partition(":")
            key = name.strip().lower() if colon else ""
            if key:
                fields[key] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if {"deb", "deb-src"} & set(fields.get("types", "").split()):
            yield from fields.get("uris", "").split()


def _remote_sources(version: str, mirrors: Sequence[str]) -> Iterator[Tuple[str, str, float]]:
    """(source name, URL, timeout), in the order tried: python.org, then each apt mirror's pool."""
    base = (os.environ.get("GILBENCH_PYTHON_ORG_URL") or PYTHON_ORG_URL).rstrip("/")
    yield "python.org", "%s/%s/Python-%s.tar.xz" % (base, version, version), PYTHON_ORG_TIMEOUT
    minor = ".".join(version.split(".")[:2])
    for mirror in mirrors:
        pool = "pool/main/p/python%s/python%s_%s.orig.tar.xz" % (minor, minor, version)
        yield "apt-mirror", "%s/%s" % (mirror, pool), MIRROR_TIMEOUT


def _obtain(request: Request, root: Path, progress: _Progress) -> Tuple[Path, str]:
    """A verified tarball and where it came from; nothing is extracted before the sha256 matches."""
    label = "Python-%s.tar.xz" % request.version
    if request.tarball:
        actual = _sha256(request.tarball)
        if actual != request.sha256:
            raise ProvisionError(
                "%s: sha256 %s does not match the expected %s for Python %s; nothing was installed"
                % (request.tarball, actual, request.sha256, request.version)
            )
        progress.say(label, "verified %s" % request.tarball)
        return request.tarball, "tarball"
    downloads = root / ".downloads"
    cached = downloads / label
    if cached.exists() and _sha256(cached) == request.sha256:
        progress.say(label, "verified cached %s" % cached)
        return cached, _cached_source(cached)
    tried = ["--tarball: not given"]
    mirrors = apt_mirrors()
    if not mirrors:
        tried.append("apt mirror: none in %s" % (os.environ.get("GILBENCH_APT_SOURCES") or ", ".join(APT_SOURCES)))
    for source, url, timeout in _remote_sources(request.version, mirrors):
        progress.say(label, "download %s" % url)
        failure = _download(url, cached, request.sha256, timeout, progress)
        if failure is None:
            cached.with_name(cached.name + ".source").write_text(source + "\n", encoding="utf-8")
            progress.say(label, "verified sha256 %s (%s)" % (request.sha256[:12], source))
            return cached, source
        tried.append("%s %s: %s" % (source, url, failure))
    raise ProvisionError("no source for %s: %s; nothing was installed" % (label, "; ".join(tried)))


def _cached_source(cached: Path) -> str:
    try:
        return cached.with_name(cached.name + ".source").read_text(encoding="utf-8").strip() or "cache"
    except OSError:
        return "cache"


def _download(url: str, dest: Path, sha256: str, timeout: float, progress: _Progress) -> Optional[str]:
    """Fetch ``url`` to ``dest``, renamed into place only if its sha256 matches; return why not, or None."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    _sweep_dead(dest.parent)
    part = dest.with_name("%d-%s.part" % (os.getpid(), dest.name))
    try:
        actual = _fetch(url, part, timeout, progress)
    except urllib.error.HTTPError as exc:
        failure = "HTTP %d %s" % (exc.code, exc.reason)
    except urllib.error.URLError as exc:
        failure = str(exc.reason)
    except (OSError, ValueError) as exc:
        failure = str(exc) or type(exc).__name__
    else:
        if actual == sha256:
            os.replace(part, dest)
            return None
        failure = "sha256 %s does not match the expected %s" % (actual, sha256)
    part.unlink(missing_ok=True)
    return failure


def _fetch(url: str, part: Path, timeout: float, progress: _Progress) -> str:
    """Stream ``url`` into ``part``, hashing as it comes; return the sha256."""
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
        last = time.monotonic()
        for chunk in iter(functools.partial(response.read, 1 << 20), b""):
            out.write(chunk)
            digest.update(chunk)
            if time.monotonic() - last > HEARTBEAT:
                last = time.monotonic()
                progress.say(part.name, "download: %.1f MB" % (out.tell() / 1e6))
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(functools.partial(fh.read, 1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _extract(tarball: Path, version: str, work: Path, progress: _Progress) -> Path:
    """Unpack the (already verified) tarball; return the folder holding ``configure``."""
    progress.say("Python-%s" % version, "extract %s" % tarball.name)
    try:
        with tarfile.open(tarball) as tar:
            # the "data" filter refuses links and paths that escape the folder (3.10.12+)
            tar.extractall(work / "src", **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    except (OSError, tarfile.TarError) as exc:
        raise ProvisionError("%s: cannot extract: %s" % (tarball, exc)) from None
    src = work / "src" / ("Python-%s" % version)
    if not (src / "configure").is_file():
        raise ProvisionError("%s: no Python-%s/configure inside: not a CPython source tarball" % (tarball, version))
    return src


# -- building --------------------------------------------------------------------------------


def _build(build: _Build, src: Path, folder: Path, source: str, root: Path, progress: _Progress) -> None:
    """configure, make, make install, self-check, then (last) the marker."""
    log = root / ".logs" / (build.name + ".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("gilbench provision %s, %s\n" % (build.name, utc_now()), encoding="utf-8")
    _clear_prefix(build.prefix, progress)
    progress.say(build.name, "log: %s" % log)
    folder.mkdir(parents=True)
    started = time.monotonic()
    try:
        _run(build.name, "configure", [str(src / "configure"), *build.configure_args], folder, log, progress)
        _run(build.name, "make", ["make", "-j%d" % (os.cpu_count() or 1)], folder, log, progress)
        _run(build.name, "install", ["make", "install"], folder, log, progress)
        facts = _self_check(build.python, build.prefix, build.version, build.free_threaded, log)
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


def _clear_prefix(prefix: Path, progress: _Progress) -> None:
    """Remove what is at ``prefix``: a build stopped half-way, or one made with other options."""
    if not prefix.exists():
        return
    marker = prefix / BUILD_MARKER
    why = "replacing a build made with other options" if marker.exists() else "incomplete (no marker: stopped half-way)"
    progress.say(prefix.name, "removing %s: %s" % (prefix, why))
    marker.unlink(missing_ok=True)  # first, so a crash while removing leaves no valid-looking prefix
    shutil.rmtree(prefix)


def _run(label: str, phase: str, cmd: List[str], cwd: Path, log: Path, progress: _Progress) -> None:
    """Run ``cmd`` with its output appended to ``log``, and a progress line at least every HEARTBEAT s."""
    progress.say(label, phase)
    with open(log, "ab") as out:
        out.write(("\n$ %s\n" % shlex.join(cmd)).encode())
        out.flush()
        try:
            proc = subprocess.Popen(
                cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=_clean_env(), start_new_session=True
            )
        except OSError as exc:
            raise ProvisionError("%s: %s: cannot run %s: %s" % (label, phase, cmd[0], exc)) from None
        try:
            while True:
                try:
                    code = proc.wait(timeout=HEARTBEAT)
                    break
                except subprocess.TimeoutExpired:
                    progress.say(label, "%s running; last: %s" % (phase, _last_line(log)))
        except BaseException:  # Ctrl-C or a kill of ours: stop the whole build, compilers included
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    if code:
        raise ProvisionError("%s: %s failed (exit %d): %s; full log: %s" % (label, phase, code, _last_line(log), log))


def _clean_env() -> Dict[str, str]:
    """The caller's environment minus what would point a new interpreter at another one's files."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}


def _last_line(log: Path, width: int = 100) -> str:
    with open(log, "rb") as fh:
        fh.seek(max(0, fh.seek(0, os.SEEK_END) - 4096))
        lines = [line.strip() for line in fh.read().decode(errors="replace").splitlines() if line.strip()]
    last = lines[-1] if lines else "(no output yet)"
    return last if len(last) <= width else "..." + last[3 - width :]  # a compile line's end names the file


def _self_check(python: Path, prefix: Path, version: str, free_threaded: bool, log: Path) -> Dict[str, Any]:
    """Run the installed interpreter: it must be the version and GIL flavour asked for, living in ``prefix``."""
    label = prefix.name
    try:
        out = subprocess.run(
            [str(python), "-I", "-c", _SELF_CHECK], capture_output=True, text=True, timeout=60, env=_clean_env()
        )
        facts = json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise ProvisionError("%s: self-check could not run %s: %s; see %s" % (label, python, exc, log)) from None
    problems = []
    if version and not (facts["version"] == version or facts["version"].startswith(version + ".")):
        problems.append("version %s, asked for %s" % (facts["version"], version))
    if facts["free_threaded"] != free_threaded:
        problems.append("Py_GIL_DISABLED is %s, asked for %s" % (facts["free_threaded"], free_threaded))
    if os.path.realpath(facts["base_prefix"]) != os.path.realpath(prefix):
        problems.append("sys.base_prefix is %s, not %s" % (facts["base_prefix"], prefix))
    if facts["missing"]:
        problems.append(
            "cannot import %s (install libssl-dev and zlib1g-dev, then retry)" % ", ".join(facts["missing"])
        )
    if problems:
        raise ProvisionError("%s: self-check failed: %s; see %s" % (label, "; ".join(problems), log))
    return facts


# -- uv --------------------------------------------------------------------------------------


def _uv_targets(request: Request) -> List[Tuple[str, bool]]:
    """(``uv python install`` request, free-threaded) per half."""
    if request.implementation == "pypy":
        return [("pypy@%s" % request.version if request.version else "pypy", False)]
    return [(request.version + ("t" if threaded else ""), threaded) for threaded in request.free_threaded]


def _uv_done(targets: List[Tuple[str, bool]], root: Path, progress: _Progress) -> Optional[List[Path]]:
    """The prefixes uv already filled for these requests (found by the request in their marker), or None."""
    installed = {}
    for prefix in root.glob("*"):
        marker = _read_marker(prefix)
        if marker and marker.get("source") == "uv":
            installed[marker.get("request", "")] = prefix
    if not all(target in installed for target, _ in targets):
        return None
    for target, _ in targets:
        progress.say("uv " + target, "already provisioned: %s" % installed[target])
    return [installed[target] for target, _ in targets]


def _provision_uv(request: Request, root: Path, progress: _Progress) -> List[Path]:
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
    with _locked(root, ["uv-" + target for target, _ in targets], progress), _work_dir(root) as work:
        done = _uv_done(targets, root, progress)  # another provision may have finished meanwhile
        if done is not None:
            return done
        results: List[Tuple[str, Path, Dict[str, Any]]] = []
        for target, threaded in targets:
            prefix = _uv_install(uv, target, work, root, progress)
            log = root / ".logs" / ("uv-%s.log" % target)
            facts = _self_check(_uv_python(prefix, request, threaded), prefix, request.version, threaded, log)
            results.append((target, prefix, facts))
        pair_id = _uv_pair_id(request, [facts for _, _, facts in results], progress)
        for target, prefix, facts in results:
            atomic_write_json(str(prefix / BUILD_MARKER), _uv_marker(target, facts, pair_id))
            progress.say("uv " + target, "done: %s" % prefix)
    return [prefix for _, prefix, _ in results]


def _uv_install(uv: str, target: str, work: Path, root: Path, progress: _Progress) -> Path:
    log = root / ".logs" / ("uv-%s.log" % target)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("gilbench provision --uv %s, %s\n" % (target, utc_now()), encoding="utf-8")
    staging = work / target
    cmd = [uv, "python", "install", target, "--install-dir", str(staging), "--no-bin"]
    _run("uv " + target, "uv python install", cmd, work, log, progress)
    made = [d for d in staging.iterdir() if d.is_dir() and not d.name.startswith(".")]
    if len(made) != 1:
        raise ProvisionError(
            "uv %s: expected one installation in %s, found %d; see %s" % (target, staging, len(made), log)
        )
    prefix = root / made[0].name
    _clear_prefix(prefix, progress)
    os.rename(made[0], prefix)
    return prefix


def _uv_python(prefix: Path, request: Request, threaded: bool) -> Path:
    minor = ".".join(request.version.split(".")[:2])
    names = ["python%s%s" % (minor, "t" if threaded else ""), "pypy%s" % minor, "python3", "pypy3"]
    for name in names:
        if (prefix / "bin" / name).exists():
            return prefix / "bin" / name
    raise ProvisionError("%s: no interpreter in bin/ (looked for %s)" % (prefix, ", ".join(names)))


def _uv_pair_id(request: Request, halves: List[Dict[str, Any]], progress: _Progress) -> str:
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
