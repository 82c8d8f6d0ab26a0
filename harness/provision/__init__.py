"""Obtain: CPython built from one verified source tarball, default and ``--disable-gil``.

Why build at all: the GIL contrast is honest only when the free-threaded build
differs from its partner in nothing but ``--disable-gil``.  A prebuilt 3.13.0 next
to a home-built 3.13.5t mixes version, compiler and PGO into the "GIL effect".  So
one tarball, checked against python.org's published sha256, is built twice with
identical configure flags, and both halves record the same ``pair_id``
(``build``).  ``sources`` finds and verifies the tarball, ``uv`` installs prebuilt
interpreters instead (``--uv``), ``steps`` holds what they share, ``request`` parses
what the user asked for.

The standard library and ``filelock``, not gilbench's host dependencies: ``tox -e
provision`` installs only filelock and runs this on Python 3.10+ before anything
else is built.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Callable, List, Optional

from harness.interpreters import provisioned_root
from harness.provision.build import provision_source
from harness.provision.request import (
    DEFAULT_PAIR,
    PINNED_SHA256,
    ProvisionError,
    Request,
    parse_request,
)
from harness.provision.sources import apt_mirrors
from harness.provision.steps import Progress
from harness.provision.uv import provision_uv
from workloads.host import BUILD_MARKER

__all__ = [
    "BUILD_MARKER",
    "PINNED_SHA256",
    "ProvisionError",
    "Request",
    "apt_mirrors",
    "ensure_free_threaded",
    "parse_request",
    "provision",
]


def ensure_free_threaded(write: Optional[Callable[[str], None]] = None, pair: Optional[str] = None) -> List[Path]:
    """Obtain the matched pair ``pair`` names unless a free-threaded CPython of its X.Y is found.

    ``pair`` is X.Y (the newest pinned release a source serves; None: ``DEFAULT_PAIR``)
    or X.Y.Z.  ``uv python install`` where uv is present and works (seconds), else the
    matched-pair source build (minutes; a no-op once cached).  Returns the prefixes
    provisioned, ``[]`` when a free-threaded build of that X.Y already exists.
    """
    from harness.interpreters import assign, discover

    say = write or functools.partial(print, flush=True)
    pair = pair or DEFAULT_PAIR
    request = parse_request("cpython", pair, pair=True)
    if "py%st" % request.minor.replace(".", "") in assign(discover()):
        return []
    if shutil.which("uv"):
        say("no free-threaded CPython %s found: installing CPython %st and %s with uv" % (request.minor, pair, pair))
        try:
            return provision(parse_request("cpython", pair, pair=True, uv=True), say)
        except ProvisionError as exc:
            say("uv could not install it (%s); building from source instead" % exc)
    say(
        "no free-threaded CPython %s found: building the matched CPython %s pair from source into %s "
        "(about 8 minutes on 2 cores, once; --no-provision skips this)" % (request.minor, pair, provisioned_root())
    )
    return provision(request, say)


def provision(request: Request, write: Optional[Callable[[str], None]] = None) -> List[Path]:
    """Make every prefix the request names complete (marker present and matching); return them.

    A prefix already complete for this request is left alone, so a second identical
    call is a no-op that touches neither the network nor the compiler.  ``write``
    receives the progress lines (default: print them, flushed).
    """
    progress = Progress(write or functools.partial(print, flush=True))
    root = provisioned_root()
    if request.uv:
        return provision_uv(request, root, progress)
    return provision_source(request, root, progress)
