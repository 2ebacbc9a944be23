"""The evidence a decision rests on: the newest result of each rung on one shared item set.

Every finished diagnose run (not a learning curve's) adds rung records to the store. `collect`
reads all of them, across runs, and keeps for each rung its newest record that was measured
under the current task (same fingerprint: prompt, output contract, data, split, model) on the
shared item set: the items of a pinned run, else those that the most rungs were measured on
(ties: the newest). What it leaves out it names, with the command that re-measures it:
- a rung measured only on other items (another `--limit`, another split) is never paired;
- a result whose task fingerprint no longer matches the task file is stale.
The paired tests between the kept rungs are computed here from their stored per-item scores
(Holm-adjusted per metric), so decide, the report, the demo and the web UI all read one thing.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tunegate.errors import TunegateError
from tunegate.fingerprint import changed, item_set, task_fingerprint
from tunegate.ladder.evaluate import compare_rungs
from tunegate.ladder.result import DiagnoseResult, RungResult, load_rungs, prompt_ceiling
from tunegate.runs import finished
from tunegate.signals import primary_metric
from tunegate.signals.stats import Comparison
from tunegate.spec import Task
from tunegate.store import Store

RUN_KIND = "diagnose"


@dataclass
class Readiness:
    """What `tunegate check` concluded: its verdict, the train size and its problems."""

    verdict: Literal["ok", "warn", "fail"]
    n_train: int
    problems: list[str] = field(default_factory=list)
    train_seconds: float | None = None  # check's estimate of one training run here


@dataclass
class CurvePoint:
    """The fine-tuned rung's primary metric when trained on `n_train` examples."""

    n_train: int
    value: float
    lo: float
    hi: float


@dataclass
class Training:
    """The training run behind the fine-tuned rung and the learning curve, if any."""

    seconds: float
    curve: list[CurvePoint] = field(default_factory=list)


@dataclass
class Excluded:
    """A rung left out of the decision: why, and the command that measures it on the items."""

    rung: str
    reason: Literal["other items", "stale"]
    detail: str
    command: str


@dataclass
class Evidence:
    """What decide reads: the rungs on the shared items and their paired tests, the data's
    readiness, the training run, and what was left out and why."""

    rungs: list[RungResult]
    comparisons: list[Comparison] = field(default_factory=list)
    readiness: Readiness | None = None
    training: Training | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # rung -> why it did not apply
    excluded: list[Excluded] = field(default_factory=list)
    item_ids: list[str] = field(default_factory=list)
    limit: int | None = None
    notes: list[str] = field(default_factory=list)

    def rung(self, name: str) -> RungResult | None:
        return next((r for r in self.rungs if r.rung == name), None)

    def as_result(self, task: Task) -> DiagnoseResult:
        """The evidence in the shape of one diagnose (for the ladder's table)."""
        return DiagnoseResult(
            run_id=", ".join(self.runs),
            task=task.name,
            item_ids=self.item_ids,
            rungs=self.rungs,
            skipped=self.skipped,
            comparisons=[c.to_json() for c in self.comparisons],
            primary=primary_metric(task),
            max_tokens=task.output.max_tokens,
        )

    @property
    def runs(self) -> list[str]:
        """The diagnose runs the kept results come from, newest first."""
        ordered = sorted(self.rungs, key=lambda r: -r.created)
        return list(dict.fromkeys(r.run_id for r in ordered))


def diagnose_runs(store: Store) -> list[Any]:
    """Finished diagnose runs that measure the task (not a learning curve's), newest first."""
    return finished(store, RUN_KIND, curve=False)


def remeasure(folder: Path, rung: RungResult | str, limit: int | None) -> str:
    """The command that measures `rung` on the shared items."""
    name = rung if isinstance(rung, str) else rung.rung
    parts = ["tunegate", "diagnose", str(folder)]
    if limit:
        parts += ["--limit", str(limit)]
    parts += ["--rungs", name]
    if isinstance(rung, RungResult) and rung.adapter_run:
        parts += ["--adapter", rung.adapter_run]
    return shlex.join(parts)


def _shared_set(records: Sequence[RungResult], pinned: str | None) -> str | None:
    if pinned is not None:
        return pinned
    coverage: dict[str, set[str]] = {}
    newest: dict[str, float] = {}
    for r in records:
        key = item_set(r.item_ids)
        coverage.setdefault(key, set()).add(r.rung)
        newest[key] = max(newest.get(key, 0.0), r.created)
    if not coverage:
        return None
    return max(coverage, key=lambda k: (len(coverage[k]), newest[k]))


def collect(
    task: Task,
    folder: Path,
    store: Store,
    *,
    pin_run: str | None = None,
    labels: Sequence[str] | None = None,
) -> Evidence:
    """The evidence in `store` for `task` (see the module docstring). `pin_run` makes that
    diagnose run's items the shared ones; `labels` is the label set for rescoring records
    stored before per-item scores were kept. Raises TunegateError when nothing is usable."""
    runs = diagnose_runs(store)
    if pin_run is not None:
        run = store.run(pin_run)
        if run.kind != RUN_KIND:
            raise TunegateError(f"run {run.id!r} is a {run.kind} run, not a diagnose", str(folder))
        if run.status != "done":
            raise TunegateError(
                f"diagnose run {run.id!r} did not finish; run `tunegate diagnose` again to resume",
                str(folder),
            )
        runs = [run, *(r for r in runs if r.id != run.id)]
    if not runs:
        raise TunegateError(
            f"no finished diagnose in the store; run `tunegate diagnose {folder}` first",
            str(store.path),
        )
    records = sorted((r for run in runs for r in load_rungs(store, run)), key=lambda r: -r.created)
    current = task_fingerprint(task, folder)
    fresh = [r for r in records if r.version < 2 or not changed(r.fingerprint, current)]
    pinned = None
    if pin_run is not None:
        pinned_records = [r for r in fresh if r.run_id == pin_run]
        pinned = item_set(pinned_records[0].item_ids) if pinned_records else None
    shared = _shared_set(fresh, pinned)
    kept: dict[str, RungResult] = {}
    for r in fresh:
        if item_set(r.item_ids) == shared and r.rung not in kept:
            kept[r.rung] = r
    ordered = _ladder_order(list(kept.values()))
    limit = next((r.limit for r in ordered), None)
    ev = Evidence(rungs=ordered, item_ids=ordered[0].item_ids if ordered else [], limit=limit)
    _exclusions(ev, records, fresh, current, folder)
    _skipped(ev, store, runs)
    if not ev.rungs:
        stale = "; ".join(f"{e.rung}: {e.detail}" for e in ev.excluded[:3])
        raise TunegateError(
            f"no stored result matches the current task ({stale}); run "
            f"`tunegate diagnose {folder}` again (stored answers are reused)",
            str(store.path),
        )
    legacy = [r for r in ev.rungs if r.version < 2]
    if legacy:
        _rescore(task, folder, legacy, labels)
        ev.notes.append(
            f"{', '.join(r.rung for r in legacy)}: stored by an older tunegate (no task "
            "fingerprint), so whether the task changed since cannot be told; "
            f"`tunegate diagnose {folder}` re-measures from the stored answers in seconds"
        )
    from tunegate.spec import output_schema

    schema = output_schema(task, folder) if task.output.type == "json" else None
    ev.comparisons = compare_rungs(task, schema, ev.rungs, primary_metric(task))
    return ev


def _ladder_order(rungs: list[RungResult]) -> list[RungResult]:
    from tunegate.ladder.rungs import RUNGS

    order = {name: i for i, name in enumerate(RUNGS)}
    return sorted(rungs, key=lambda r: (order.get(r.rung, len(order)), r.rung))


def _exclusions(
    ev: Evidence,
    records: list[RungResult],
    fresh: list[RungResult],
    current: dict[str, str],
    folder: Path,
) -> None:
    kept = {r.rung for r in ev.rungs}
    seen: set[str] = set()
    for r in records:  # newest first: each left-out rung is named once, by its newest record
        if r.rung in kept or r.rung in seen:
            continue
        seen.add(r.rung)
        command = remeasure(folder, r, ev.limit)
        other = next((f for f in fresh if f.rung == r.rung), None)
        if other is not None:
            detail = (
                f"measured on {len(other.item_ids)} other items (run {other.run_id}"
                f"{f', --limit {other.limit}' if other.limit else ''}), not the "
                f"{len(ev.item_ids)} shared ones; never paired with them"
            )
            ev.excluded.append(Excluded(r.rung, "other items", detail, command))
        else:
            parts = ", ".join(changed(r.fingerprint, current))
            detail = f"stale: the task's {parts} changed since run {r.run_id} measured it"
            ev.excluded.append(Excluded(r.rung, "stale", detail, command))


def _skipped(ev: Evidence, store: Store, runs: list[Any]) -> None:
    known = {r.rung for r in ev.rungs} | {e.rung for e in ev.excluded}
    for run in runs:
        summary = store.result(run.id, "summary") or {}
        for name, why in (summary.get("skipped") or {}).items():
            if name not in known and name not in ev.skipped:
                ev.skipped[name] = why


def _rescore(
    task: Task, folder: Path, rungs: list[RungResult], labels: Sequence[str] | None
) -> None:
    """Per-item scores for records stored before they were kept (needed for paired tests)."""
    from tunegate import signals
    from tunegate.spec import output_schema

    schema = output_schema(task, folder) if task.output.type == "json" else None
    for r in rungs:
        if not r.item_scores:
            r.item_scores = dict(signals.score(task, schema, r.outputs, labels=labels).scores)


def ceiling(ev: Evidence, task: Task) -> RungResult | None:
    """The prompt ceiling of this evidence (the one rule: `ladder.result.prompt_ceiling`)."""
    return prompt_ceiling(ev.rungs, primary_metric(task))
