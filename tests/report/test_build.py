"""`tunegate report` end to end through the CLI: HTML, JSON and terminal summary, rebuilt from
the store with no model loaded; a clear one-line error before any diagnose."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from report_store import demo_task_folder, run_cli
from tunegate.store import Store


def test_report_cli_writes_html_json_and_summary_without_a_model(
    demo_store: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    folder, ids = demo_store
    out, js = tmp_path / "r.html", tmp_path / "r.json"
    proc = run_cli("report", str(folder), "--out", str(out), "--json", str(js))
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout  # no model, no torch: rebuilt from the store alone
    assert "fine-tune" in proc.stdout and "finetuned ◀" in proc.stdout
    assert f"report: {out}" in proc.stdout.replace("\n", "")
    assert out.read_text().count("<svg") == 8
    payload = json.loads(js.read_text())
    assert (
        payload["decision"]["chosen"] == "finetuned"
        and payload["runs"]["diagnose"] == ids["diagnose"]
    )


def test_default_path_is_inside_the_store_folder(
    demo_store: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    import shutil

    from tunegate.report import build_report

    folder = tmp_path / "copy"
    shutil.copytree(demo_store[0], folder)
    result = build_report(folder)
    assert result.path == folder / ".tunegate" / "report.html" and result.path.exists()
    assert result.json_path is None
    assert not list((folder / ".tunegate").glob(".report.html.*.tmp"))  # written atomically


def test_no_store_and_no_diagnose_are_one_line_errors(tmp_path: Path) -> None:
    folder = demo_task_folder(tmp_path)
    for setup in (lambda: None, lambda: Store(folder).close()):
        setup()
        proc = run_cli("report", str(folder))
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "run `tunegate diagnose` first" in lines[0], proc.stderr
        assert "Traceback" not in proc.stderr
    assert not (folder / ".tunegate" / "report.html").exists()
