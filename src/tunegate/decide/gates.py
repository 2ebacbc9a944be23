"""decide's checks beside the targets: the gates (is the data ready, does the training cycle fit
the budget) and each signal's verdict (does the best prompt rung meet it, or only fine-tuning)."""

from __future__ import annotations

from tunegate.decide.record import Gate, SignalVerdict, fmt
from tunegate.evidence import Evidence
from tunegate.ladder.result import OPTIMIZED, prompt_ceiling
from tunegate.signals import primary_metric
from tunegate.signals.cost import budget_notes, train_price_per_hour, training_cost
from tunegate.signals.stats import target_status
from tunegate.spec import Task

MIN_TRAIN_EXAMPLES = 100


def judge_gates(task: Task, ev: Evidence) -> list[Gate]:
    gates = []
    rd = ev.readiness
    if rd is None:
        gates.append(Gate("data", None, "not checked: run `tunegate check`"))
    else:
        enough = rd.n_train >= MIN_TRAIN_EXAMPLES
        clean = rd.verdict != "fail"
        detail = f"{rd.n_train} training examples (need >= {MIN_TRAIN_EXAMPLES}); check verdict {rd.verdict}"
        if rd.problems:
            detail += ": " + "; ".join(rd.problems[:3])
        gates.append(Gate("data", enough and clean, detail))
    price = train_price_per_hour(task)
    seconds, source = None, ""
    if ev.training is not None:
        seconds, source = ev.training.seconds, "of training here"
    elif rd is not None and rd.train_seconds is not None:
        seconds, source = rd.train_seconds, "of training here (check's estimate)"
    if seconds is not None:
        dollars = training_cost(seconds, price)
        ok, note = budget_notes(task, seconds, dollars)
        detail = f"{seconds / 60:.1f} min {source}, ${dollars:.2f} at ${price:.2f}/h"
        gates.append(Gate("training cycle", ok, detail + (f"; {note}" if note else "")))
    return gates


def signal_verdicts(task: Task, ev: Evidence) -> list[SignalVerdict]:
    kind = task.output.type
    fmt_name = {"json": "format.schema_valid", "label": "format.valid_label"}.get(
        kind, "format.nonempty"
    )
    plan = [
        ("format", fmt_name, "min_schema_valid_rate", 0.99),
        (
            "knowledge",
            primary_metric(task),
            "min_accuracy" if kind != "text" else "min_similarity",
            None,
        ),
        ("style", "style.similarity", "min_style_similarity", None),
        ("cost", "cost.per_month", "max_cost_per_month", None),
        ("latency", "latency.p95_ms", "max_p95_latency_ms", None),
    ]
    prompt = [r for r in ev.rungs if r.kind == "prompt"]
    tuned = [r for r in ev.rungs if r.kind == "finetuned"]
    out = []
    for signal, name, target, default in plan:
        goal = getattr(task.targets, target, None)
        goal = default if goal is None else goal
        measured = [(r, r.metric(name)) for r in prompt if r.metric(name) is not None]
        if not measured:
            out.append(SignalVerdict(signal, "not measured", f"{name}: no prompt rung measured it"))
            continue
        higher = measured[0][1].higher_is_better  # type: ignore[union-attr]
        best_r, best = max(measured, key=lambda rm: rm[1].value if higher else -rm[1].value)  # type: ignore[union-attr]
        top = prompt_ceiling(ev.rungs, name) if signal == "knowledge" else None
        if top is not None:  # the one prompt-ceiling rule, not the best of these test items
            best_r, best = top, top.metric(name)
        assert best is not None
        label = "prompt ceiling" if best_r.rung == OPTIMIZED else "best prompt rung"
        figure = f"{label} {best_r.rung}: {name} {fmt(best)}"
        tm = next((t.metric(name) for t in tuned if t.metric(name) is not None), None)
        if tm is not None:
            figure += f"; fine-tuned: {fmt(tm)}"
        if goal is None:
            real = real_gain(ev, name, best_r.rung)
            verdict = "fine-tuning needed" if real else "prompting suffices"
            figure += f"; no target set{f' — {real}' if real else ''}"
        else:
            ok = target_status(
                best.value, best.lo, best.hi, goal, higher_is_better=higher, n=best.n
            )
            figure += f"; target {'>=' if higher else '<='} {goal}"
            if ok != "fails":
                verdict = "prompting suffices"
            elif (
                tm is not None
                and target_status(tm.value, tm.lo, tm.hi, goal, higher_is_better=higher, n=tm.n)
                != "fails"
            ):
                verdict = "fine-tuning needed"
            else:
                verdict = "neither meets" if tm is not None else "fine-tuning needed"
        out.append(SignalVerdict(signal, verdict, figure))  # type: ignore[arg-type]
    return out


def real_gain(ev: Evidence, name: str, prompt_rung: str) -> str | None:
    tuned = {r.rung for r in ev.rungs if r.kind == "finetuned"}
    for c in ev.comparisons:
        if c.name == name and c.real and prompt_rung in (c.a, c.b) and c.better in tuned:
            return f"fine-tuned better by {abs(c.diff):.3f} (p={c.p_value:.3g}, {c.test})"
    return None
