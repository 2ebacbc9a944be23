"""The overview is the decision: the same recommendation, rungs x signals table and plots as the
report, rendered by the report's own partials, and its figures equal `tunegate report --json`."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from report_store import run_cli
from tunegate.report.html import fmt_metric
from tunegate.web.app import create_app


@pytest.fixture(scope="module")
def client(demo_ws: Path) -> Iterator[TestClient]:
    with TestClient(create_app(demo_ws)) as c:
        yield c


def cells(page: str) -> dict[str, dict[str, tuple[float, str]]]:
    """rung -> metric name -> (data-value, the cell's text) from the #rungs table."""
    table = page[page.index('id="rungs"') : page.index("</table>", page.index('id="rungs"'))]
    out: dict[str, dict[str, tuple[float, str]]] = {}
    for rung, row in re.findall(r'<tr data-rung="([^"]+)"[^>]*>(.*?)</tr>', table, re.S):
        found = re.findall(
            r'data-metric="([^"]+)" data-value="([^"]+)">(.*?)(?:<span class="st">|</td>)', row
        )
        out[rung] = {name: (float(v), text) for name, v, text in found}
    return out


def test_overview_figures_equal_report_json(
    demo_ws: Path, client: TestClient, tmp_path: Path
) -> None:
    folder = demo_ws / "support-tickets"
    out = tmp_path / "report.json"
    done = run_cli("report", str(folder), "--out", str(tmp_path / "r.html"), "--json", str(out))
    assert done.returncode == 0, done.stderr
    payload = json.loads(out.read_text())
    page = client.get("/tasks/support-tickets").text
    decision = payload["decision"]
    shown = html.unescape(re.search(r'<div class="headline">(.*?)</div>', page).group(1))
    assert shown == decision["headline"]
    assert f"Chosen rung: <strong>{decision['chosen']}</strong>" in page
    flips = page[page.index('id="flips"') : page.index("</ul>", page.index('id="flips"'))]
    assert [html.unescape(f) for f in re.findall(r"<li>(.*?)</li>", flips)] == decision["flips"]
    table = cells(page)
    rungs = payload["evidence"]["rungs"]
    assert list(table) == [r["rung"] for r in rungs]
    compared = 0
    for r in rungs:
        metrics = {m["name"]: m for m in r["metrics"]}
        for name, (value, text) in table[r["rung"]].items():
            m = metrics[name]
            assert value == m["value"], (r["rung"], name)
            expected = fmt_metric(_metric(m))
            assert text == expected, (r["rung"], name)
            compared += 1
    assert compared >= 5 * len(rungs)  # format, knowledge, tokens, cost, latency per rung
    # every rung's target statuses, as decide judged them
    status = {s["rung"]: s["overall"] for s in decision["rungs"]}
    for rung, overall in status.items():
        row = re.search(rf'<tr data-rung="{rung}".*?</tr>', page, re.S).group(0)
        assert f'class="s-{overall.replace(" ", "-")}"' in row


def _metric(m: dict[str, Any]) -> Any:
    from tunegate.outputs import Metric

    return Metric(**m)


def test_overview_has_the_plots_and_the_next_step(client: TestClient) -> None:
    page = client.get("/tasks/support-tickets").text
    keys = re.findall(r'<figure class="plot" id="plot-([^"]+)">', page)
    assert keys[:3] == ["signals", "cost", "latency"] and "loss" in keys
    assert page.index('id="recommendation"') < page.index('id="next"') < page.index('id="rungs"')
    # finetuned is chosen and measured: the next step is to serve it
    nxt = re.search(r'<a class="button" id="next" href="([^"]+)">([^<]+)</a>', page)
    assert nxt.groups() == ("/tasks/support-tickets/playground", "Serve it")
    assert "<code>tunegate serve support-tickets</code>" in page
    css = client.get("/static/report.css")
    assert css.status_code == 200 and ".verdict" in css.text


def test_every_run_of_the_store_is_listed(demo_ws: Path, client: TestClient) -> None:
    from tunegate.store import Store

    with Store(demo_ws / "support-tickets") as store:
        stored = [(r.id, r.kind) for r in store.runs()]
    page = client.get("/tasks/support-tickets/runs").text
    assert re.findall(r'<tr data-run="([^"]+)" data-kind="(\w+)">', page) == stored
    train = next(i for i, k in stored if k == "train")
    run = client.get(f"/tasks/support-tickets/runs/{train}").text
    assert "<polyline" in run and '<circle class="eval"' in run and "preset:" in run


def test_two_diagnose_runs_side_by_side(demo_ws: Path, client: TestClient) -> None:
    from tunegate.store import Store

    with Store(demo_ws / "support-tickets") as store:
        a, b = [r.id for r in store.runs("diagnose")][:2]
    page = client.get(f"/tasks/support-tickets/compare?pick={a}&pick={b}")
    assert page.status_code == 200 and 'id="compare"' in page.text
    assert f"A: <strong>{a}</strong>" in page.text
    one = client.get(f"/tasks/support-tickets/compare?pick={a}")
    assert one.status_code == 400 and "tick two diagnose runs (ticked 1)" in one.text


def test_the_diagnose_estimate_comes_from_the_measured_speed(
    demo_ws: Path, client: TestClient
) -> None:
    from tunegate.store import Store

    with Store(demo_ws / "support-tickets") as store:
        run = next(r for r in store.runs("diagnose") if store.result(r.id, "rung.rag"))
        rag = store.result(run.id, "rung.rag")
    per_item = rag["seconds"] / len(rag["outputs"]["items"])
    page = client.post(
        "/tasks/support-tickets/diagnose/estimate", data={"rungs": ["rag"], "limit": "10"}
    ).text
    row = re.search(r'<tr data-rung="rag"><td>rag</td><td class="num">([^<]+)</td>', page)
    assert row.group(1) == f"{per_item * 10:.0f} s" and f"measured in {run.id}" in page
    assert "for 10 items" in page
    bad = client.post("/tasks/support-tickets/diagnose/estimate", data={"limit": "x"}).text
    assert "limit: expected a whole number ≥ 1" in bad


def test_the_overview_follows_a_new_run(demo_ws: Path, tmp_path: Path) -> None:
    """A diagnose written after the page was drawn changes the page (no stale decision)."""
    import shutil

    from report_store import TUNED, rung_outputs, write_diagnose
    from tunegate.data.split import load_dataset
    from tunegate.signals.parse import CachedEncoder
    from tunegate.spec import load_task, output_schema
    from tunegate.store import Store

    ws = tmp_path / "ws"
    shutil.copytree(demo_ws / "support-tickets", ws / "support-tickets")
    with TestClient(create_app(ws)) as c:
        before = cells(c.get("/tasks/support-tickets").text)["constrained"]
        task, folder = load_task(ws / "support-tickets")
        examples = load_dataset(task, folder).test
        with Store(folder) as store:
            out = rung_outputs("constrained", examples, TUNED[1.0], seed=3)
            write_diagnose(store, task, output_schema(task, folder), [out], CachedEncoder())
            newest = store.runs("diagnose")[0].id
            stored = store.result(newest, "rung.constrained")["metrics"]
        after = cells(c.get("/tasks/support-tickets").text)["constrained"]
    name = "knowledge.field_accuracy"
    assert after[name][0] == next(m["value"] for m in stored if m["name"] == name)
    assert after[name][0] > before[name][0]
