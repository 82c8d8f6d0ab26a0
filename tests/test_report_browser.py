"""The HTML report in a real browser: no console errors, charts visible, nothing fetched."""

from __future__ import annotations

import pytest
from browser import inspect_page
from helpers import run_module

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def smoke_report(smoke_run, tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    proc = run_module("harness", "report", str(smoke_run), "--reports-dir", str(reports))
    assert proc.returncode == 0, proc.stderr
    path = reports / smoke_run.name / "index.html"
    assert "report: %s" % path in proc.stdout
    return path


@pytest.fixture(scope="module")
def smoke_page(smoke_report):
    """The report as Chromium sees it: loaded once for the tests below."""
    return inspect_page(smoke_report.as_uri())


def test_report_opens_without_errors_and_charts_have_size(smoke_page):
    check = smoke_page
    assert check.console_errors == [] and check.page_errors == []
    assert check.figures, "no chart in the report"
    for fig in check.figures:
        assert fig["w"] > 100 and fig["h"] > 100, fig
    assert "Findings" in check.text and "countdown" in check.text


def test_report_is_self_contained(smoke_report, smoke_page):
    outside = [u for u in smoke_page.requests if not u.startswith(("file:", "data:"))]
    assert outside == []
    html = smoke_report.read_text()
    assert "<script src" not in html and "<link" not in html
