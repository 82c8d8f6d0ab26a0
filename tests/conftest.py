"""Shared fixtures: an isolated gilbench home, a real smoke run, published runs.

These tests run real interpreters and real pyperf processes; nothing is mocked.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import browser
import pytest
from helpers import (
    HOSTILE,
    PAIRS,
    ROOT,
    SMOKE_COUNTDOWN,
    Pair,
    build_docs,
    merge_as_the_workflow_does,
    provisioned_pair,
    run_module,
)

# The checkout's own command-line tools (``tools``, ``validation``) are importable by the tests;
# appended, so that ``harness`` and ``workloads`` are still the installed package.
sys.path.append(str(ROOT))

# Tests isolate GILBENCH_HOME (locks, caches) but must still find the interpreters
# `tox -e tests` provisioned there, and must never start a build of their own.
os.environ.setdefault(
    "GILBENCH_PYTHONS", str(Path(os.environ.get("GILBENCH_HOME") or Path.home() / ".cache" / "gilbench") / "pythons")
)

# Optional parts of the suite: what skips without them, and the command that enables each.
OPTIONAL = (
    (
        "Chromium",
        lambda: shutil.which(os.environ.get("CHROMIUM", "chromium")) or shutil.which("chromium-browser"),
        "browser tests (report and site in headless Chromium)",
        "apt-get install chromium",
    ),
    ("PyPy", lambda: shutil.which("pypy3"), "PyPy in the end-to-end run", "apt-get install pypy3 pypy3-dev"),
)


# Set by .ci/run: CI also runs the tests marked ``ci_only`` (a real interpreter build).
CI_ENV = "GILBENCH_CI"
_CI_ONLY = pytest.StashKey[int]()  # how many were deselected, for the summary


def pytest_collection_modifyitems(config, items) -> None:
    """Deselect the ``ci_only`` tests unless ``$GILBENCH_CI`` is set (CI sets it)."""
    if os.environ.get(CI_ENV):
        return
    ci_only = [item for item in items if item.get_closest_marker("ci_only")]
    if ci_only:
        config.hook.pytest_deselected(items=ci_only)
        items[:] = [item for item in items if not item.get_closest_marker("ci_only")]
    config.stash[_CI_ONLY] = len(ci_only)


def pytest_sessionfinish(session, exitstatus) -> None:
    browser.close_browser()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Say which optional parts were skipped, and how to enable each; and which tests
    only CI runs."""
    missing = [(name, what, how) for name, present, what, how in OPTIONAL if not present()]
    if missing:
        terminalreporter.section("optional parts skipped")
        for name, what, how in missing:
            terminalreporter.write_line("%s not found: %s skipped; enable with `%s`" % (name, what, how))
    deselected = config.stash.get(_CI_ONLY, 0)
    if deselected:
        terminalreporter.section("CI-only tests deselected")
        terminalreporter.write_line(
            "%d test(s) marked ci_only (a real interpreter build) deselected; CI runs them: "
            "`%s=1 tox -e tests`" % (deselected, CI_ENV)
        )


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="module", params=PAIRS)
def pair(request) -> Pair:
    """Each provisioned matched pair of ``PAIRS`` in turn (a test taking it runs once per pair), or skip."""
    root = Path(os.environ["GILBENCH_PYTHONS"])
    found = provisioned_pair(request.param, root)
    if found is None:
        pytest.skip(
            "no matched CPython %s pair in %s (`tox -e provision -- cpython %s --pair`; CI's .ci/run builds it)"
            % (request.param, root, request.param)
        )
    return found


@pytest.fixture(scope="session")
def gilbench_home(tmp_path_factory) -> Path:
    """An isolated lock/cache folder so tests never contend with a real run."""
    return tmp_path_factory.mktemp("gilbench-home")


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, gilbench_home) -> Path:
    """A real smoke run of every workload on this interpreter: results/<run-id>/ folder."""
    results = tmp_path_factory.mktemp("results")
    proc = run_module(
        "workloads",
        "--profile",
        "smoke",
        "--workers",
        "1,2",
        "--run-id",
        "20260101T000000Z-test00",
        "--env",
        "bench-host",
        "--results-dir",
        str(results),
        env={"GILBENCH_HOME": str(gilbench_home)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return results / "20260101T000000Z-test00"


# -- publishing: two real runs, published by the workflow's own merge command --------


def _set_metadata(path: Path, key: str, value: str) -> None:
    """Set ``key`` wherever it occurs in a pyperf file, as a run on a strange machine would:
    in the machine record too (metadata ``machine``, compact JSON)."""

    def walk(node):
        if isinstance(node, dict):
            return {k: value if k == key else record(v) if k == "machine" else walk(v) for k, v in node.items()}
        return [walk(v) for v in node] if isinstance(node, list) else node

    def record(text):
        return json.dumps(walk(json.loads(text)), separators=(",", ":")) if isinstance(text, str) else walk(text)

    path.write_text(json.dumps(walk(json.loads(path.read_text()))))


@pytest.fixture(scope="session")
def publish_results(smoke_run, tmp_path_factory, gilbench_home) -> Path:
    """A results/ folder as CI's publish job sees it: two runs, two machines' worth.

    The session's smoke run, its hostname replaced by HTML and Markdown syntax and
    without a manifest; and a newer real run with a ``run.json`` manifest.
    """
    results = tmp_path_factory.mktemp("ci") / "results"
    shutil.copytree(smoke_run, results / smoke_run.name)
    _set_metadata(results / smoke_run.name / "bench-host.json", "hostname", HOSTILE)
    newer = "20260102T000000Z-test01"
    proc = run_module(
        "workloads",
        *SMOKE_COUNTDOWN,
        "--run-id",
        newer,
        "--env",
        "bench-other",
        "--results-dir",
        str(results),
        env={"GILBENCH_HOME": str(gilbench_home)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    from harness.run import machine_info

    manifest = {
        "format": "gilbench-run/1",
        "run_id": newer,
        "profile": "smoke",
        "started": "2026-01-02T00:00:00Z",
        "machine": machine_info(),
        "envs": {"bench-other": {"status": "ok"}},
    }
    (results / newer / "meta" / "run.json").write_text(json.dumps(manifest))
    shutil.copy(ROOT / "results" / "README.md", results / "README.md")  # a checkout's results/ has it too
    return results


@pytest.fixture(scope="session")
def published_docs(publish_results) -> Path:
    """A copy of docs/ without its published runs, after the workflow's merge step ran on it."""
    return merge_as_the_workflow_does(publish_results.parent)


@pytest.fixture(scope="session")
def site(published_docs, tmp_path_factory) -> Path:
    """The docs with two published runs, built as `tox -e docs` builds them."""
    out = tmp_path_factory.mktemp("site")
    build_docs(published_docs, out)
    return out
