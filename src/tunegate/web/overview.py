"""The task's overview is the decision: what `tunegate report` computes from the store (gather,
decide, plots), rendered by the report's own partials, plus the one next step as a button.

Plots are drawn with matplotlib, which takes seconds; the view is kept per task folder until a
run changes in the store or the task file is edited, so reloading the page is instant.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunegate.spec import TASK_FILE
from tunegate.store import STORE_DIR, STORE_FILE, Store

_CACHE: dict[Path, tuple[tuple[float, ...], dict[str, Any] | None]] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class NextStep:
    """The button under the decision: what to do now, where, and the CLI line that does it."""

    label: str
    href: str
    command: str
    why: str
    rungs: tuple[str, ...] = ()  # for a diagnose step: the rungs to tick


def _stamp(folder: Path) -> tuple[float, ...]:
    """What the decision depends on: the runs (how many, the latest change) and the task file."""
    task = (folder / TASK_FILE).stat().st_mtime
    if not (folder / STORE_DIR / STORE_FILE).exists():
        return (task, 0.0, 0.0)
    with Store(folder) as store:  # the store is in WAL mode: its file's time lags its writes
        runs = store.runs()
    return (task, float(len(runs)), max((r.updated for r in runs), default=0.0))


def decision_view(folder: Path) -> dict[str, Any] | None:
    """The report's context for the partials (None before a diagnose finished)."""
    folder = folder.resolve()
    stamp = _stamp(folder)
    with _LOCK:
        hit = _CACHE.get(folder)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    view = _build(folder)
    with _LOCK:
        _CACHE[folder] = (stamp, view)
    return view


def _build(folder: Path) -> dict[str, Any] | None:
    from tunegate.decide import decide
    from tunegate.evidence import diagnose_runs
    from tunegate.report.build import make_plots, report_json
    from tunegate.report.gather import gather
    from tunegate.report.html import ReportView, context
    from tunegate.spec import load_task

    task, folder = load_task(folder)
    with Store(folder) as store:
        if not diagnose_runs(store):
            return None
        g = gather(task, folder, store, None)
        trained = any(r.status == "done" for r in store.runs("train"))
    d = decide(task, g.evidence)
    ctx = context(ReportView(g, d, make_plots(g, d), []))
    ctx["json"] = report_json(g, d)
    ctx["next"] = next_step(folder.name, d, g, trained)
    return ctx


def next_step(slug: str, d: Any, g: Any, trained: bool) -> NextStep:
    """Train an adapter, diagnose it, or serve the chosen rung: the one step the evidence asks."""
    base = f"/tasks/{slug}"
    if d.verdict == "not ready":
        return NextStep("Fix the data", f"{base}/check", f"tunegate check {slug}",
                        "the data is not ready for a fair answer: see the check")  # fmt: skip
    tuned = [r for r in g.evidence.rungs if r.kind == "finetuned"]
    chosen = g.evidence.rung(d.chosen) if d.chosen else None
    if chosen is not None and chosen.kind != "remote" and (d.verdict != "fine-tune" or tuned):
        return NextStep("Serve it", f"{base}/playground", f"tunegate serve {slug}",
                        f"{chosen.rung} meets the targets: try it, then serve it")  # fmt: skip
    if trained and not tuned:
        return NextStep("Diagnose the adapter", f"{base}/diagnose",
                        f"tunegate diagnose {slug} --rungs finetuned",
                        "an adapter is trained but not measured on the held-out items",
                        ("finetuned",))  # fmt: skip
    if trained:
        return NextStep("Train an adapter", f"{base}/train", f"tunegate train {slug}",
                        "the measured adapter does not meet the targets yet: train it longer "
                        "or on more data")  # fmt: skip
    why = (
        "only the remote model meets the targets: measure whether a fine-tuned small model does"
        if chosen is not None and chosen.kind == "remote"
        else "no prompt-only rung meets the targets: measure what fine-tuning gives"
    )
    return NextStep("Train an adapter", f"{base}/train", f"tunegate train {slug}", why)
