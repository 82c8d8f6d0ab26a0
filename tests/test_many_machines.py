"""Two machines, one picture, for real: bench-all on a matched pair under ``taskset -c 0``
and free (two machines for a speedup), merged by the workflow's publish command into one
site whose machines page shows both machines' curves with their intervals, the 1-CPU
machine's capacity among them; built by Sphinx with warnings as errors and opened in
headless Chromium; the same page from ``python -m harness machines``; and ``compare``
refusing to mix the two runs.  No timing is asserted: what the page shows, not what it reads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from browser import inspect_page
from helpers import (
    PAIRS,
    ROOT,
    TOX_WORK,
    assert_one_line_error,
    build_docs,
    merge_as_the_workflow_does,
    provisioned_pair,
    run_module,
)

from harness import interpreters, publish
from harness.page import Estimate, Section, from_json
from workloads.host import this_machine

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_machines(tmp_path_factory, gilbench_home) -> tuple[Path, dict[str, Path]]:
    """``work/results`` with two real bench-all runs of countdown on the first provisioned
    pair, smoke profile, two rounds (so every ratio has an interval), workers 1 and 2: one
    confined to CPU 0 (its w=2 oversubscribed), one free.  Returns ``work`` and the run
    folders by machine id."""
    if shutil.which("taskset") is None or this_machine().cpus < 2:
        pytest.skip("needs taskset (util-linux) and two CPUs")
    pair = next(filter(None, (provisioned_pair(m, interpreters.provisioned_root()) for m in PAIRS)), None)
    if pair is None:
        pytest.skip("no matched pair provisioned (`tox -e provision -- cpython 3.14 --pair`)")
    work = tmp_path_factory.mktemp("machines")
    env = {"GILBENCH_HOME": str(gilbench_home), "TOX_WORK_DIR": str(TOX_WORK)}  # the suite's nested envs
    runs = {}
    for prefix in ((), ("taskset", "-c", "0")):
        before = set((work / "results").glob("*")) if (work / "results").exists() else set()
        proc = run_module(
            *("harness", "bench-all", "--profile", "smoke", "--precision", "1", "--max-rounds", "2"),
            *("--env", ",".join(pair.envs()[:2]), "--workload", "countdown", "--workers", "1,2"),
            *("--no-provision", "--quiet", "--root", str(ROOT)),
            *("--results-dir", str(work / "results"), "--reports-dir", str(work / "reports")),
            env=env,
            prefix=prefix,
            timeout=900,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        (run_dir,) = set((work / "results").glob("*")) - before
        runs[json.loads((run_dir / "meta" / "run.json").read_text())["machine"]["id"]] = run_dir
    return work, runs


@pytest.fixture(scope="module")
def site(two_machines, tmp_path_factory) -> Path:
    work, _ = two_machines
    docs = merge_as_the_workflow_does(work)
    out = tmp_path_factory.mktemp("machines-site")
    build_docs(docs, out)
    return out


def _machines_view(work: Path):
    return from_json((work / "docs" / "results" / publish.MACHINES / publish.VIEW).read_text())


def _walk(sections: list[Section]):
    for section in sections:
        yield section
        yield from _walk(section.subsections)


def _table(view, name: str):
    return next(t for s in _walk(view.sections) for t in s.tables if t.name == name)


def test_the_two_runs_are_two_machines(two_machines):
    _, runs = two_machines
    machines = {
        ident: json.loads((run / "meta" / "run.json").read_text())["machine"]["cpus"] for ident, run in runs.items()
    }
    assert len(machines) == 2 and machines[this_machine().id] == this_machine().cpus
    assert sorted(machines.values()) == [1, this_machine().cpus]


def test_the_merged_site_has_a_machines_page_with_both_machines_curves(two_machines, site):
    work, runs = two_machines
    confined = next(m for m in runs if m != this_machine().id)
    view = _machines_view(work)
    assert [s.id for s in view.sections] == ["machines", "scaling", "overheads"]
    assert {r.cells[0].text for r in _table(view, "machines").rows} == set(runs)
    charts = view.sections[1].charts
    assert len(charts) == 2  # one per interpreter of the pair, each with a line per machine
    for chart in charts:
        svg = (work / "docs" / "results" / publish.MACHINES / (publish.chart_file(chart.name) + ".svg")).read_text()
        assert all(ident in svg for ident in runs) and "oversubscribed" in svg
    index = (work / "docs" / "results" / "index.md").read_text()
    assert "](machines.md)" in index and "\nmachines\n" in index
    assert (site / "results" / "machines.html").exists()
    # every speedup of both machines, with its interval; the confined machine's labelled oversubscribed
    rows = _table(view, "machine-speedups").rows
    assert {r.cells[4].text.split()[0] for r in rows} == set(runs)
    for row in rows:
        speedup = row.cells[5]
        assert isinstance(speedup, Estimate) and speedup.lo is not None and speedup.hi is not None
        if row.cells[4].text.startswith(confined):
            assert "oversubscribed" in row.cells[8].text
            ratio = row.cells[7]  # speedup over the 1-CPU machine's capacity at 2 workers
            assert isinstance(ratio, Estimate) and ratio.lo is not None and ratio.hi is not None


def test_the_one_cpu_machine_has_a_capacity_with_an_interval(two_machines):
    work, runs = two_machines
    confined = next(m for m in runs if m != this_machine().id)
    rows = [r for r in _table(_machines_view(work), "capacity").rows if r.cells[0].text.startswith(confined)]
    assert [r.cells[2].text for r in rows] == ["2"]  # probed at its oversubscribed count
    capacity = rows[0].cells[3]
    assert isinstance(capacity, Estimate) and capacity.lo is not None and capacity.lo < capacity.hi
    assert "oversubscribed" in rows[0].cells[5].text


def test_the_free_threading_overhead_is_shown_per_machine_with_its_geometric_mean(two_machines):
    work, runs = two_machines
    table = _table(_machines_view(work), "machine-overheads")
    confined = next(m for m in runs if m != this_machine().id)
    assert [c.split()[0] for c in table.columns[3:5]] == [confined, this_machine().id]  # fewest CPUs first
    (row,) = table.rows
    assert all(isinstance(c, Estimate) and c.lo is not None for c in row.cells[3:5])
    assert row.cells[5].text and "over 2 machines" in row.cells[6].text


@pytest.mark.browser
def test_the_machines_page_opens_in_chromium(two_machines, site):
    _, runs = two_machines
    check = inspect_page((site / "results" / "machines.html").as_uri())
    assert check.console_errors == [] and check.page_errors == []
    assert [u for u in check.requests if not u.startswith(("file:", "data:"))] == []
    assert len(check.figures) == 2
    for fig in check.figures:
        assert fig["w"] > 100 and fig["h"] > 100, fig
    assert all(ident in check.text for ident in runs) and "oversubscribed" in check.text
    assert "Every machine in one picture" in inspect_page((site / "results" / "index.html").as_uri()).text


@pytest.mark.browser
def test_the_machines_command_writes_the_same_page_as_a_report(two_machines, tmp_path):
    work, runs = two_machines
    proc = run_module("harness", "machines", *map(str, runs.values()), "--reports-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "machines" / "index.html"
    assert proc.stdout.strip() == "report: %s" % path
    check = inspect_page(path.as_uri())
    assert check.console_errors == [] and check.page_errors == [] and len(check.figures) == 2
    view = _machines_view(work)
    for section in _walk(view.sections):
        assert section.title in check.all_text


def test_compare_of_the_two_machines_says_so_in_one_line(two_machines):
    _, runs = two_machines
    free = this_machine().id
    confined = next(m for m in runs if m != free)
    proc = run_module("harness", "compare", str(runs[free]), str(runs[confined]))
    assert_one_line_error(proc, free, confined, "%d CPUs vs 1 CPU" % this_machine().cpus)
