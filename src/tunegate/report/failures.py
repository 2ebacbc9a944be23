"""The worst answers of each rung, beside the expected output and the input.

Items are ranked by the knowledge signal's own per-item score, computed without a model:
correct or not (label), the share of fields right (json), token F1 (text; the embedding
similarity would need MiniLM). Items whose generation failed come first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunegate.outputs import ItemOutput, RungOutputs
from tunegate.signals import knowledge
from tunegate.signals.parse import expected_object, lenient_json, normalize_value
from tunegate.signals.scores import item_keys

SCORE_NAME = {
    "label": "knowledge.accuracy",
    "json": "knowledge.field_accuracy",
    "text": "knowledge.token_f1",
}


@dataclass
class Failure:
    """One wrong answer: what came in, what was expected, what the rung said, and how wrong."""

    example_id: str
    input: str
    expected: str
    output: str
    score: float | None
    error: str | None = None
    wrong_fields: list[str] = field(default_factory=list)


@dataclass
class RungFailures:
    rung: str
    score_name: str
    wrong: int
    total: int
    worst: list[Failure]


def item_scores(
    output_type: str,
    schema: dict[str, Any] | None,
    items: Sequence[ItemOutput],
    labels: Sequence[str] | None,
) -> dict[str, float]:
    """Item key -> the knowledge score that ranks failures (no embedder needed)."""
    ok = [it for it in items if it.error is None]
    if not ok:
        return {}
    res = knowledge.measure(output_type, schema, ok, labels=list(labels or []), embedder=None)
    name = SCORE_NAME[output_type]
    scores = next((s for s in res.scores if s.name == name), None)
    return dict(scores.values) if scores else {}


def wrong_fields(expected: str, text: str) -> list[str]:
    """For JSON answers: each field that differs, as `field: expected -> got`."""
    gold = expected_object(expected)
    got = lenient_json(text)
    if got is None:
        return ["not a JSON object"]
    out = []
    for key, want in gold.items():
        if key not in got:
            out.append(f"{key}: missing (expected {_short(want)})")
        elif normalize_value(got[key]) != normalize_value(want):
            out.append(f"{key}: {_short(want)} -> {_short(got[key])}")
    out.extend(f"{key}: unexpected field" for key in got if key not in gold)
    return out


def _short(v: Any, limit: int = 40) -> str:
    s = v if isinstance(v, str) else repr(v)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def worst_failures(
    output_type: str,
    schema: dict[str, Any] | None,
    outputs: RungOutputs,
    inputs: Mapping[str, str],
    labels: Sequence[str] | None = None,
    limit: int = 5,
) -> RungFailures:
    """The rung's `limit` worst items (errors first, then the lowest scores below perfect)."""
    scores = item_scores(output_type, schema, outputs.items, labels)
    threshold = knowledge.TEXT_CORRECT_F1 if output_type == "text" else 1.0
    ranked: list[tuple[float, int, Failure]] = []
    for i, (key, it) in enumerate(zip(item_keys(outputs.items), outputs.items, strict=True)):
        score = scores.get(key)
        if it.error is None and (score is None or score >= threshold):
            continue
        f = Failure(
            example_id=it.example_id,
            input=inputs.get(it.example_id, ""),
            expected=it.expected,
            output=it.text,
            score=score,
            error=it.error,
            wrong_fields=wrong_fields(it.expected, it.text)
            if output_type == "json" and it.error is None
            else [],
        )
        ranked.append((-1.0 if it.error else (score or 0.0), i, f))
    ranked.sort(key=lambda t: (t[0], t[1]))
    return RungFailures(
        rung=outputs.rung,
        score_name=SCORE_NAME[output_type],
        wrong=len(ranked),
        total=len(outputs.items),
        worst=[f for _, _, f in ranked[:limit]],
    )
