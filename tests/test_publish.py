"""harness publish on real smoke runs: pages, the runs index, raw files that load back."""

from __future__ import annotations

import filecmp
import fnmatch
import re
import shutil

import pytest
from helpers import HOSTILE, ROOT, assert_one_line_error, run_module

from harness import collect, publish
from harness.page import from_json

OLDER, NEWER = "20260101T000000Z-test00", "20260102T000000Z-test01"


def test_index_lists_every_run_newest_first_and_latest_points_to_the_newest(published_docs):
    index = (published_docs / "results" / "index.md").read_text()
    rows = [line for line in index.splitlines() if line.startswith("| [")]
    assert [re.search(r"\((.+)\.md\)", row).group(1) for row in rows] == [NEWER, OLDER]
    assert "2026\\-01\\-02 00\\:00 UTC" in rows[0] and "smoke" in rows[0]
    assert "other \\(cpython" in rows[0] and "host \\(cpython" in rows[1]
    latest = (published_docs / "results" / "latest.md").read_text()
    assert "](%s.md)" % NEWER in latest and OLDER not in latest


def test_index_takes_the_machine_from_the_manifest_and_falls_back_to_pyperf(published_docs, publish_results):
    from harness.run import machine_info

    index = (published_docs / "results" / "index.md").read_text()
    newer, older = [line for line in index.splitlines() if line.startswith("| [")]
    assert "| %s |" % machine_info()["id"] in newer  # run.json's machine id
    assert "| %s |" % machine_info()["id"] in older  # no manifest: its pyperf files' machine record


def test_runs_of_one_machine_get_no_machines_page(published_docs, tmp_path):
    """Two runs of this machine: nothing to set side by side; a machines page left from
    an earlier publish is removed with its folder, as the index no longer lists it."""
    results = published_docs / "results"
    assert not (results / publish.MACHINES).exists() and not (results / (publish.MACHINES + ".md")).exists()
    assert "machines.md" not in (results / "index.md").read_text()
    again = tmp_path / "results"
    shutil.copytree(results, again)
    (again / publish.MACHINES).mkdir()
    (again / (publish.MACHINES + ".md")).write_text("# stale\n")
    publish.write_index(again)
    assert not (again / publish.MACHINES).exists() and not (again / (publish.MACHINES + ".md")).exists()


def test_raw_files_load_back_through_collect_and_pyperf(published_docs, publish_results):
    raw = published_docs / "results" / OLDER / "raw"
    assert sorted(str(p.relative_to(raw)) for p in collect.run_files(raw)) == [
        "bench-host.json.gz",
        "meta/bench-host.status.json",
        "meta/bench-host.timeline.json",
    ]
    original = collect.load_runs([publish_results / OLDER]).benchmarks
    loaded = collect.load_runs([raw]).benchmarks
    assert sorted(loaded["name"]) == sorted(original["name"])
    assert sorted(loaded["mean"]) == sorted(original["mean"])
    assert (published_docs / "results" / NEWER / "raw" / "meta" / "run.json").exists()
    proc = run_module("pyperf", "stats", str(raw / "bench-host.json.gz"))
    assert proc.returncode == 0, proc.stderr
    assert "countdown[threads,w=2]" in proc.stdout


def test_run_page_renders_the_runs_view_with_every_chart(published_docs):
    run_dir = published_docs / "results" / OLDER
    page = (published_docs / "results" / (OLDER + ".md")).read_text()
    assert "```{gilbench-run} %s\n```" % OLDER in page
    view = from_json((run_dir / publish.VIEW).read_text())
    charts = sorted(p.name for p in run_dir.glob("*.svg"))
    assert "scaling-countdown.svg" in charts
    shown = [c for s in view.sections for sub in (s, *s.subsections) for c in sub.charts]
    assert sorted(publish.chart_file(c.name) + ".svg" for c in shown) == charts
    titles = [
        "Findings",
        "Headline",
        "Charts",
        "Scaling kernels: do threads scale?",
        "Numbers",
        "Environment",
        "Failed & unavailable",
    ]
    assert [s.title for s in view.sections] == titles  # the smoke run measures the scaling kernels run by default
    assert (run_dir / "summary.csv").stat().st_size and (run_dir / "derived.csv").stat().st_size
    grouped = view.sections[-1].tables[0]  # no subinterpreters on the host's 3.11: one line per env and reason
    rows = [r for r in grouped.rows if "countdown[interpreters,w=2]" in r.cells[1].detail.split(", ")]
    assert grouped.name == "unavailable" and [r.cells[0].text for r in rows] == ["bench-host"]


def test_strings_from_results_are_escaped_markdown_or_view_text(published_docs):
    """The index is Markdown, escaped; a run's page holds no result string at all: its
    view.json keeps them as plain text, which the directive puts in text nodes."""
    for name in ("index.md", OLDER + ".md"):
        text = (published_docs / "results" / name).read_text()
        assert HOSTILE not in text and "<script>" not in text
    assert "\\<script\\>alert\\(1\\)\\<\\/script\\>" in (published_docs / "results" / "index.md").read_text()
    view = from_json((published_docs / "results" / OLDER / publish.VIEW).read_text())
    assert HOSTILE in view.meta[0].parts[0].text


def test_publishing_again_gives_the_same_files(published_docs, publish_results, tmp_path):
    again = tmp_path / "docs"
    shutil.copytree(published_docs, again)
    publish.publish([publish_results / OLDER, publish_results / NEWER], again)
    for folder in ("results", "results/%s" % OLDER, "results/%s/raw" % OLDER):
        names = [p.name for p in (published_docs / folder).iterdir() if p.is_file() and p.suffix != ".svg"]
        _same, mismatch, errors = filecmp.cmpfiles(published_docs / folder, again / folder, names, shallow=False)
        assert (mismatch, errors) == ([], []), folder
    assert not list((again / "results").glob(".*")), "staging folders left behind"


def test_publish_of_a_missing_folder_is_a_one_line_error(tmp_path):
    proc = run_module("harness", "publish", str(tmp_path / "nope"), "--docs-dir", str(tmp_path / "docs"))
    assert_one_line_error(proc, "nope")
    assert not (tmp_path / "docs").exists()


def test_committed_index_is_current(tmp_path):
    """docs/results/index.md and latest.md are what publish writes for the committed runs."""
    shutil.copytree(ROOT / "docs" / "results", tmp_path / "results")
    publish.write_index(tmp_path / "results")
    for name in ("index.md", "latest.md"):
        assert (tmp_path / "results" / name).read_text() == (ROOT / "docs" / "results" / name).read_text(), name


def test_guide_charts_exist_in_the_committed_run():
    """Every ``latest-chart`` pattern of the guide matches a chart of the committed example run."""
    latest = publish.latest_run(ROOT / "docs" / "results")
    if latest is None:
        pytest.skip("no example run is committed under docs/results yet")
    charts = [p.stem for p in (ROOT / "docs" / "results" / latest).glob("*.svg")]
    for page in (ROOT / "docs").glob("*.md"):
        for pattern in re.findall(r"```\{latest-chart\} (\S+)", page.read_text()):
            assert any(fnmatch.fnmatch(c, pattern) for c in charts), (page.name, pattern, charts)
