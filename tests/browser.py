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
    dialogs: list[str] = field(default_factory=list)  # alert(), confirm()... a page opened
    figures: list[dict] = field(default_factory=list)
    text: str = ""  # what the page shows
    all_text: str = ""  # every text node, collapsed <details> included
    scripts: int = 0
    images: int = 0


_SESSION: dict = {}  # one playwright and one Chromium for the test session, started on first use


def _browser():
    """The session's Chromium (each page gets its own context): a launch costs seconds."""
    if "browser" not in _SESSION:
        from playwright.sync_api import sync_playwright

        path = chromium_path()
        _SESSION["playwright"] = sync_playwright().start()
        _SESSION["browser"] = _SESSION["playwright"].chromium.launch(executable_path=path, args=FLAGS)
    return _SESSION["browser"]


def close_browser() -> None:
    """Close the session's Chromium, if one was started (``conftest`` does, at the end)."""
    browser, playwright = _SESSION.pop("browser", None), _SESSION.pop("playwright", None)
    if browser is not None:
        browser.close()
    if playwright is not None:
        playwright.stop()


def inspect_page(url: str) -> PageCheck:
    """Load ``url``; collect console errors, dialogs, outside requests, every chart's size,
    and the counts of scripts and images."""
    check = PageCheck()
    page = _browser().new_page(viewport={"width": 1280, "height": 900})
    try:
        page.on("console", lambda m: check.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: check.page_errors.append(str(e)))
        page.on("request", lambda r: check.requests.append(r.url))
        page.on("dialog", lambda d: (check.dialogs.append(d.message), d.dismiss()))
        page.goto(url, wait_until="load")
        check.figures = page.eval_on_selector_all(
            "figure.chart svg, img.chart",
            "els => els.map(e => { const r = e.getBoundingClientRect();"
            " return {id: e.closest('figure') ? e.closest('figure').id : e.src, w: r.width, h: r.height}; })",
        )
        check.text = page.inner_text("body")
        check.all_text = page.text_content("body") or ""
        check.scripts = page.eval_on_selector_all("script", "els => els.length")
        check.images = page.eval_on_selector_all("img", "els => els.length")
    finally:
        page.close()
    return check
