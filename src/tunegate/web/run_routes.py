"""Pages that run things: Diagnose and Train (background jobs, live over SSE), Report, Playground."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse

from tunegate.errors import TunegateError
from tunegate.spec import RUNG_NAMES
from tunegate.store import Job, Store
from tunegate.web import views
from tunegate.web.app import page, redirect, state
from tunegate.web.jobs import LIVE

router = APIRouter()


def _job_context(store: Store, job: Job) -> dict[str, Any]:
    ctx: dict[str, Any] = {"job": job, "live": job.status in LIVE}
    if job.kind == "train":
        ctx["train"] = views.train_view(store, job)
    return ctx


def _jobs_page(request: Request, slug: str, kind: str, **extra: Any) -> HTMLResponse:
    folder = state(request).workspace.folder(slug)
    store = Store(folder)
    try:
        jobs = [_job_context(store, j) for j in store.jobs(kind)[:5]]
    finally:
        store.close()
    table = None
    if kind == "diagnose":
        try:
            table = views.diagnose_table(folder)
        except TunegateError as exc:
            extra.setdefault("error", None)
            extra["error"] = extra["error"] or str(exc)
    return page(request, f"{kind}.html", slug=slug, tab=kind, jobs=jobs, table=table,
                rungs=RUNG_NAMES, **extra)  # fmt: skip


@router.get("/tasks/{slug}/diagnose", response_class=HTMLResponse)
def diagnose_page(request: Request, slug: str, rungs: str = "") -> HTMLResponse:
    """The page; `?rungs=a,b` ticks those rungs (the overview's next step links here)."""
    ticked = [r for r in rungs.split(",") if r in RUNG_NAMES]
    return _jobs_page(request, slug, "diagnose", error=None, ticked=ticked,
                      estimate=_estimate(request, slug, ticked, None))  # fmt: skip


def _diagnose_form(form: Any) -> tuple[list[str], int | None, str | None]:
    rungs = [str(r) for r in form.getlist("rungs") if str(r) in RUNG_NAMES]
    limit = str(form.get("limit") or "").strip()
    if limit and (not limit.isdigit() or int(limit) < 1):
        return rungs, None, "limit: expected a whole number ≥ 1"
    return rungs, int(limit) if limit else None, None


def _estimate(request: Request, slug: str, rungs: list[str], limit: int | None) -> dict[str, Any]:
    """Each rung's expected time for this diagnose (ticked rungs, else the task's list, else
    every rung measured before)."""
    from tunegate.spec import load_task
    from tunegate.web.estimate import diagnose_estimate, planned_items, rung_speeds

    folder = state(request).workspace.folder(slug)
    task, _ = load_task(folder)
    items = planned_items(folder, limit)
    with Store(folder) as store:
        names = rungs or task.ladder.rungs or list(rung_speeds(store))
        rows = diagnose_estimate(store, names, items)
    known = [r.seconds for r in rows if r.seconds is not None]
    return {"items": items, "rows": rows, "total": sum(known) if known else None}


@router.post("/tasks/{slug}/diagnose/estimate", response_class=HTMLResponse)
async def diagnose_estimate_fragment(request: Request, slug: str) -> HTMLResponse:
    rungs, limit, error = _diagnose_form(await request.form())
    estimate = None if error else _estimate(request, slug, rungs, limit)
    return page(request, "diagnose_estimate.html", slug=slug, estimate=estimate, error=error)


@router.post("/tasks/{slug}/diagnose")
async def diagnose_start(request: Request, slug: str) -> Response:
    ui = state(request)
    folder = ui.workspace.folder(slug)
    rungs, limit, error = _diagnose_form(await request.form())
    if error:
        return _jobs_page(request, slug, "diagnose", error=error, ticked=rungs, estimate=None)
    estimate = _estimate(request, slug, rungs, limit)
    planned = {r.rung: r.seconds for r in estimate["rows"] if r.seconds is not None}
    ui.worker.start(folder, "diagnose", {"rungs": rungs, "limit": limit, "estimates": planned})
    return redirect(f"/tasks/{slug}/diagnose")


def _job(request: Request, slug: str, job_id: str) -> tuple[Any, Job]:
    folder = state(request).workspace.folder(slug)
    store = Store(folder)
    try:
        return folder, store.job(job_id)
    finally:
        store.close()


@router.post("/tasks/{slug}/jobs/{job_id}/stop")
def job_stop(request: Request, slug: str, job_id: str) -> Response:
    _, job = _job(request, slug, job_id)
    state(request).worker.stop(job.id)
    return redirect(f"/tasks/{slug}/{job.kind}")


@router.post("/tasks/{slug}/jobs/{job_id}/resume")
def job_resume(request: Request, slug: str, job_id: str) -> Response:
    folder, job = _job(request, slug, job_id)
    state(request).worker.resume(folder, job.id)
    return redirect(f"/tasks/{slug}/{job.kind}")


def _fragment(request: Request, slug: str, job_id: str) -> tuple[str, bool]:
    ui = state(request)
    folder = ui.workspace.folder(slug)
    store = Store(folder)
    try:
        ctx = _job_context(store, store.job(job_id))
    finally:
        store.close()
    html = ui.templates.get_template("job.html").render(slug=slug, **ctx)
    return html, bool(ctx["live"])


@router.get("/tasks/{slug}/jobs/{job_id}", response_class=HTMLResponse)
def job_fragment(request: Request, slug: str, job_id: str) -> HTMLResponse:
    return HTMLResponse(_fragment(request, slug, job_id)[0])


@router.get("/tasks/{slug}/jobs/{job_id}/events")
async def job_events(request: Request, slug: str, job_id: str) -> StreamingResponse:
    """Server-sent events: the job's fragment whenever it changes; `done` once it ends."""
    _fragment(request, slug, job_id)  # a bad name fails here, before the stream starts

    async def stream() -> AsyncIterator[str]:
        last = ""
        while not await request.is_disconnected():
            html, live = _fragment(request, slug, job_id)
            if html != last:
                last = html
                yield (
                    "event: update\n" + "".join(f"data: {ln}\n" for ln in html.splitlines()) + "\n"
                )
            if not live:
                yield "event: done\ndata: {}\n\n".format(json.dumps({"job": job_id}))
                return
            await asyncio.sleep(0.5)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@router.get("/tasks/{slug}/report", response_class=HTMLResponse)
def report_page(request: Request, slug: str) -> HTMLResponse:
    folder = state(request).workspace.folder(slug)
    exists = (folder / ".tunegate" / "report.html").is_file()
    return page(request, "report.html", slug=slug, tab="report", exists=exists, error=None,
                headline=None)  # fmt: skip


@router.post("/tasks/{slug}/report", response_class=HTMLResponse)
def report_build(request: Request, slug: str) -> Response:
    from tunegate.report import build_report

    ui = state(request)
    folder = ui.workspace.folder(slug)
    try:
        build_report(folder)
    except TunegateError as exc:
        return page(request, "report.html", status=400, slug=slug, tab="report", exists=False,
                    error=ui.workspace.tidy(exc), headline=None)  # fmt: skip
    return redirect(f"/tasks/{slug}/report")


@router.get("/tasks/{slug}/report.html")
def report_file(request: Request, slug: str) -> Response:
    path = state(request).workspace.folder(slug) / ".tunegate" / "report.html"
    if not path.is_file():
        raise TunegateError("no report yet: build it first")
    return FileResponse(path, media_type="text/html")


@router.get("/tasks/{slug}/playground", response_class=HTMLResponse)
def playground_page(request: Request, slug: str) -> HTMLResponse:
    from tunegate.spec import load_task
    from tunegate.web.playground import rung_choices

    folder = state(request).workspace.folder(slug)
    task, _ = load_task(folder)
    usable, skipped = rung_choices(folder)
    return page(request, "playground.html", slug=slug, tab="playground", inputs=task.inputs,
                usable=usable, skipped=skipped, answers=None, error=None)  # fmt: skip


@router.post("/tasks/{slug}/playground", response_class=HTMLResponse)
async def playground_run(request: Request, slug: str) -> HTMLResponse:
    from starlette.concurrency import run_in_threadpool

    from tunegate.web.playground import play

    ui = state(request)
    folder = ui.workspace.folder(slug)
    form = await request.form()
    rungs = [str(r) for r in form.getlist("rungs")]
    inputs = {k[3:]: str(v) for k, v in form.items() if k.startswith("in_")}
    answers, error = None, None
    try:
        answers = await run_in_threadpool(play, folder, inputs, rungs)
    except TunegateError as exc:
        error = ui.workspace.tidy(exc)
    except Exception as exc:  # shown in the page, as the CLI prints it; the server goes on
        error = f"{type(exc).__name__}: {exc}"
    return page(request, "answers.html", status=200 if error is None else 400,
                answers=answers, error=error)  # fmt: skip
