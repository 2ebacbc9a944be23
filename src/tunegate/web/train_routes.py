"""The Train page: a form generated from the training config, filled by a preset, with the
equivalent command and a time and cost estimate; Start validates every field before a job runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tunegate.spec import load_task
from tunegate.store import Store
from tunegate.train.config import PRESETS, TrainConfig
from tunegate.web import train_form, views
from tunegate.web.app import page, redirect, state
from tunegate.web.run_routes import _job_context

router = APIRouter()


def _context(request: Request, slug: str, form: train_form.FormState) -> dict[str, Any]:
    folder = state(request).workspace.folder(slug)
    with Store(folder) as store:
        jobs = [_job_context(store, j) for j in store.jobs("train")[:5]]
        check = views.latest_check(store)
    return {"slug": slug, "tab": "train", "jobs": jobs, "form": form, "check": check,
            "fields": train_form.fields(), "presets": PRESETS, **_preview(slug, form, check)}  # fmt: skip


def _preview(slug: str, form: train_form.FormState, check: Any) -> dict[str, Any]:
    if form.errors or not form.base:
        return {"command": None, "rest": {}, "estimate": None}
    cmd, rest = train_form.command(slug, form.preset, form.overrides)
    cfg = TrainConfig.model_validate({**form.base, **form.overrides}).model_dump()
    return {"command": cmd, "rest": rest, "estimate": train_form.estimate(check, cfg)}


def _task_train(request: Request, slug: str) -> dict[str, Any] | None:
    task, _ = load_task(state(request).workspace.folder(slug))
    return task.train


async def _form(request: Request) -> dict[str, str]:
    return {k: str(v) for k, v in (await request.form()).items()}


@router.get("/tasks/{slug}/train", response_class=HTMLResponse)
def train_page(request: Request, slug: str, preset: str = "quick") -> HTMLResponse:
    """The page; with `?preset=` (the preset picker, over htmx) only the form, refilled."""
    preset = preset if preset in PRESETS else "quick"
    form = train_form.initial(preset, _task_train(request, slug))
    name = "train_form.html" if request.headers.get("hx-request") else "train.html"
    return page(request, name, **_context(request, slug, form))


@router.post("/tasks/{slug}/train/preview", response_class=HTMLResponse)
async def train_preview(request: Request, slug: str) -> HTMLResponse:
    """The command and the estimate for the form as it is (errors inline, nothing started)."""
    form = train_form.read_form(await _form(request), _task_train(request, slug))
    return page(request, "train_preview.html", **_context(request, slug, form))


@router.post("/tasks/{slug}/train")
async def train_start(request: Request, slug: str) -> Response:
    """Start training with the form's settings; an invalid field comes back inline, by its
    field, and no job starts."""
    ui = state(request)
    folder = ui.workspace.folder(slug)
    form = train_form.read_form(await _form(request), _task_train(request, slug))
    if form.errors:  # 200: a page to correct, not a failed fetch (browsers log a 4xx as an error)
        return page(request, "train.html", **_context(request, slug, form))
    ui.worker.start(folder, "train", {"preset": form.preset, "overrides": form.overrides})
    return redirect(f"/tasks/{slug}/train")
