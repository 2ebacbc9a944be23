"""The UI in headless Chromium against a real `tunegate ui` subprocess on 127.0.0.1.

The default test drives what needs no model: a malformed upload's error, an upload, the editor's
inline validation, Check and the rows behind a problem. The slow one drives the whole path:
upload -> edit -> check -> diagnose -> train -> report -> playground, on a 60-row slice of the
demo task and the tiny random Llama. Each step asserts what the page shows; screenshots land in
tests/artifacts/ui-*.png (gitignored).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import ARTIFACTS
from web.conftest import ARGS, FAST_YAML, chromium, demo_slice, free_port, ui_server


def test_upload_edit_check_in_chromium(tmp_path: Path) -> None:
    exe = chromium()
    from playwright.sync_api import expect, sync_playwright

    data = demo_slice(tmp_path / "tickets.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"message": "hi", "ticket": "x"}\n[1, 2]\n', encoding="utf-8")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    errors: list[str] = []
    with ui_server(tmp_path / "ws", port, tmp_path / "ui.log"), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(exe), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(90_000)  # Check and the jobs share 2 busy cores
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.goto(base + "/")
            page.set_input_files("#upload input[name=file]", str(bad))
            page.click("#upload button")
            expect(page.locator("#upload-error")).to_have_text(
                "bad/data/bad.jsonl:2: expected a JSON object, got list"
            )
            page.screenshot(path=str(ARTIFACTS / "ui-upload-error.png"), full_page=True)
            page.fill("#upload input[name=name]", "tickets")
            page.set_input_files("#upload input[name=file]", str(data))
            page.click("#upload button")
            page.wait_for_url(base + "/tasks/tickets")
            page.click("#nav-edit")
            page.fill("#edit textarea[name=targets]", "min_accuracy: 1.5\n")
            page.click("#edit button")
            expect(page.locator("#edit-error")).to_have_text(
                "tunegate.yaml: targets.min_accuracy: Input should be less than or equal to 1"
            )
            expect(page.locator("#edit textarea[name=targets]")).to_have_value(
                "min_accuracy: 1.5\n"
            )
            page.screenshot(path=str(ARTIFACTS / "ui-edit-error.png"), full_page=True)
            page.fill("#edit textarea[name=targets]", "min_accuracy: 0.75\n")
            page.click("#edit button")
            expect(page.locator("#edit-saved")).to_be_visible()
            page.click("#nav-check")
            page.click("#run-check button")
            expect(page.locator("#verdict")).to_contain_text("47 train")
            page.click("a[href$='/check/rows.empty_inputs']")
            expect(page.locator("#rows td.ref")).to_have_text(["data/tickets.jsonl:3"])
        finally:
            browser.close()
    assert errors == [], errors
    assert "min_accuracy: 0.75" in (tmp_path / "ws" / "tickets" / "tunegate.yaml").read_text()


@pytest.mark.slow
def test_upload_check_diagnose_train_report_playground(tmp_path: Path, tiny_llama: Path) -> None:
    exe = chromium()
    from playwright.sync_api import expect, sync_playwright

    data = demo_slice(tmp_path / "tickets.jsonl")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    errors: list[str] = []
    with ui_server(tmp_path / "ws", port, tmp_path / "ui.log"), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(exe), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(90_000)  # Check and the jobs share 2 busy cores
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            offsite: list[str] = []
            page.on("request", lambda r: r.url.startswith(base) or offsite.append(r.url))

            def shot(name: str) -> None:
                page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"), full_page=True)

            # upload
            page.goto(base + "/")
            page.fill("#upload input[name=name]", "tickets")
            page.set_input_files("#upload input[name=file]", str(data))
            page.click("#upload button")
            page.wait_for_url(base + "/tasks/tickets")
            expect(page.locator("#recommendation")).to_contain_text("No diagnose yet")
            shot("1-task")

            # edit: the tiny model (htmx swaps the form with "Saved.")
            page.click("#nav-edit")
            page.fill("#edit input[name=model]", str(tiny_llama))
            page.click("#edit button")
            expect(page.locator("#edit-saved")).to_be_visible()
            expect(page.locator("#edit input[name=model]")).to_have_value(str(tiny_llama))

            # check, and the row behind the empty-input problem
            page.click("#nav-check")
            page.click("#run-check button")
            expect(page.locator("#readiness")).to_be_visible()
            expect(page.locator("#verdict")).to_contain_text("47 train")
            shot("2-check")
            page.click("a[href$='/check/rows.empty_inputs']")
            expect(page.locator("#rows td.ref")).to_have_text(["data/tickets.jsonl:3"])
            shot("3-check-rows")

            # diagnose two rungs on four items; the page follows the job over SSE
            page.click("#nav-diagnose")
            page.check("input[name=rungs][value=zero_shot]")
            page.check("input[name=rungs][value=constrained]")
            page.fill("input[name=limit]", "4")
            page.click("#start-diagnose button")
            expect(page.locator(".job-box").first).to_be_visible()
            results = page.locator("#results")
            expect(results).to_be_visible(timeout=240_000)
            expect(results.locator("tr[data-rung]")).to_have_count(2)
            expect(results.locator("tr[data-rung=constrained]")).to_contain_text("[")  # an interval
            expect(page.locator(".job .status").first).to_have_text("done")
            shot("4-diagnose")

            # train a few steps: the loss curve and tokens/s
            page.click("#nav-train")
            page.select_option("#start-train select[name=preset]", "quick")
            page.fill("#start-train textarea[name=settings]", FAST_YAML)
            page.click("#start-train button")
            job = page.locator(".job").first
            expect(job.locator(".status")).to_have_text("done", timeout=240_000)
            expect(job.locator(".step")).to_have_text("8")
            expect(job.locator(".tps")).to_have_text(_positive())
            expect(job.locator("svg.curve polyline")).to_have_count(1)
            shot("5-train")

            # report inline, and its recommendation on the task page
            page.click("#nav-report")
            page.click("#build-report button")
            frame = page.frame_locator("iframe#report")
            headline = frame.locator("#recommendation .headline")
            expect(headline).to_be_visible(timeout=60_000)
            text = headline.inner_text()
            shot("6-report")
            page.click("#nav-task")
            expect(page.locator("#recommendation .headline")).to_have_text(text)

            # playground: one input, three rungs side by side
            page.click("#nav-playground")
            page.fill("textarea[name=in_message]", "My Skylark router keeps dropping wifi.")
            expect(page.locator("input[name=rungs]:checked")).to_have_count(1)  # zero_shot
            for rung in ("constrained", "finetuned"):
                page.check(f"input[name=rungs][value={rung}]")
            page.click("#play button")
            answers = page.locator("#answers .answer")
            expect(answers).to_have_count(3, timeout=120_000)
            for i in range(3):
                expect(answers.nth(i).locator(".latency")).to_contain_text(" ms")
                expect(answers.nth(i).locator(".tokens")).to_contain_text("out tokens")
            expect(answers.locator("h3")).to_have_text(["zero_shot", "constrained", "finetuned"])
            shot("7-playground")
        finally:
            browser.close()
    assert errors == [], errors
    assert offsite == [], offsite  # every asset is served by the app itself


def _positive() -> Any:
    import re

    return re.compile(r"^[1-9][0-9]*$")
