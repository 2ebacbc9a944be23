"""The decision pages in headless Chromium, over the demo task's filled store: the overview (the
report's table and plots, the next step reached by keyboard), every run and a training curve, the
training form (a preset refills it; a value out of range is shown by its field, and no job
starts), the diagnose estimate. Every form control has a label, nothing logs a console error, and
nothing is fetched from outside the app. Screenshots land in tests/artifacts/ui-*.png.
"""

from __future__ import annotations

from pathlib import Path

from conftest import ARTIFACTS
from tunegate.store import Store
from tunegate.train.config import resolve_config
from web.conftest import ARGS, chromium, free_port, ui_server

UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map(el => el.name || el.id)"""


def test_decision_pages_in_chromium(demo_ws: Path, tmp_path: Path) -> None:
    exe = chromium()
    from playwright.sync_api import expect, sync_playwright

    folder = demo_ws / "support-tickets"
    with Store(folder) as store:
        runs = [(r.id, r.kind) for r in store.runs()]
    train_run = next(i for i, k in runs if k == "train")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    errors: list[str] = []
    offsite: list[str] = []
    with ui_server(demo_ws, port, tmp_path / "ui.log"), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(exe), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(120_000)  # plots are drawn on the first visit
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            page.on("request", lambda r: r.url.startswith(base) or offsite.append(r.url))

            def shot(name: str) -> None:
                page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"), full_page=True)
                assert page.evaluate(UNLABELLED) == [], name

            # the overview is the decision; its next step is reached with the keyboard
            page.goto(f"{base}/tasks/support-tickets")
            expect(page.locator("#recommendation .headline")).to_be_visible()
            expect(page.locator("#rungs tr[data-rung]")).to_have_count(7)
            expect(page.locator("#flips li").first).to_be_visible()
            assert page.locator("figure.plot svg").count() >= 4
            shot("overview")
            for _ in range(60):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.id") == "next":
                    break
            assert page.evaluate("document.activeElement.id") == "next"
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/tasks/support-tickets/playground")

            # every run of the store, and a training run's curves
            page.click("#nav-runs")
            expect(page.locator("#runs tr[data-run]")).to_have_count(len(runs))
            shot("runs")
            page.click(f"a[href$='/runs/{train_run}']")
            expect(page.locator("svg.curve polyline")).to_have_count(1)
            assert page.locator("svg.curve circle.eval").count() > 0
            shot("run")

            # the training form: a preset refills it; an out-of-range value is shown inline
            page.click("#nav-train")
            expect(page.locator("#train-command")).to_contain_text("--preset quick")
            page.select_option("#f-preset", "quality")
            quality = resolve_config("quality").model_dump()
            expect(page.locator("#f-epochs")).to_have_value(str(quality["epochs"]))
            expect(page.locator("#train-command")).to_contain_text("--preset quality")
            expect(page.locator("#train-estimate")).to_contain_text("steps, $")
            page.fill("#f-rank", "0")
            page.focus("#start")
            page.keyboard.press("Enter")
            expect(page.locator("#e-rank")).to_have_text("rank: Input should be greater than 0")
            expect(page.locator("#f-rank")).to_have_attribute("aria-invalid", "true")
            expect(page.locator("#f-preset")).to_have_value("quality")  # the form kept its values
            shot("train-error")
            page.fill("#f-rank", "8")
            page.locator("#f-rank").dispatch_event("change")
            expect(page.locator("#train-command")).to_contain_text("--set rank=8")
            shot("train")

            # diagnose: each rung's expected time before it starts
            page.click("#nav-diagnose")
            page.check("input[name=rungs][value=rag]")
            page.fill("#limit", "10")
            page.locator("#limit").dispatch_event("change")
            expect(page.locator("#estimate caption")).to_contain_text("for 10 items")
            expect(page.locator("#estimate tr[data-rung=rag]")).to_contain_text(" s")
            shot("diagnose")
        finally:
            browser.close()
    assert errors == [], errors
    assert offsite == [], offsite
    with Store(folder) as store:
        assert store.jobs() == []  # the invalid form started nothing
