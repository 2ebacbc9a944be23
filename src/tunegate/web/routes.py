"""Pages for tasks: the list, creating one from an upload, the overview, the editor and Check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from tunegate.errors import TunegateError
from tunegate.store import Store
from tunegate.web import views
from tunegate.web.app import page, redirect, state
from tunegate.web.workspace import edit_values, save_edit

router = APIRouter()
_CHUNK = 1024 * 1024


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    return page(request, "index.html", tasks=state(request).workspace.tasks(), error=None)


@router.post("/tasks", response_class=HTMLResponse)
async def create_task(
    request: Request, file: Annotated[UploadFile, File()], name: Annotated[str, Form()] = ""
) -> Response:
    """Save an upload as a new task (read by the same loaders as `tunegate init --from`)."""
    ui = state(request)
    data = bytearray()
    while chunk := await file.read(_CHUNK):
        data += chunk
        if len(data) > ui.max_upload:
            return page(request, "index.html", status=413, tasks=ui.workspace.tasks(),
                        error=f"upload too large: at most {ui.max_upload:,} bytes")  # fmt: skip
    try:
        slug = ui.workspace.stage(name, file.filename or "", bytes(data))
    except TunegateError as exc:
        return page(request, "index.html", status=400, tasks=ui.workspace.tasks(),
                    error=ui.workspace.tidy(exc))  # fmt: skip
    return redirect(f"/uploads/{slug}")


def _upload_page(request: Request, slug: str, status: int = 200, **extra: Any) -> HTMLResponse:
    from tunegate.web.upload import preview

    folder = state(request).workspace.staged(slug)
    view = preview(folder)
    extra.setdefault("output", view["output"])
    return page(request, "upload.html", status=status, upload=slug, view=view, **extra)


@router.get("/uploads/{slug}", response_class=HTMLResponse)
def upload_page(request: Request, slug: str) -> HTMLResponse:
    """What the upload was understood as; the output is editable before the task is written."""
    return _upload_page(request, slug, error=None)


@router.post("/uploads/{slug}", response_class=HTMLResponse)
async def upload_confirm(request: Request, slug: str) -> Response:
    """Apply the edited output (validated with the whole task file), then create the task."""
    from tunegate.web.upload import apply_output

    ui = state(request)
    form = await request.form()
    if form.get("cancel"):
        ui.workspace.discard(slug)
        return redirect("/")
    text = str(form.get("output") or "")
    try:
        apply_output(ui.workspace.staged(slug), text)
        ui.workspace.confirm(slug)
    except TunegateError as exc:
        return _upload_page(request, slug, 422, output=text, error=ui.workspace.tidy(exc))
    return redirect(f"/tasks/{slug}")


@router.get("/tasks/{slug}", response_class=HTMLResponse)
def task_page(request: Request, slug: str) -> HTMLResponse:
    """The overview: the decision as the report renders it, the next step, the data's check."""
    from tunegate.web.overview import decision_view

    ui = state(request)
    folder = ui.workspace.folder(slug)
    task_error = view = None
    try:
        view = decision_view(folder)
    except TunegateError as exc:
        task_error = ui.workspace.tidy(exc)
    with Store(folder) as store:
        check = views.latest_check(store)
    return page(request, "task.html", slug=slug, tab="task", view=view, check=check,
                task_error=task_error)  # fmt: skip


@router.get("/tasks/{slug}/edit", response_class=HTMLResponse)
def edit_page(request: Request, slug: str) -> HTMLResponse:
    folder = state(request).workspace.folder(slug)
    return page(request, "edit.html", slug=slug, tab="edit", values=edit_values(folder),
                error=None, saved=False)  # fmt: skip


@router.post("/tasks/{slug}/edit", response_class=HTMLResponse)
async def edit_save(request: Request, slug: str) -> HTMLResponse:
    """Validate and save; on an error the form comes back with the values and the error inline."""
    ui = state(request)
    folder = ui.workspace.folder(slug)
    form = {k: str(v) for k, v in (await request.form()).items()}
    error = None
    try:
        save_edit(folder, form)
    except TunegateError as exc:
        error = ui.workspace.tidy(exc)
    values = edit_values(folder) if error is None else form
    name = "edit_form.html" if request.headers.get("hx-request") else "edit.html"
    return page(request, name, status=200 if error is None else 422, slug=slug, tab="edit",
                values=values, error=error, saved=error is None)  # fmt: skip


@router.get("/tasks/{slug}/check", response_class=HTMLResponse)
def check_page(request: Request, slug: str) -> HTMLResponse:
    folder = state(request).workspace.folder(slug)
    store = Store(folder)
    try:
        report = views.latest_check(store)
    finally:
        store.close()
    return page(request, "check.html", slug=slug, tab="check", report=report, error=None)


@router.post("/tasks/{slug}/check", response_class=HTMLResponse)
def check_run(request: Request, slug: str) -> Response:
    """Run `tunegate check` (seconds: it reads the data and the tokenizer, not the model)."""
    from tunegate.check.run import run_check
    from tunegate.spec import load_task

    ui = state(request)
    folder = ui.workspace.folder(slug)
    try:
        task, folder = load_task(folder)
        run_check(task, folder)
    except TunegateError as exc:
        return page(request, "check.html", status=400, slug=slug, tab="check", report=None,
                    error=ui.workspace.tidy(exc))  # fmt: skip
    return redirect(f"/tasks/{slug}/check")


@router.get("/tasks/{slug}/check/{item}", response_class=HTMLResponse)
def check_item(request: Request, slug: str, item: str) -> HTMLResponse:
    """The rows behind one check item, each with its file:line and content."""
    folder = state(request).workspace.folder(slug)
    store = Store(folder)
    try:
        report = views.latest_check(store)
    finally:
        store.close()
    if report is None:
        raise TunegateError("no check yet: run Check first")
    found = next((it for it in report["items"] if it["name"] == item), None)
    rows = views.check_rows(folder, report, item)
    shown = [{"ref": r["ref"], "text": views.show_row(r["row"])} for r in rows]
    return page(request, "check_rows.html", slug=slug, tab="check", item=found, rows=shown)
