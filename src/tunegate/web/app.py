"""The web app of `tunegate ui`: server-rendered pages (Jinja2), htmx for forms that swap a part
of the page, and server-sent events for a running job. Every asset is vendored (static/), so it
works offline. The pages call the same Python API as the CLI.

With a token (required off loopback), every request must carry it: `?token=` once (it is then
kept in a same-site cookie), the cookie, or an `Authorization: Bearer` header.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from tunegate.errors import TunegateError
from tunegate.web.jobs import Worker, recover
from tunegate.web.workspace import Workspace

HERE = Path(__file__).parent
COOKIE = "tunegate_token"
DEFAULT_MAX_UPLOAD = 20 * 1024 * 1024  # bytes
_MULTIPART_SLACK = 64 * 1024  # form fields and boundaries around the file


@dataclass
class UIState:
    """What every request reads: the workspace, the worker, the templates and the limits."""

    workspace: Workspace
    worker: Worker
    templates: Jinja2Templates
    token: str | None
    max_upload: int


def state(request: Request) -> UIState:
    ui: UIState = request.app.state.ui
    return ui


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a template with the request (and the workspace) in its context."""
    ui = state(request)
    return ui.templates.TemplateResponse(
        request, name, {"workspace": ui.workspace, **context}, status_code=status
    )


def error_page(request: Request, message: str, status: int) -> HTMLResponse:
    return page(request, "error.html", status=status, message=message)


def template_env() -> Any:
    """The UI's templates, then the report's (its layout and partials), with the report's filters:
    one skeleton and one rendering of the decision for both."""
    from tunegate.report.html import environment

    env = environment(HERE / "templates")
    env.undefined = jinja2.Undefined  # pages test optional context with `if x`
    env.filters["duration"] = duration
    return env


def duration(seconds: float) -> str:
    """12 s, 3.4 min, 1.2 h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _given_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.query_params.get("token") or request.cookies.get(COOKIE)


def create_app(
    workspace: Path, token: str | None = None, max_upload: int = DEFAULT_MAX_UPLOAD
) -> FastAPI:
    """The app over `workspace`; jobs a dead server left running are marked interrupted first."""
    ws = Workspace(workspace)
    for folder in ws.folders():
        recover(folder)
    worker = Worker()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        worker.shutdown(timeout=10.0)

    app = FastAPI(title="tunegate", lifespan=lifespan, docs_url=None, redoc_url=None)
    templates = Jinja2Templates(env=template_env())
    app.state.ui = UIState(ws, worker, templates, token or None, max_upload)

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        ui = state(request)
        if ui.token is not None:
            given = _given_token(request)
            if given is None or not hmac.compare_digest(given.encode(), ui.token.encode()):
                return PlainTextResponse(
                    "a token is required: open the address printed by `tunegate ui`", 401
                )
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > ui.max_upload + _MULTIPART_SLACK:
            return PlainTextResponse(
                f"upload too large: at most {ui.max_upload:,} bytes", status_code=413
            )
        response = await call_next(request)
        if ui.token is not None and request.query_params.get("token"):
            response.set_cookie(COOKIE, ui.token, httponly=True, samesite="strict")
        return response

    @app.exception_handler(TunegateError)
    async def tunegate_error(request: Request, exc: TunegateError) -> Response:
        return error_page(request, state(request).workspace.tidy(exc), 400)

    from tunegate.web import routes, run_routes, runs_routes, train_routes

    app.include_router(routes.router)
    app.include_router(train_routes.router)
    app.include_router(run_routes.router)
    app.include_router(runs_routes.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/static/report.css", include_in_schema=False)
    def report_css() -> Response:
        from tunegate.report.html import TEMPLATES

        css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
        return Response(css, media_type="text/css")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    app.mount(
        "/static", StaticFiles(directory=str(HERE / "static")), name="static"
    )  # after /static/report.css
    return app


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
