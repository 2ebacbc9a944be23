"""`tunegate report` end to end through the CLI: HTML, JSON and terminal summary, rebuilt from
the store with no model loaded; a clear one-line error before any diagnose."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from report_store import demo_task_folder, run_cli
from tunegate.store import Store


def test_report_cli_writes_html_json_and_summary_without_a_model(
    demo_store: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    folder, ids = demo_store
    folder = Path(shutil.copytree(folder, tmp_path / "copy"))
    js = tmp_path / "r.json"
    proc = run_cli("report", str(folder), "--json", str(js))
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout  # no model, no torch: rebuilt from the store alone
    assert "fine-tune" in proc.stdout and "finetuned ◀" in proc.stdout
    out = folder / ".tunegate" / "report.html"  # the default place
    assert f"report: {out}" in proc.stdout.replace("\n", "")
    assert out.read_text().count("<svg") == 8
    assert not list(out.parent.glob(".report.html.*.tmp"))  # written atomically
    payload = json.loads(js.read_text())
    assert payload["decision"]["chosen"] == "finetuned"
    assert payload["runs"]["diagnose"] == [ids["diagnose"]]


def test_no_store_and_no_diagnose_are_one_line_errors(tmp_path: Path) -> None:
    folder = demo_task_folder(tmp_path)
    for setup in (lambda: None, lambda: Store(folder).close()):
        setup()
        proc = run_cli("report", str(folder))
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "run `tunegate diagnose" in lines[0], proc.stderr
        assert lines[0].endswith("` first"), proc.stderr
        assert "Traceback" not in proc.stderr
    assert not (folder / ".tunegate" / "report.html").exists()
