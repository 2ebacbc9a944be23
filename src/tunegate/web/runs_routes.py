"""Pages over the whole store: every run (CLI, demo or UI), one run with its curves, and two
diagnose runs side by side (`tunegate report --compare`)."""

from __future__ import annotations

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from tunegate.errors import TunegateError
from tunegate.store import Store
from tunegate.web import runs
from tunegate.web.app import page, state

router = APIRouter()


@router.get("/tasks/{slug}/runs", response_class=HTMLResponse)
def runs_page(request: Request, slug: str) -> HTMLResponse:
    folder = state(request).workspace.folder(slug)
    with Store(folder) as store:
        rows = runs.run_rows(store)
    live = any(r["live"] for r in rows)
    name = "runs_table.html" if request.headers.get("hx-request") else "runs.html"
    return page(request, name, slug=slug, tab="runs", rows=rows, live=live)


@router.get("/tasks/{slug}/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, slug: str, run_id: str) -> HTMLResponse:
    folder = state(request).workspace.folder(slug)
    with Store(folder) as store:
        run = store.run(run_id)
        row = next(r for r in runs.run_rows(store) if r["id"] == run.id)
        curve = runs.curve(store, run.id) if run.kind == "train" else None
    text = yaml.safe_dump(run.config, sort_keys=False, allow_unicode=True, width=100)
    name = "run_live.html" if request.headers.get("hx-request") else "run.html"
    return page(request, name, slug=slug, tab="runs", run=run, row=row, curve=curve,
                config=text)  # fmt: skip


@router.get("/tasks/{slug}/compare")
def compare_page(request: Request, slug: str) -> Response:
    """Two diagnose runs (`?pick=A&pick=B`) side by side: the page `tunegate report --compare A B`
    writes."""
    from tunegate.report.compare import build_compare

    folder = state(request).workspace.folder(slug)
    picked = list(dict.fromkeys(request.query_params.getlist("pick")))
    if len(picked) != 2:
        raise TunegateError(f"compare: tick two diagnose runs (ticked {len(picked)})")
    a, b = picked
    with Store(folder) as store:
        kinds = {store.run(x).kind for x in (a, b)}
    if kinds != {"diagnose"}:
        raise TunegateError("compare: both runs must be diagnose runs")
    _, path = build_compare(folder, a, b)
    return FileResponse(path, media_type="text/html")
