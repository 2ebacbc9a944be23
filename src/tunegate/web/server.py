"""`tunegate ui`: serve the web app on 127.0.0.1 by default; off loopback only with a token."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from tunegate.errors import TunegateError
from tunegate.web.app import DEFAULT_MAX_UPLOAD, create_app

TOKEN_ENV = "TUNEGATE_UI_TOKEN"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ui_token(host: str, token: str | None) -> str | None:
    """The token to require: given, else $TUNEGATE_UI_TOKEN; refused to bind off loopback without."""
    token = token or os.environ.get(TOKEN_ENV) or None
    if token is None and not is_loopback(host):
        raise TunegateError(
            f"binding to {host} exposes the UI to the network: pass --token or set {TOKEN_ENV}",
            "--host",
        )
    return token


def run_ui(
    workspace: Path,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    max_upload: int = DEFAULT_MAX_UPLOAD,
) -> None:
    """Serve until Ctrl-C (running jobs are stopped at their next step and marked interrupted)."""
    import uvicorn

    token = ui_token(host, token)
    app = create_app(workspace, token=token, max_upload=max_upload)
    suffix = f"/?token={token}" if token else "/"
    shown = f"[{host}]" if ":" in host else host
    print(f"tunegate ui: http://{shown}:{port}{suffix}  (workspace {workspace})", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
