"""`tunegate demo`: the whole pipeline on the embedded model and the demo task."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from tunegate.errors import TunegateError

DEMO = Path(__file__).resolve().parents[2] / "examples" / "support-tickets"


def demo_folder(folder: Path | None = None) -> Path:
    """The demo task folder: given, else examples/support-tickets in this checkout."""
    path = folder or DEMO
    if not (path / "tunegate.yaml").exists():
        raise TunegateError(
            "demo task not found; run from a clone of the tunegate repository or pass --folder",
            str(path),
        )
    return path


def run_demo(folder: Path | None, console: Console) -> None:
    """check the demo task's data (later stages join as they land)."""
    from tunegate.data.check import print_report, run_check
    from tunegate.spec import load_task

    task, path = load_task(demo_folder(folder))
    console.rule(f"[bold]1. check[/] {path}")
    print_report(run_check(task, path), console)
