"""What the pages show, read from the run store: the latest check, diagnose table, training curve,
recommendation and jobs. Plain functions returning plain data for the templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tunegate.data.load import read_rows
from tunegate.errors import TunegateError
from tunegate.store import Job, Store


def latest_check(store: Store) -> dict[str, Any] | None:
    run = store.latest("check")
    return None if run is None else store.result(run.id, "check")


def check_rows(folder: Path, report: dict[str, Any], item: str) -> list[dict[str, Any]]:
    """The rows a check item flags (`data/train.jsonl:14`), each with its content from the file."""
    found = next((it for it in report["items"] if it["name"] == item), None)
    if found is None:
        raise TunegateError(f"no check item {item!r} in the latest check")
    wanted: dict[str, set[int]] = {}
    for ref in found["rows"]:
        name, _, line = str(ref).rpartition(":")
        if name and line.isdigit():
            wanted.setdefault(name, set()).add(int(line))
    rows: list[dict[str, Any]] = []
    root = folder.resolve()
    for name, lines in wanted.items():
        path = (folder / name).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            rows += [{"ref": f"{name}:{n}", "row": "(file not found)"} for n in sorted(lines)]
            continue
        for n, row in read_rows(path):
            if n in lines:
                rows.append({"ref": f"{name}:{n}", "row": row})
    return rows


def diagnose_table(folder: Path) -> dict[str, Any] | None:
    """The evidence (the newest result of each rung on the shared items) as a table of
    formatted cells (value [lo–hi]); None before a diagnose finished."""
    from tunegate.evidence import diagnose_runs
    from tunegate.ladder.table import (
        SIGNAL_COLUMNS,
        build_table,
        fmt_cell,
        fmt_targets,
        fmt_verdict,
    )
    from tunegate.report.gather import gather
    from tunegate.spec import load_task

    task, folder = load_task(folder)
    with Store(folder) as store:
        if not diagnose_runs(store):
            return None
        g = gather(task, folder, store)
    result = g.evidence.as_result(task)
    table = build_table(result)
    units = {col: unit for col, _, unit in SIGNAL_COLUMNS}
    rows = []
    for row in table["rows"]:
        rows.append(
            {
                "rung": row["rung"],
                "n": row["n"],
                "errors": row["errors"],
                "cells": [fmt_cell(row["cells"][c], units[c]) for c in table["columns"]],
                "best": [row["rung"] in table["best"].get(c, []) for c in table["columns"]],
                "vs": "; ".join(fmt_verdict(v) for v in row["vs_baseline"]),
                "targets": fmt_targets(row["targets"]),
            }
        )
    return {
        "run_id": result.run_id,
        "columns": table["columns"],
        "primary": table["primary"],
        "rows": rows,
        "skipped": table["skipped"],
        "excluded": [
            f"{x.rung}: {x.detail}; measure it with `{x.command}`" for x in g.evidence.excluded
        ],
    }


def train_view(store: Store, job: Job) -> dict[str, Any]:
    """A training job's curve and speed, from the run's own metrics."""
    if job.run_id is None:
        return {"svg": "", "step": 0, "total": job.progress.get("total"), "loss": None, "tps": None}
    from tunegate.web.runs import curve

    return {**curve(store, job.run_id), "total": job.progress.get("total")}


def recommendation(folder: Path) -> str | None:
    """The decision's headline from the evidence in the store (None before a diagnose)."""
    from tunegate.decide import decide
    from tunegate.evidence import diagnose_runs
    from tunegate.report.gather import gather
    from tunegate.spec import load_task

    task, folder = load_task(folder)
    with Store(folder) as store:
        if not diagnose_runs(store):
            return None
        g = gather(task, folder, store, None)
    return decide(task, g.evidence).headline


def show_row(row: Any) -> str:
    """A data row as short text for a table cell (the template escapes it)."""
    text = row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)
    return text[:600]
