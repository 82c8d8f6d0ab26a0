"""Getting the source: a verified tarball from a given path, the cache, python.org, or the
pool of each Debian/Ubuntu mirror in the machine's apt configuration.

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


def _remote_sources(version: str, mirrors: Sequence[str]) -> Iterator[Tuple[str, str, float]]:
    """(source name, URL, timeout), in the order tried: python.org, then each apt mirror's pool."""
    base = (os.environ.get("GILBENCH_PYTHON_ORG_URL") or PYTHON_ORG_URL).rstrip("/")
    yield "python.org", "%s/%s/Python-%s.tar.xz" % (base, version, version), PYTHON_ORG_TIMEOUT
    minor = ".".join(version.split(".")[:2])
    for mirror in mirrors:
        pool = "pool/main/p/python%s/python%s_%s.orig.tar.xz" % (minor, minor, version)
        yield "apt-mirror", "%s/%s" % (mirror, pool), MIRROR_TIMEOUT


def obtain(request: Request, root: Path, progress: Progress) -> Tuple[Path, str]:
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


def _download(url: str, dest: Path, sha256: str, timeout: float, progress: Progress) -> Optional[str]:
    """Fetch ``url`` to ``dest``, renamed into place only if its sha256 matches; return why not, or None."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    sweep_dead(dest.parent)
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
