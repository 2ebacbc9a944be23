"""`tunegate check`: is the data ready? Enough data, and good enough data, as measurements.

Counts per split; missing, blank and over-long rows (against the training cutoff and the model's
context); exact and near-duplicates in train and train/test leakage; for JSON outputs, targets
that do not parse or break the schema and key drift per key; label balance and singleton labels;
token statistics with the model's own tokenizer and chat template. Each item is ok / warn / fail
with its number and reason (see `tunegate.check.rules` for every rule); the verdict is the
worst of them. The test split checked is the one every later stage evaluates on (after
`data.test_limit`). The report is saved in the task's run store as a `check` run.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tunegate.check import readiness
from tunegate.check.rules import DEFAULT_MAX_LENGTH, RANK, CheckItem, Items, Status, Thresholds
from tunegate.data.split import load_dataset, sample
from tunegate.data.tokens import count_tokens
from tunegate.spec import Task, output_schema
from tunegate.store import Store

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "CheckItem",
    "CheckReport",
    "Thresholds",
    "print_report",
    "run_check",
]


@dataclass
class CheckReport:
    """Everything `tunegate check` measured, as saved in the run store and written by --json."""

    task: str
    folder: str
    model: str
    verdict: Status
    items: list[CheckItem]
    rows: dict[str, int]  # train, test (evaluated), test_file (before data.test_limit)
    tokens: dict[str, Any]  # token summaries, training cutoff and context, for estimates
    elapsed_s: float
    run_id: str | None = None

    def item(self, name: str) -> CheckItem:
        for it in self.items:
            if it.name == name:
                return it
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def run_check(
    task: Task,
    folder: Path,
    store: Store | None = None,
    thresholds: Thresholds | None = None,
    estimate: bool = True,
) -> CheckReport:
    """Measure the task's data readiness, save it as a `check` run in the store, and return it.

    `estimate=False` skips timing training steps (the training-time item says so)."""
    from tunegate.check import train_time
    from tunegate.models.resolve import load_tokenizer, model_label, resolve_model

    db = store if store is not None else Store(folder)
    run_id = db.start_run("check", {"task": task.name, "model": model_label(task.model)})
    try:
        start = time.perf_counter()
        limit = task.data.test_limit
        whole = task.model_copy(update={"data": task.data.model_copy(update={"test_limit": None})})
        data = load_dataset(whole, folder)
        train, test_all = data.train, data.test
        test = (
            sample(test_all, limit, task.data.seed) if limit else test_all
        )  # as load_dataset does
        rows = [*train, *test]

        items = Items(folder, thresholds or Thresholds())
        readiness.count_items(items, task, len(train), len(test), len(test_all))
        readiness.row_items(items, rows)
        readiness.duplicate_items(items, train, test)
        schema = output_schema(task, folder)
        if task.output.type == "json" and schema is not None:
            readiness.json_items(items, rows, schema)
        readiness.label_items(items, task, train, test)
        model_path = resolve_model(task.model, folder)
        counts = count_tokens(task, rows, load_tokenizer(model_path), model_path)
        cfg = train_time.train_config(task, str(folder / "tunegate.yaml"))
        tokens = readiness.token_items(items, task, train, test, counts, cfg.max_length)
        if estimate:
            item, tokens["train_estimate"] = train_time.time_item(task, folder, train, cfg)
        else:
            item = train_time.skipped("--no-estimate")
        items.put(item)

        verdict: Status = max((it.status for it in items.items), key=RANK.__getitem__)
        report = CheckReport(
            task=task.name,
            folder=str(folder),
            model=model_label(task.model),
            verdict=verdict,
            items=items.items,
            rows={"train": len(train), "test": len(test), "test_file": len(test_all)},
            tokens=tokens,
            elapsed_s=round(time.perf_counter() - start, 2),
            run_id=run_id,
        )
        db.put_result(run_id, "check", report.to_json())
        db.set_status(run_id, "done", note=verdict)
        return report
    except BaseException as exc:
        db.set_status(run_id, "failed", note=str(exc)[:500])
        raise
    finally:
        if store is None:
            db.close()


_STYLE = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[bold red]fail[/]"}


def print_report(report: CheckReport, console: Any) -> None:
    """The readiness table and the verdict, on a rich console."""
    from rich.table import Table

    table = Table(
        title=f"tunegate check: {report.task} (model {report.model})", title_justify="left"
    )
    table.add_column("status", no_wrap=True)
    table.add_column("check")
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("reason", overflow="fold")
    for it in report.items:
        value = f"{it.value:,.2f}" if it.value != int(it.value) else f"{int(it.value):,}"
        table.add_row(_STYLE[it.status], it.title, value, it.reason)
    console.print(table)
    n = {s: sum(it.status == s for it in report.items) for s in ("fail", "warn")}
    console.print(
        f"verdict: {_STYLE[report.verdict]} ({n['fail']} failing, {n['warn']} warning, "
        f"{len(report.items)} checks, {report.elapsed_s:.1f} s); saved as run {report.run_id}",
        highlight=False,
    )
