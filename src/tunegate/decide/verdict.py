"""From measured evidence to a recommendation: is prompting enough, or must we fine-tune?

Pure functions: `decide(task, evidence)` reads the `tunegate.evidence.Evidence` (the newest
result of each rung on one shared item set, with the data's readiness and the training run) and
returns a `Decision` whose every reason cites its numbers. A rung *meets* a target when its
confidence interval does, *may meet* when only the point estimate does (see
`signals.stats.target_status`). The cheapest rung that meets is chosen, whatever its kind; the
headline names every kind that meets, so it never says prompting fails while a prompt rung meets.
"""

from __future__ import annotations

import math

from tunegate.decide.flips import break_even, curve_slope, what_would_flip
from tunegate.decide.gates import judge_gates, signal_verdicts
from tunegate.decide.record import RANK, Decision, Gate, RungStatus, Verdict, fmt, rung_status
from tunegate.evidence import Evidence
from tunegate.ladder.result import OPTIMIZED, prompt_ceiling
from tunegate.signals import primary_metric
from tunegate.spec import Task


def _ranked(statuses: list[RungStatus]) -> list[RungStatus]:
    """Rungs by how well they meet the targets, then by cost per month (cheapest first)."""
    return sorted(
        statuses,
        key=lambda s: (
            RANK[s.overall],
            math.inf if s.cost_per_month is None else s.cost_per_month,
        ),
    )


def _verdict(
    task: Task, ev: Evidence, statuses: list[RungStatus], gates: list[Gate]
) -> tuple[Verdict, str, str | None, list[str]]:
    """The verdict, its headline, the chosen rung and the reasons that go with them."""
    order = _ranked(statuses)
    meeting = [s for s in order if s.overall == "meets"] or [
        s for s in order if s.overall == "may meet"
    ]
    data_gate = next(g for g in gates if g.name == "data")
    tuned = next((s for s in statuses if s.kind == "finetuned"), None)
    reasons: list[str] = []
    if not meeting:
        if data_gate.ok is False:
            reasons.append(f"data gate: {data_gate.detail}")
            return (
                "not ready",
                "Not ready: no rung meets the targets, and the data is not ready to fine-tune on.",
                None,
                reasons,
            )
        if tuned is None and statuses:
            return (
                "fine-tune",
                "Fine-tune: no prompt rung meets the targets and the data is ready; run `tunegate train`.",
                None,
                reasons,
            )
        return "nothing meets", _nothing_meets(task, order), None, reasons
    pick = meeting[0]
    word = "meets" if pick.overall == "meets" else "may meet"
    prompt = next((s for s in meeting if s.kind == "prompt"), None)
    others = [s.rung for s in meeting[1:]]
    also = f" ({', '.join(others)} also {word})" if others else ""
    if pick.kind == "prompt":
        headline = f"Prompting is enough: {pick.rung} {word} every target at the lowest cost{also}."
        return "prompting suffices", headline, pick.rung, reasons
    if pick.kind == "finetuned":
        if prompt is not None:
            headline = (
                f"Fine-tune, or keep prompting: both {prompt.rung} and the fine-tuned model {word} "
                f"every target; the fine-tuned model is cheaper at your traffic{also}."
            )
        else:
            headline = f"Fine-tune: no prompt rung meets the targets; the fine-tuned model {'does' if word == 'meets' else 'may'}."
        return "fine-tune", headline, pick.rung, reasons
    if prompt is not None:
        headline = (
            f"The remote model is the cheapest that {word} every target; {prompt.rung} also "
            f"{word}{also}."
        )
    else:
        headline = "Only the remote model meets the targets: use it now; distil it into a fine-tuned small model to cut cost."
    return "remote only", headline, pick.rung, reasons


def _nothing_meets(task: Task, order: list[RungStatus]) -> str:
    """Which rung comes closest (fewest failed targets, then the best primary figure)."""
    if not order:
        return "Nothing meets the targets yet: no rung was measured."
    closest = min(
        order,
        key=lambda s: (
            sum(st == "fails" for st in s.targets.values()),
            -(s.primary.value if s.primary else -math.inf),
        ),
    )
    gaps = ", ".join(t for t, st in closest.targets.items() if st == "fails") or "none"
    return f"Nothing meets the targets yet: {closest.rung} comes closest (fails: {gaps})."


def _pair_line(task: Task, ev: Evidence, a: str, b: str) -> str | None:
    """The paired test of two rungs on the primary metric, said plainly."""
    primary = primary_metric(task)
    c = next(
        (x for x in ev.comparisons if x.name == primary and {x.a, x.b} == {a, b}),
        None,
    )
    if c is None:
        return None
    va, vb = (c.a_value, c.b_value) if c.a == a else (c.b_value, c.a_value)
    p = c.p_adjusted if c.p_adjusted is not None else c.p_value
    said = f"{c.better} is better" if c.real else "no real difference"
    return (
        f"{a} {va:.3f} vs {b} {vb:.3f} on {primary} (n={c.n}): {said}, "
        f"{c.test.replace('_', ' ')} p={p:.2g} (Holm-adjusted)"
    )


def decide(task: Task, ev: Evidence) -> Decision:
    """The recommendation, with per-signal verdicts, gates, break-even and what would flip it."""
    statuses = [rung_status(task, r) for r in ev.rungs]
    gates = judge_gates(task, ev)
    primary = primary_metric(task)
    verdict, headline, chosen, reasons = _verdict(task, ev, statuses, gates)
    top = prompt_ceiling(ev.rungs, primary)
    best_prompt = next((s for s in statuses if top and s.rung == top.rung), None)
    tuned = next((s for s in statuses if s.kind == "finetuned"), None)
    order = _ranked(statuses)
    if not task.targets.model_dump(exclude_none=True):
        reasons.append(
            "no targets are set in tunegate.yaml: every rung 'may meet'; set targets for a firm verdict"
        )
    # the chosen rung, the prompt ceiling and the adapter always, then the best of the rest
    must = {chosen, top.rung if top else None, tuned.rung if tuned else None}
    shown = [s for s in order if s.rung in must]
    shown += [s for s in order if s.rung not in must][: max(0, 4 - len(shown))]
    for s in sorted(shown, key=order.index):
        gaps = ", ".join(f"{t} {st}" for t, st in s.targets.items()) or "no targets"
        cost = (
            f"${s.cost_per_month:,.2f}/month"
            if s.cost_per_month is not None
            else "cost not measured"
        )
        reasons.append(f"{s.rung}: {primary} {fmt(s.primary)}; {cost}; {gaps}")
    pick = next((s for s in statuses if s.rung == chosen), None)
    if pick is not None and pick.overall == "may meet":
        reasons.append(
            f"{pick.rung} only may meet: its interval straddles a target; more test items would settle it"
        )
    if top is not None and tuned is not None:
        line = _pair_line(task, ev, top.rung, tuned.rung)
        if line:
            reasons.append(f"prompt ceiling vs fine-tuned: {line}")
    if chosen and tuned is not None and chosen not in (tuned.rung, top.rung if top else None):
        line = _pair_line(task, ev, chosen, tuned.rung)
        if line:
            reasons.append(f"chosen vs fine-tuned: {line}")
    if best_prompt is not None and best_prompt.rung == OPTIMIZED:
        hand = [s for s in statuses if s.kind == "prompt" and s.primary and s.rung != OPTIMIZED]
        best_hand = max(hand, key=lambda s: s.primary.value, default=None)  # type: ignore[union-attr]
        reasons.append(
            f"prompt ceiling: {OPTIMIZED} (a prompt search on a dev split of train) reaches "
            f"{primary} {fmt(best_prompt.primary)}"
            + (
                f"; the best hand-set prompt, {best_hand.rung}: {fmt(best_hand.primary)}"
                if best_hand
                else ""
            )
        )
    slope = curve_slope(ev.training.curve) if ev.training else None
    if slope is not None:
        reasons.append(
            f"learning curve: more data would add about {100 * slope:+.1f} points of {primary} per doubling"
        )
    for e in ev.excluded:
        reasons.append(f"left out: {e.rung}: {e.detail}; measure it with `{e.command}`")
    flips = what_would_flip(task, ev, statuses, best_prompt, tuned, verdict, chosen)
    return Decision(
        verdict=verdict,
        headline=headline,
        chosen=chosen,
        reasons=reasons,
        rungs=statuses,
        signals=signal_verdicts(task, ev),
        gates=gates,
        break_even=break_even(task, ev),
        curve_slope=slope,
        flips=flips,
        ceiling=top.rung if top else None,
    )
