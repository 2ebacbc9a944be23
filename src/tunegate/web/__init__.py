"""`tunegate ui`: the whole workflow in the browser (see docs/ui.md)."""

from tunegate.web.app import create_app
from tunegate.web.server import run_ui

__all__ = ["create_app", "run_ui"]
