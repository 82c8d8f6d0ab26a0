"""The in-tree build backend: every setuptools hook runs under the checkout's build lock."""

from __future__ import annotations

import fcntl
import importlib.util

import pytest
from helpers import ROOT
from setuptools import build_meta

HOOKS = (
    "get_requires_for_build_wheel",
    "get_requires_for_build_sdist",
    "get_requires_for_build_editable",
    "prepare_metadata_for_build_wheel",
    "prepare_metadata_for_build_editable",
    "build_wheel",
    "build_sdist",
    "build_editable",
)


@pytest.fixture(scope="module")
def backend():
    spec = importlib.util.spec_from_file_location("gilbench_backend", ROOT / "build_backend" / "gilbench_backend.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _held(path) -> bool:
    """Whether another open file holds the lock (flock locks belong to the open file)."""
    with open(path) as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def test_every_hook_is_setuptools_under_the_lock(backend):
    for name in HOOKS:
        assert getattr(backend, name).__wrapped__ is getattr(build_meta, name), name


def test_a_hook_holds_the_lock_while_it_runs_and_releases_it(backend, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    seen = []
    backend._locked(lambda: seen.append(_held(backend.LOCK_NAME)))()
    assert seen == [True]
    assert not _held(backend.LOCK_NAME)
    with pytest.raises(ZeroDivisionError):
        backend._locked(lambda: 1 / 0)()
    assert not _held(backend.LOCK_NAME)
