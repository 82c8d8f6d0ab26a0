"""setuptools' PEP 517 backend, one build at a time per source tree.

setuptools builds in the tree it is given: ``build/`` (one ``bdist.<platform>/wheel``
folder shared by every interpreter) and ``gilbench.egg-info``.  Two tox runs in one
checkout (a ``bench-all`` beside ``tox -e tests``, or two users' runs) then build
their wheels in the same folders at once, and one of them fails on a file the other
removed.  Every hook here holds an exclusive lock on ``build/.gilbench-build.lock``
while setuptools runs, so concurrent builds wait for each other and each keeps the
incremental C build of the Cython extension.  The operating system drops the lock
when its holder exits, killed or not.
"""

from __future__ import annotations

import contextlib
import functools
import os
from typing import Iterator

from setuptools import build_meta as _setuptools

try:
    import fcntl
except ImportError:  # Windows: no flock; builds there run unguarded, as with plain setuptools
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = os.path.join("build", ".gilbench-build.lock")


@contextlib.contextmanager
def exclusive_build() -> Iterator[None]:
    """Hold the source tree's build lock (the frontend runs hooks in the tree's root)."""
    if fcntl is None:
        yield
        return
    os.makedirs(os.path.dirname(LOCK_NAME), exist_ok=True)
    with open(LOCK_NAME, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _locked(hook):
    @functools.wraps(hook)
    def run(*args, **kwargs):
        with exclusive_build():
            return hook(*args, **kwargs)

    return run


get_requires_for_build_wheel = _locked(_setuptools.get_requires_for_build_wheel)
get_requires_for_build_sdist = _locked(_setuptools.get_requires_for_build_sdist)
get_requires_for_build_editable = _locked(_setuptools.get_requires_for_build_editable)
prepare_metadata_for_build_wheel = _locked(_setuptools.prepare_metadata_for_build_wheel)
prepare_metadata_for_build_editable = _locked(_setuptools.prepare_metadata_for_build_editable)
build_wheel = _locked(_setuptools.build_wheel)
build_sdist = _locked(_setuptools.build_sdist)
build_editable = _locked(_setuptools.build_editable)
