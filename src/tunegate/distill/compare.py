"""Student against teacher on the same held-out split: how often they agree, how each scores
against the gold labels (when the split has them), what each costs per month at the task's
traffic, and how fast each answers.

Built from one diagnose of the distilled task (rungs `finetuned` = the student, `remote` = the
teacher); stored as the distill run's `comparison` result so the report rebuilds it without a
model. Agreement is the task's own primary figure with the teacher's answers in place of the
gold ones (field accuracy for JSON, accuracy for labels, similarity for text), beside the share
of items answered identically.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from tunegate.outputs import FORMAT_METRICS, ItemOutput, Metric, RungOutputs
from tunegate.signals.parse import normalize_text
from tunegate.signals.stats import wilson
from tunegate.spec import Task

STUDENT, TEACHER = "finetuned", "remote"


@dataclass
class Side:
    """One model's figures on the held-out split."""

    rung: str
    model: str
    items: int
    errors: int
    accuracy: Metric | None = None  # primary figure against gold (None without gold labels)
    valid: Metric | None = None  # schema-valid / valid-label / non-empty share
    cost_per_month: Metric | None = None
    cost_basis: str = ""
    p50_ms: Metric | None = None
    p95_ms: Metric | None = None


@dataclass
class DistillComparison:
    """What the report's distillation section shows."""

    primary: str
    items: int
    gold: bool
    student: Side
    teacher: Side
    agreement: Metric | None  # primary figure of the student scored against the teacher
    identical: Metric | None  # share of items where both gave the same (canonical) answer
    accuracy_test: dict[str, Any] | None = None  # paired test of the primary figure, if run
    labelling: dict[str, Any] = field(default_factory=dict)  # inputs, labelled, invalid...
    training: dict[str, Any] = field(default_factory=dict)  # run id, steps, seconds, cost
    diagnose_run: str = ""
    task_folder: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DistillComparison:
        def metric(x: Any) -> Metric | None:
            return Metric(**x) if isinstance(x, dict) else None

        def side(x: dict[str, Any]) -> Side:
            names = ("accuracy", "valid", "cost_per_month", "p50_ms", "p95_ms")
            return Side(**{**x, **{k: metric(x.get(k)) for k in names}})

        return cls(
            **{
                **d,
                "student": side(d["student"]),
                "teacher": side(d["teacher"]),
                "agreement": metric(d.get("agreement")),
                "identical": metric(d.get("identical")),
            }
        )


def canonical(kind: str, text: str) -> str:
    """An answer in a form where equal answers compare equal (JSON re-serialized sorted)."""
    if kind == "json":
        try:
            return json.dumps(json.loads(text), sort_keys=True, ensure_ascii=False)
        except ValueError:
            return text.strip()
    return normalize_text(text)


def _metric(metrics: list[Metric], *names: str) -> Metric | None:
    return next((m for name in names for m in metrics if m.name == name), None)


def side(task: Task, rung: Any, primary: str, gold: bool) -> Side:
    """One rung's figures (a `tunegate.ladder.RungResult`)."""
    out: RungOutputs = rung.outputs
    ms: list[Metric] = rung.metrics
    p = task.prices
    if out.remote:
        basis = (
            f"remote: ${p.remote_input_per_1m:g} / ${p.remote_output_per_1m:g} per 1M "
            "input / output tokens"
        )
    else:
        rps = _metric(ms, "cost.requests_per_s")
        measured = f", measured {rps.value:.2f} requests/s" if rps else ""
        basis = f"self-hosted: ${p.self_hosted_per_hour:g}/hour{measured}"
    return Side(
        rung=rung.rung,
        model=out.model,
        items=len(out.items),
        errors=sum(1 for it in out.items if it.error is not None),
        accuracy=_metric(ms, primary) if gold else None,
        valid=_metric(ms, *FORMAT_METRICS),
        cost_per_month=_metric(ms, "cost.per_month"),
        cost_basis=basis,
        p50_ms=_metric(ms, "latency.p50_ms"),
        p95_ms=_metric(ms, "latency.p95_ms"),
    )


def agreement(
    task: Task,
    schema: dict[str, Any] | None,
    student: RungOutputs,
    teacher: RungOutputs,
    labels: list[str] | None,
    embedder: Any = None,
) -> tuple[Metric | None, Metric | None]:
    """(primary figure of the student against the teacher's answers, identical-answer share),
    over the items both answered."""
    from tunegate import signals

    theirs = {it.example_id: it.text for it in teacher.items if it.error is None}
    both = [it for it in student.items if it.error is None and it.example_id in theirs]
    if not both:
        return None, None
    kind = task.output.type
    same = sum(canonical(kind, it.text) == canonical(kind, theirs[it.example_id]) for it in both)
    v, lo, hi = wilson(same, len(both))
    identical = Metric("agreement.identical", v, lo, hi, len(both))
    as_gold = RungOutputs(
        rung="student-vs-teacher",
        model=student.model,
        items=[
            ItemOutput(it.example_id, theirs[it.example_id], it.text, error=None) for it in both
        ],
    )
    primary = signals.primary_metric(task)
    scores = signals.score(task, schema, as_gold, embedder=embedder, labels=labels)
    m = scores.metric(primary)
    agree = None if m is None else Metric(f"agreement.{primary}", m.value, m.lo, m.hi, m.n)
    return agree, identical


def compare(
    task: Task,
    schema: dict[str, Any] | None,
    result: Any,
    labels: list[str] | None,
    embedder: Any = None,
) -> DistillComparison:
    """Student vs teacher from a `DiagnoseResult` that ran both rungs."""
    from tunegate import signals

    s, t = result.rung(STUDENT), result.rung(TEACHER)
    if s is None or t is None:
        missing = STUDENT if s is None else TEACHER
        why = result.skipped.get(missing, "it did not run")
        raise ValueError(f"the {missing} rung is missing from diagnose {result.run_id}: {why}")
    primary = signals.primary_metric(task)
    gold = any(it.expected.strip() for it in s.outputs.items)
    agree, identical = agreement(task, schema, s.outputs, t.outputs, labels, embedder)
    test = next(
        (
            c
            for c in result.comparisons
            if c["name"] == primary and {c["a"], c["b"]} == {STUDENT, TEACHER}
        ),
        None,
    )
    return DistillComparison(
        primary=primary,
        items=len(result.item_ids),
        gold=gold,
        student=side(task, s, primary, gold),
        teacher=side(task, t, primary, gold),
        agreement=agree,
        identical=identical,
        accuracy_test=test if gold else None,
        diagnose_run=result.run_id,
    )
