"""The Sphinx site: builds with warnings as errors, opens cleanly in Chromium (the
workflow that publishes it is checked in tests/test_workflow.py)."""

from __future__ import annotations

import pytest
from browser import inspect_page
from helpers import HOSTILE, ROOT, build_docs

from workloads import _registry

RUN = "20260101T000000Z-test00"  # the run with the hostile hostname


def test_committed_docs_build_with_warnings_as_errors(tmp_path):
    build_docs(ROOT / "docs", tmp_path / "html")
    assert "No runs are published yet" in (tmp_path / "html" / "results" / "index.html").read_text() or any(
        (ROOT / "docs" / "results").glob("*/raw")
    )


def test_workloads_page_lists_every_declared_workload(site):
    html = (site / "workloads.html").read_text()
    for name, wl in _registry.load_all().items():
        assert ">%s<" % name in html and ">%s<" % wl.module in html, name


@pytest.mark.browser
def test_hostile_metadata_renders_as_text(site):
    page = site / "results" / (RUN + ".html")
    assert "<script>alert(1)</script>" not in page.read_text()
    check = inspect_page(page.as_uri())
    assert check.console_errors == [] and check.page_errors == []
    assert HOSTILE in check.text  # every character shown literally, nothing became markup
    assert HOSTILE in inspect_page((site / "results" / "index.html").as_uri()).text


@pytest.mark.browser
@pytest.mark.parametrize(
    "page", ["index.html", "gil.html", "results/index.html", "results/latest.html", "results/%s.html" % RUN]
)
def test_site_pages_open_without_errors_or_outside_requests(site, page):
    check = inspect_page((site / page).as_uri())
    assert check.console_errors == [] and check.page_errors == []
    assert [u for u in check.requests if not u.startswith(("file:", "data:"))] == []
    if page.startswith(("gil", "results/2")):  # the guide embeds the newest run's charts
        assert check.figures, "no chart on %s" % page
        for fig in check.figures:
            assert fig["w"] > 100 and fig["h"] > 100, fig


def test_every_kernel_of_the_scaling_family_has_a_row_with_its_published_figures():
    text = (ROOT / "docs" / "workloads.md").read_text()
    section = text[text.index("## The scaling family") :]
    rows = {line.split("|")[1].strip().split()[0].strip("`") for line in section.splitlines() if line.startswith("| `")}
    assert rows == {wl.name for wl in _registry.select(_registry.load_all(), suites=["scaling"])}
