"""What to provision: a parsed request, the pinned checksums, and the errors a user sees."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import List, Optional, Tuple

from workloads.host import UserError

# python.org's published sha256 of Python-X.Y.Z.tar.xz.  Debian's
# pythonX.Y_X.Y.Z.orig.tar.xz is that same file, so one table serves every source.  A
# request for X.Y tries these releases of X.Y newest first (``Request.releases``); a
# release missing here is built with ``--sha256`` (docs/interpreters.md says how).
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


PYPY_HOWTO = (
    "gilbench never builds PyPy; install Debian's packages (`apt-get install pypy3 pypy3-dev`: "
    "pyperf's psutil compiles against pypy3-dev), or where uv can download: "
    "`tox -e provision -- pypy 3.11 --uv`"
)


# X.Y.Z, or X.Y for the newest pinned release of X.Y that a source serves; t: free-threaded.
_VERSION = re.compile(r"^3\.(\d+)(\.\d+)?(t?)$")


# The matched pair bench-all's automatic step and the test suite build when its
# free-threaded half is missing, through uv where uv works, else from source: the
# newest pinned 3.14 release a source serves.  3.14 is the release whose free-threaded
# build is supported (PEP 779); the 3.13 pair stays one request away (``--pair 3.13``).
DEFAULT_PAIR = "3.14"


class ProvisionError(UserError):
    """One line for the user (the CLI prints it as ``error: ...``, exit status 2)."""


@dataclass(frozen=True)
class Request:
    """What the user asked for, validated: see :func:`parse_request`."""

    implementation: str
    version: str  # X.Y.Z, or X.Y: the newest of ``releases`` a source serves ("" for uv's newest PyPy)
    free_threaded: Tuple[bool, ...]  # the halves: (False,), (True,) or (False, True) for --pair
    optimized: bool = False
    tarball: Optional[Path] = None
    sha256: str = ""
    uv: bool = False

    @property
    def pair(self) -> bool:
        return len(self.free_threaded) == 2

    @property
    def minor(self) -> str:
        """``3.14`` for a request of 3.14 or of 3.14.7."""
        return ".".join(self.version.split(".")[:2])

    @property
    def releases(self) -> Tuple[Request, ...]:
        """The X.Y.Z requests this one may be met by, in the order tried: itself for X.Y.Z,
        every pinned release of X.Y newest first for X.Y (each with its pinned sha256)."""
        if self.uv or self.version.count(".") == 2:
            return (self,)
        return tuple(replace(self, version=v, sha256=PINNED_SHA256[v]) for v in pinned_releases(self.version))


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
            "version %r: expected X.Y (the newest pinned X.Y.Z a source serves, e.g. 3.14) or X.Y.Z "
            "(e.g. 3.13.5), with a t suffix for the free-threaded build alone" % version
        )
    free_threaded = _halves(version, match.group(3) == "t", pair, int(match.group(1)))
    release = version.rstrip("t")
    if match.group(2):
        expected = _expected_sha256(release, sha256)
    elif sha256 is not None:
        raise ProvisionError(
            "--sha256 with %s: a checksum names one release; give X.Y.Z (e.g. %s.9)" % (release, release)
        )
    elif not pinned_releases(release):
        raise ProvisionError(
            "Python %s has no pinned release (pinned: %s); give X.Y.Z with --sha256 HEX from python.org's release page"
            % (release, ", ".join(PINNED_SHA256))
        )
    else:
        expected = ""  # each release of ``Request.releases`` carries its own
    return Request(
        implementation=impl,
        version=release,
        free_threaded=free_threaded,
        optimized=optimized,
        tarball=_existing_file(tarball) if tarball else None,
        sha256=expected,
    )


def pinned_releases(minor: str) -> List[str]:
    """The pinned X.Y.Z of ``minor`` (X.Y), newest first."""
    found = [v for v in PINNED_SHA256 if v.rsplit(".", 1)[0] == minor]
    return sorted(found, key=lambda v: tuple(map(int, v.split("."))), reverse=True)


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
    match = _VERSION.match(version)
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
