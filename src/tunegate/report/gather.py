"""From the run store to the evidence a decision and a report need, without running a model.

Reads the latest finished check (readiness), the evidence (`tunegate.evidence.collect`: the
newest result of each rung on the shared items, across diagnose runs), the training run whose
adapter the fine-tuned rung used, and the newest learning curve (training runs tagged with a `curve` id in
their config). Which adapter a diagnose used: its config's `adapter_run` when recorded, else the
one the ladder picks (`tunegate.runs.pick_adapter`) among the training runs that had
finished before the diagnose started. A learning-curve point is a curve run whose adapter a finished
diagnose measured; its best validation loss is shown either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunegate.data.examples import label_set
from tunegate.errors import TunegateError
from tunegate.evidence import CurvePoint, Evidence, Readiness, Training, collect
from tunegate.ladder.result import legacy_kind
from tunegate.outputs import Metric, RungOutputs
from tunegate.report.search import SearchRecord, load_search
from tunegate.runs import finished, pick_adapter
from tunegate.signals import primary_metric
from tunegate.spec import Task, output_schema
from tunegate.store import Run, Store


@dataclass
class CheckRecord:
    run_id: str
    verdict: str
    rows: dict[str, int]
    items: list[dict[str, Any]]


@dataclass
class TrainRecord:
    """A finished training run: its summary and per-step losses."""

    run_id: str
    seconds: float
    summary: dict[str, Any]
    loss: list[tuple[int, float]]
    eval_loss: list[tuple[int, float]]


@dataclass
class CurveRun:
    """One run of a learning curve: its training size, best validation loss, measured point."""

    run_id: str
    n_train: int
    fraction: float | None
    best_eval_loss: float | None
    point: CurvePoint | None = None
    diagnose_run: str | None = None


@dataclass
class Gathered:
    """Everything the report shows: the evidence for `decide` and what lies behind it."""

    task: Task
    folder: Path
    schema: dict[str, Any] | None
    evidence: Evidence
    check: CheckRecord | None = None
    train: TrainRecord | None = None
    curve: list[CurveRun] = field(default_factory=list)
    curve_tag: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    labels: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    distill: Any = None  # tunegate.distill.compare.DistillComparison of the newest distill run
    search: SearchRecord | None = None  # the optimized rung's prompt search, when it ran
    hardware: str | None = None  # the machine the newest diagnose measured latency and cost on

    def engine_of(self, rung: str) -> str:
        """What ran `rung` (engine and weights), as its latency and cost figures hold for."""
        from tunegate.models.engines import describe

        r = self.evidence.rung(rung)
        return "—" if r is None else describe(r.outputs.model, r.outputs.remote)


def _adapter_run(store: Store, diagnose: Run) -> str | None:
    """The training run whose adapter this diagnose's fine-tuned rung used (see module doc)."""
    recorded = diagnose.config.get("adapter_run")
    if isinstance(recorded, str):
        return recorded
    found = pick_adapter(store, before=diagnose.created)
    return found[0] if found else None


def load_check(store: Store) -> CheckRecord | None:
    run = store.latest("check")
    if run is None:
        return None
    d = store.result(run.id, "check")
    if not isinstance(d, dict):
        return None
    return CheckRecord(
        run.id, d.get("verdict", "ok"), dict(d.get("rows", {})), list(d.get("items", []))
    )


def readiness(check: CheckRecord) -> Readiness:
    """decide's readiness: the verdict, the train size and the failing then warning items."""
    ranked = sorted(
        (it for it in check.items if it.get("status") in ("fail", "warn")),
        key=lambda it: it.get("status") != "fail",
    )
    problems = [f"{it.get('title', it.get('name'))}: {it.get('reason', '')}" for it in ranked]
    verdict = check.verdict if check.verdict in ("ok", "warn", "fail") else "warn"
    estimate = next((it for it in check.items if it.get("name") == "train.time"), {})
    seconds = (estimate.get("details") or {}).get("seconds_total")
    return Readiness(
        verdict,  # type: ignore[arg-type]
        int(check.rows.get("train", 0)),
        problems,
        float(seconds) if seconds is not None else None,
    )


def load_train(store: Store, run_id: str) -> TrainRecord | None:
    try:
        run = store.run(run_id)
    except TunegateError:
        return None
    summary = store.result(run.id, "summary") or {}
    series: dict[str, list[tuple[int, float]]] = {"loss": [], "eval_loss": []}
    for step, name, value in store.metrics(run.id):
        if name in series:
            series[name].append((step, value))
    seconds = summary.get("seconds")
    if seconds is None:
        seconds = max(0.0, run.updated - run.created)
    return TrainRecord(run.id, float(seconds), summary, series["loss"], series["eval_loss"])


def _curve(store: Store, task: Task) -> tuple[str | None, list[CurveRun]]:
    """The newest learning curve: its finished runs, each with the diagnose that measured it."""
    tagged = finished(store, "train", curve=True)
    if not tagged:
        return None, []
    tag = str(tagged[0].config["curve"])
    primary = primary_metric(task)
    measured: dict[str, tuple[str, Metric]] = {}  # train run -> (diagnose run, primary metric)
    for diag in finished(store, "diagnose"):  # newest first
        adapter = _adapter_run(store, diag)
        if adapter is None or adapter in measured:
            continue
        for name in (store.result(diag.id, "summary") or {}).get("rungs", []):
            d = store.result(diag.id, f"rung.{name}") or {}
            if (d.get("kind") or legacy_kind(name, RungOutputs(name, "", []))) != "finetuned":
                continue
            m = next((Metric(**x) for x in d.get("metrics", []) if x["name"] == primary), None)
            if m is not None:
                measured[adapter] = (diag.id, m)
                break
    out = []
    for run in sorted((r for r in tagged if r.config["curve"] == tag), key=lambda r: r.created):
        summary = store.result(run.id, "summary") or {}
        n = summary.get("train_examples", run.config.get("examples"))
        if n is None:
            continue
        cr = CurveRun(run.id, int(n), run.config.get("fraction"), summary.get("best_eval_loss"))
        if run.id in measured:
            cr.diagnose_run, m = measured[run.id]
            cr.point = CurvePoint(int(n), m.value, m.lo, m.hi)
        out.append(cr)
    return tag, out


def _hardware(store: Store, evidence: Evidence) -> str | None:
    """The machine recorded by the newest diagnose run behind the evidence (None: unrecorded)."""
    for run_id in evidence.runs:  # newest first
        found = store.run(run_id).config.get("hardware")
        if isinstance(found, str):
            return found
    return None


def gather(task: Task, folder: Path, store: Store, diagnose_run: str | None = None) -> Gathered:
    """The evidence and the material of the report, from the store (and the task's data files,
    for the inputs beside each failure). `diagnose_run` pins the shared items to that run's.
    Raises TunegateError when no diagnose has finished or no stored result is usable."""
    notes: list[str] = []
    inputs: dict[str, str] = {}
    train_targets: list[str] = []
    try:
        from tunegate.data.examples import input_text
        from tunegate.data.split import load_dataset

        data = load_dataset(task, folder)
        inputs = {ex.id: input_text(ex) for ex in data.test}
        train_targets = [ex.target for ex in data.train]
    except TunegateError as exc:
        notes.append(f"inputs not shown: the task's data could not be read ({exc})")
    labels = label_set(task, train_targets)
    evidence = collect(task, folder, store, pin_run=diagnose_run, labels=labels)
    check = load_check(store)
    tuned = next((r for r in evidence.rungs if r.kind == "finetuned"), None)
    train = None
    if tuned is not None:
        run_id = tuned.adapter_run or _adapter_run(store, store.run(tuned.run_id))
        train = load_train(store, run_id) if run_id else None
    if train is None:
        latest = pick_adapter(store)
        train = load_train(store, latest[0]) if latest else None
    if train is not None:  # which prompt the adapter was trained on and is sent, and why
        from tunegate.train.prompt import describe

        notes.append(describe(train.run_id, train.summary.get("prompt")))
    tag, curve = _curve(store, task)
    points = [c.point for c in curve if c.point is not None]
    evidence.readiness = readiness(check) if check else None
    evidence.training = Training(train.seconds, points) if train else None
    schema = output_schema(task, folder) if task.output.type == "json" else None
    from tunegate.report.distill import latest_comparison

    opt = evidence.rung("optimized")
    search = load_search(store, opt.run_id, opt.metric(primary_metric(task))) if opt else None
    return Gathered(
        hardware=_hardware(store, evidence),
        distill=latest_comparison(store),
        task=task,
        folder=folder,
        schema=schema,
        evidence=evidence,
        check=check,
        train=train,
        curve=curve,
        curve_tag=tag,
        inputs=inputs,
        labels=labels,
        notes=notes + evidence.notes,
        search=search,
    )
