"""Open an HTML page in real headless Chromium (Debian's package, driven by playwright).

Never downloads a browser: Chromium comes from the system (``$CHROMIUM`` or PATH).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    return path


@dataclass
class PageCheck:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    figures: list[dict] = field(default_factory=list)
    text: str = ""


def inspect_page(url: str, screenshot: str | None = None) -> PageCheck:
    """Load ``url``; collect console errors, outside requests, and every chart's size."""
    from playwright.sync_api import sync_playwright

    check = PageCheck()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: check.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: check.page_errors.append(str(e)))
            page.on("request", lambda r: check.requests.append(r.url))
            page.goto(url, wait_until="load")
            check.figures = page.eval_on_selector_all(
                "figure.chart svg, img.chart",
                "els => els.map(e => { const r = e.getBoundingClientRect();"
                " return {id: e.closest('figure') ? e.closest('figure').id : e.src, w: r.width, h: r.height}; })",
            )
            check.text = page.inner_text("body")
            if screenshot:
                page.screenshot(path=screenshot, full_page=False)
        finally:
            browser.close()
    return check
