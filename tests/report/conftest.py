"""Fixtures of the report tests: the demo task with a filled run store (see report_store)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from report_store import demo_task_folder, fill_store


@pytest.fixture(scope="session")
def minilm() -> Any:
    from tunegate.signals.parse import CachedEncoder

    return CachedEncoder()


@pytest.fixture(scope="session")
def demo_store(
    tmp_path_factory: pytest.TempPathFactory, minilm: Any
) -> tuple[Path, dict[str, Any]]:
    """The demo task folder with a filled run store (built once per test session)."""
    folder = demo_task_folder(tmp_path_factory.mktemp("report"))
    return folder, fill_store(folder, minilm)


@pytest.fixture(scope="session")
def built_report(
    demo_store: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """`build_report` on the filled store, once: (result, html text, json payload)."""
    import json

    from tunegate.report import build_report

    out = tmp_path_factory.mktemp("built")
    result = build_report(demo_store[0], out / "report.html", out / "report.json")
    return result, result.path.read_text(), json.loads((out / "report.json").read_text())
