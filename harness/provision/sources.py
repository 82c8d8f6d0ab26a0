"""Getting the source: a verified tarball from a given path, the cache, python.org, or the
pool of each Debian/Ubuntu mirror in the machine's apt configuration; for an X.Y request,
of the newest pinned release of X.Y that one of them serves.

Debian's ``pythonX.Y_X.Y.Z.orig.tar.xz`` is byte-identical to python.org's tarball, so
one pinned sha256 (``request.PINNED_SHA256``) checks every source before anything is
unpacked.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from harness.provision.request import ProvisionError, Request
from harness.provision.steps import HEARTBEAT, Progress, sweep_dead

# Overridable so a machine with its own python.org mirror (or a test) can point elsewhere.
PYTHON_ORG_URL = "https://www.python.org/ftp/python"


APT_SOURCES = ("/etc/apt/sources.list", "/etc/apt/sources.list.d")


PYTHON_ORG_TIMEOUT = 10.0  # unreachable python.org must not hold up the mirror


MIRROR_TIMEOUT = 60.0


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


def _remote_sources(version: str, mirrors: Sequence[str]) -> Iterator[Tuple[str, str, str, float]]:
    """(source name, its folder, URL, timeout), in the order tried: python.org, then each apt mirror's pool."""
    base = (os.environ.get("GILBENCH_PYTHON_ORG_URL") or PYTHON_ORG_URL).rstrip("/")
    yield "python.org", base, "%s/%s/Python-%s.tar.xz" % (base, version, version), PYTHON_ORG_TIMEOUT
    minor = ".".join(version.split(".")[:2])
    for mirror in mirrors:
        pool = "%s/pool/main/p/python%s" % (mirror, minor)
        yield "apt-mirror", pool, "%s/python%s_%s.orig.tar.xz" % (pool, minor, version), MIRROR_TIMEOUT


class _Tried:
    """What each source said, for the one line a request no source serves gets.

    A source tried for one release reads as before, with its URL; tried for several,
    as its folder and the releases grouped by what it said.
    """

    def __init__(self) -> None:
        self.notes: List[str] = []
        self.sources: Dict[Tuple[str, str], List[Tuple[str, str, str]]] = {}

    def add(self, source: str, folder: str, url: str, version: str, failure: str) -> None:
        self.sources.setdefault((source, folder), []).append((url, version, failure))

    def line(self) -> str:
        parts = list(self.notes)
        for (source, folder), attempts in self.sources.items():
            if len(attempts) == 1:
                parts.append("%s %s: %s" % (source, attempts[0][0], attempts[0][2]))
                continue
            said: Dict[str, List[str]] = {}
            for _, version, failure in attempts:
                said.setdefault(failure, []).append(version)
            grouped = ", ".join("%s [%s]" % (failure, ", ".join(versions)) for failure, versions in said.items())
            parts.append("%s %s: %s" % (source, folder, grouped))
        return "; ".join(parts)


def obtain(request: Request, root: Path, progress: Progress) -> Tuple[Request, Path, str]:
    """The first of ``request.releases`` a source serves verified: (that release, its tarball,
    where it came from).  Nothing is extracted before the sha256 matches.

    Each release, newest first, is looked for in the cache, on python.org, then in each apt
    mirror's pool.  A host that did not answer is not asked again within the call, so an
    unreachable python.org costs one timeout, not one per release.
    """
    releases = request.releases
    if request.tarball:
        return _given(request, releases, progress)
    downloads = root / ".downloads"
    tried = _Tried()
    tried.notes.append("--tarball: not given")
    mirrors = apt_mirrors()
    if not mirrors:
        tried.notes.append(
            "apt mirror: none in %s" % (os.environ.get("GILBENCH_APT_SOURCES") or ", ".join(APT_SOURCES))
        )
    if len(releases) > 1:
        progress.say("Python %s" % request.version, "newest first: %s" % ", ".join(r.version for r in releases))
    silent: Dict[str, str] = {}  # host -> what it said instead of answering
    for release in releases:
        label = "Python-%s.tar.xz" % release.version
        cached = downloads / label
        if cached.exists() and _sha256(cached) == release.sha256:
            progress.say(label, "verified cached %s" % cached)
            return release, cached, _cached_source(cached)
        for source, folder, url, timeout in _remote_sources(release.version, mirrors):
            host = urllib.parse.urlsplit(url).netloc
            if host in silent:
                tried.add(source, folder, url, release.version, "not asked: no answer above")
                continue
            progress.say(label, "download %s" % url)
            failure, answered = _download(url, cached, release.sha256, timeout, progress)
            if failure is None:
                cached.with_name(cached.name + ".source").write_text(source + "\n", encoding="utf-8")
                progress.say(label, "verified sha256 %s (%s)" % (release.sha256[:12], source))
                return release, cached, source
            if not answered:
                silent[host] = failure
            tried.add(source, folder, url, release.version, failure)
    what = "Python-%s.tar.xz" % releases[0].version if len(releases) == 1 else "Python %s" % request.version
    raise ProvisionError("no source for %s: %s; nothing was installed" % (what, tried.line()))


def _given(request: Request, releases: Sequence[Request], progress: Progress) -> Tuple[Request, Path, str]:
    """``--tarball``: the release whose sha256 it has (for X.Y, whichever pinned release that is)."""
    assert request.tarball is not None
    actual = _sha256(request.tarball)
    for release in releases:
        if actual == release.sha256:
            progress.say("Python-%s.tar.xz" % release.version, "verified %s" % request.tarball)
            return release, request.tarball, "tarball"
    if len(releases) == 1:
        what = "does not match the expected %s for Python %s" % (releases[0].sha256, releases[0].version)
    else:
        versions = ", ".join(r.version for r in releases)
        what = "matches no pinned release of Python %s (%s)" % (request.version, versions)
    raise ProvisionError("%s: sha256 %s %s; nothing was installed" % (request.tarball, actual, what))


def _cached_source(cached: Path) -> str:
    try:
        return cached.with_name(cached.name + ".source").read_text(encoding="utf-8").strip() or "cache"
    except OSError:
        return "cache"


def _download(url: str, dest: Path, sha256: str, timeout: float, progress: Progress) -> Tuple[Optional[str], bool]:
    """Fetch ``url`` to ``dest``, renamed into place only if its sha256 matches.

    Returns (why not, or None; whether the host answered at all: an HTTP status or bytes).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    sweep_dead(dest.parent)
    part = dest.with_name("%d-%s.part" % (os.getpid(), dest.name))
    answered = False
    try:
        actual = _fetch(url, part, timeout, progress)
    except urllib.error.HTTPError as exc:
        failure, answered = "HTTP %d %s" % (exc.code, exc.reason), True
    except urllib.error.URLError as exc:
        failure = str(exc.reason)
    except (OSError, ValueError) as exc:
        failure = str(exc) or type(exc).__name__
    else:
        if actual == sha256:
            os.replace(part, dest)
            return None, True
        failure, answered = "sha256 %s does not match the expected %s" % (actual, sha256), True
    part.unlink(missing_ok=True)
    return failure, answered


def _fetch(url: str, part: Path, timeout: float, progress: Progress) -> str:
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


def extract(tarball: Path, version: str, work: Path, progress: Progress) -> Path:
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
