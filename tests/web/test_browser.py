"""The UI in headless Chromium against a real `tunegate ui` subprocess on 127.0.0.1.

The default test drives what needs no model: a malformed upload's error, an upload and its
preview, the editor's inline validation, Check and the rows behind a problem. The slow one drives
the whole path on a 60-row CSV of the demo tickets and the tiny random Llama: upload -> preview
(shape, labels) -> check -> diagnose two rungs on 10 items -> a third with its time estimate ->
train from the form with the loss chart live -> the overview, equal to `tunegate report --json`.
Each step asserts what the page shows; screenshots land in tests/artifacts/ui-*.png (gitignored).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ARTIFACTS
from web.conftest import ARGS, chromium, demo_slice, free_port, ui_server


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
            page.wait_for_url(base + "/uploads/tickets")
            expect(page.locator("#detected-shape")).to_have_text("columns")
            expect(page.locator("#output-type")).to_have_text("json")
            expect(page.locator("#schema-fields code")).to_have_text(
                ["category", "urgency", "product", "summary"]
            )
            page.screenshot(path=str(ARTIFACTS / "ui-upload-preview.png"), full_page=True)
            page.click("#create")
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


def tickets_csv(path: Path, rows: int = 60) -> Path:
    """The first `rows` demo tickets as a CSV of message and category (a label task)."""
    import csv
    import json

    from conftest import EXAMPLES

    lines = (EXAMPLES / "support-tickets" / "data" / "train.jsonl").read_text().splitlines()
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["message", "category"])
        for line in lines[:rows]:
            row = json.loads(line)
            out.writerow([row["message"], row["ticket"]["category"]])
    return path


# The form's settings for a tiny-model run of a few seconds (as FAST_YAML).
# enough steps that the run outlasts several of the page's 2-second polls on an idle machine
FAST_FORM = {"steps": "160", "batch_size": "4", "lr": "0.02", "eval_every": "40",
             "checkpoint_every": "80", "patience": "0", "val_fraction": "0.25", "layers": "1",
             "warmup": "0", "threads": "1"}  # fmt: skip


@pytest.mark.slow
def test_the_whole_path_in_chromium(tmp_path: Path, tiny_llama: Path) -> None:
    """Upload a CSV, confirm its shape and labels, check, diagnose two rungs on 10 items, train
    from the form with the loss chart live, and read the decision, equal to `report --json`."""
    exe = chromium()
    from playwright.sync_api import expect, sync_playwright

    from report_store import run_cli
    from web.test_overview import cells

    data = tickets_csv(tmp_path / "tickets.csv")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    task = f"{base}/tasks/tickets"
    errors: list[str] = []
    with ui_server(tmp_path / "ws", port, tmp_path / "ui.log"), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(exe), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(120_000)  # the jobs share 2 busy cores
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            offsite: list[str] = []
            page.on("request", lambda r: r.url.startswith(base) or offsite.append(r.url))

            def shot(name: str) -> None:
                page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"), full_page=True)

            # upload a CSV: its shape, labels and first prompts, before the task is written
            page.goto(base + "/")
            page.fill("#upload input[name=name]", "tickets")
            page.set_input_files("#upload input[name=file]", str(data))
            page.click("#upload button")
            page.wait_for_url(base + "/uploads/tickets")
            expect(page.locator("#detected-shape")).to_have_text("columns")
            expect(page.locator("#output-type")).to_have_text("label")
            expect(page.locator("#labels")).to_contain_text("outage")
            expect(page.locator(".example pre.target").first).to_be_visible()
            shot("1-upload")
            page.click("#create")
            page.wait_for_url(task)

            # the tiny model, then check
            page.click("#nav-edit")
            page.fill("#edit input[name=model]", str(tiny_llama))
            page.click("#edit button")
            expect(page.locator("#edit-saved")).to_be_visible()
            page.click("#nav-check")
            page.click("#run-check button")
            expect(page.locator("#verdict")).to_contain_text("47 train")
            shot("2-check")

            # diagnose two rungs on 10 items, live over SSE
            page.click("#nav-diagnose")
            page.check("input[name=rungs][value=zero_shot]")
            page.check("input[name=rungs][value=constrained]")
            page.fill("#limit", "10")
            page.click("#start-diagnose button")
            results = page.locator("#results")
            expect(results).to_be_visible(timeout=300_000)
            expect(results.locator("tr[data-rung]")).to_have_count(2)
            expect(page.locator(".job .status").first).to_have_text("done")
            # a third rung: its time is estimated from the two measured, then measured
            page.check("input[name=rungs][value=few_shot]")
            page.fill("#limit", "10")
            page.locator("#limit").dispatch_event("change")
            expect(page.locator("#estimate tr[data-rung=few_shot]")).to_contain_text(" s")
            page.click("#start-diagnose button")
            expect(page.locator(".job .status").first).to_have_text("done", timeout=300_000)
            row = page.locator(".job").first.locator("tr[data-rung=few_shot]")
            expect(row.locator(".estimate")).to_contain_text(" s")
            expect(row.locator(".actual .ratio")).to_contain_text("× the estimate")
            shot("3-diagnose")

            # train from the form; the loss chart updates while it runs
            page.click("#nav-train")
            for name, value in FAST_FORM.items():
                page.fill(f"#f-{name}", value)
            page.select_option("#f-schedule", "constant")
            page.click("#start")
            job = page.locator(".job").first
            curves: set[str] = set()
            while job.locator(".status").inner_text() in ("queued", "running"):
                line = job.locator("svg.curve polyline")
                if line.count():
                    curves.add(line.get_attribute("points") or "")
                if len(curves) == 2:  # a page opened mid-run shows where the job is at once
                    other = browser.new_page()
                    other.goto(task + "/train")
                    assert int(other.locator(".job .step").first.inner_text()) > 0
                    other.close()
                page.wait_for_timeout(150)
            expect(job.locator(".status")).to_have_text("done")
            assert len(curves) >= 3, len(curves)
            expect(job.locator(".step")).to_have_text(FAST_FORM["steps"])
            shot("4-train")

            # the overview: the decision's table, equal to `tunegate report --json`
            page.click("#nav-task")
            expect(page.locator("#rungs tr[data-rung]")).to_have_count(3)
            shot("5-overview")
            folder = tmp_path / "ws" / "tickets"
            out = tmp_path / "report.json"
            done = run_cli("report", str(folder), "--out", str(tmp_path / "r.html"), "--json",
                           str(out))  # fmt: skip
            assert done.returncode == 0, done.stderr
            import json

            payload = json.loads(out.read_text())
            table = cells(page.content())
            rungs = payload["evidence"]["rungs"]
            assert list(table) == [r["rung"] for r in rungs]
            for r in rungs:
                values = {m["name"]: m["value"] for m in r["metrics"]}
                assert {k: v for k, (v, _) in table[r["rung"]].items()} == {
                    k: values[k] for k in table[r["rung"]]
                }
            headline = page.locator("#recommendation .headline").inner_text()
            assert headline == payload["decision"]["headline"]

            # the runs: two diagnose, one train (and the check), side by side
            page.click("#nav-runs")
            expect(page.locator("#runs tr[data-run]")).to_have_count(4)
            shot("6-runs")
        finally:
            browser.close()
    assert errors == [], errors
    assert offsite == [], offsite  # every asset is served by the app itself
