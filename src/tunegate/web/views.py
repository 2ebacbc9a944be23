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


def curve_svg(points: list[tuple[int, float]], width: int = 480, height: int = 180) -> str:
    """The training loss per step as an inline SVG line (empty before the first step)."""
    if not points:
        return ""
    steps = [p[0] for p in points]
    losses = [p[1] for p in points]
    x0, x1 = min(steps), max(max(steps), min(steps) + 1)
    y0, y1 = min(losses), max(losses)
    y1 = y1 if y1 > y0 else y0 + 1.0
    pad = 30

    def xy(step: int, loss: float) -> str:
        x = pad + (step - x0) / (x1 - x0) * (width - 2 * pad)
        y = height - pad - (loss - y0) / (y1 - y0) * (height - 2 * pad)
        return f"{x:.1f},{y:.1f}"

    line = " ".join(xy(s, v) for s, v in points)
    return (
        f'<svg class="curve" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="training loss per step">'
        f'<polyline fill="none" stroke="#2563eb" stroke-width="2" points="{line}"/>'
        f'<text x="{pad}" y="14" font-size="11">loss {y1:.3f}</text>'
        f'<text x="{pad}" y="{height - 8}" font-size="11">loss {y0:.3f} · step {x0}–{x1}</text>'
        "</svg>"
    )


def train_view(store: Store, job: Job) -> dict[str, Any]:
    """A training job's curve and speed, from the run's own metrics."""
    if job.run_id is None:
        return {"svg": "", "step": 0, "total": job.progress.get("total"), "loss": None, "tps": None}
    loss = [(s, v) for s, _, v in store.metrics(job.run_id, "loss")]
    tps = [v for _, _, v in store.metrics(job.run_id, "tokens_per_s")]
    total = job.progress.get("total")
    return {
        "svg": curve_svg(loss),
        "step": loss[-1][0] if loss else 0,
        "total": total,
        "loss": loss[-1][1] if loss else None,
        "tps": tps[-1] if tps else None,
    }


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
