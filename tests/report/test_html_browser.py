"""The HTML report in headless Chromium: no console errors, every plot visible, a screenshot.

Drives Debian's chromium (`apt-get install chromium`, as .ci/run does) through the Python
playwright package, never a downloaded browser build. Skips with the reason when either is
missing. The screenshot lands in tests/artifacts/ (gitignored).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import ARTIFACTS

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium() -> Path:
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extras)")
    return CHROMIUM if CHROMIUM.exists() else Path(str(shutil.which("chromium")))


def test_report_renders_in_chromium_with_plots_visible(built_report: Any) -> None:
    exe = chromium()
    from playwright.sync_api import sync_playwright

    result, _, _ = built_report
    messages: list[str] = []
    requests: list[str] = []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(exe), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda exc: messages.append(f"pageerror: {exc}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(result.path.resolve().as_uri(), wait_until="load")
            figures = page.locator("figure.plot svg")
            assert figures.count() == 8
            for i in range(figures.count()):
                svg = figures.nth(i)
                assert svg.is_visible()
                box = svg.bounding_box()
                assert box is not None and box["width"] > 100 and box["height"] > 100, (i, box)
            headline = page.locator("#recommendation .headline")
            assert headline.is_visible()
            assert headline.inner_text() == result.decision.headline
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    errors = [m for m in messages if m.startswith(("error", "pageerror"))]
    assert errors == [], errors
    assert all(u.startswith("file://") for u in requests), requests  # nothing fetched
    assert shot.stat().st_size > 50_000
