"""The five signals, measured on one rung's outputs, and the paired comparison of two rungs.

`measure` turns a rung's outputs into `Metric`s (each with n and a 95% CI); `compare` tests two
rungs on the same items (matched by example id); `targets_met` applies the CI rule to the task's
targets; `primary_metric` names the figure that ranks rungs. Items whose generation failed
(`ItemOutput.error`) count in `errors.rate` only; every other figure is over the rest.

Metric names (`<field>`/`<key>` are JSON keys made name-safe; "low" = lower is better):
- errors.rate (low)
- format: json -> format.parse, format.parse_lenient, format.schema_valid,
  format.schema_valid_lenient, format.keys_missing, format.keys_extra, format.keys_renamed (low;
  share of parsed outputs with at least one), format.duplicate_keys, format.keys_outside_schema
  (any depth), format.wrong_type (any depth) (low; share of parsed outputs), format.key_missing.<key>,
  format.key_renamed.<key>, format.key_extra.<key> (low; per key, the 10 most frequent extra
  keys); label -> format.valid_label, format.valid_label_lenient; text -> format.nonempty;
  with repeated samples -> format.sample_agreement (+ format.sample_key_agreement for json)
- knowledge: label -> knowledge.accuracy, knowledge.accuracy_strict, knowledge.macro_f1;
  json -> knowledge.field_accuracy (mean normalized field accuracy per item),
  knowledge.field_exact, knowledge.all_fields, knowledge.field_accuracy.<field>,
  knowledge.field_exact.<field>, knowledge.macro_f1.<field> (enum fields),
  knowledge.token_f1.<field>, knowledge.similarity.<field> (free-text fields),
  knowledge.pair_f1 (per item), knowledge.micro_precision, knowledge.micro_recall,
  knowledge.micro_f1, knowledge.pair_f1.<field>, knowledge.micro_f1.<field> (signals.extraction);
  text -> knowledge.exact_match, knowledge.token_f1, knowledge.similarity;
  with docs_text and inputs -> knowledge.doc_dependent_share, knowledge.error_rate.doc_dependent,
  knowledge.error_rate.other (low), knowledge.doc_error_share (low); json also per field
  knowledge.error_rate.doc_dependent.<field>, knowledge.error_rate.other.<field> (low)
- style (with style_refs, text or free-text json fields): style.similarity, style.drift (low),
  style.ref_similarity, style.classifier_auc, style.classifier_accuracy (low: 0.5 is
  indistinguishable), style.length_words, style.ref_length_words, style.informal_per_100w,
  style.ref_informal_per_100w (descriptive: compare with the ref_ figure)
- cost: cost.input_tokens, cost.output_tokens, cost.per_request, cost.per_1k_requests,
  cost.per_month (low); local rungs also cost.per_month_dedicated (low), cost.requests_per_s
- latency: latency.p50_ms, latency.p95_ms, latency.ttft_p50_ms, latency.ttft_p95_ms (low)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tunegate.outputs import ItemOutput, Metric, RungOutputs
from tunegate.signals import cost, format, knowledge, latency, style
from tunegate.signals.knowledge import Confusion
from tunegate.signals.parse import CachedEncoder, Encoder
from tunegate.signals.scores import ItemScores, SignalResult, item_keys, scored
from tunegate.signals.stats import (
    Comparison,
    compare_binary,
    compare_continuous,
    target_status,
    unpaired_quantile_diff,
    verdict,
)
from tunegate.spec import Task

__all__ = [
    "CachedEncoder",
    "Comparison",
    "Confusion",
    "RungScores",
    "compare",
    "confusions",
    "measure",
    "primary_metric",
    "score",
    "targets_met",
]

TargetStatus = Literal["meets", "may meet", "fails", "not measured"]

PRIMARY = {
    "label": "knowledge.accuracy",
    "json": "knowledge.field_accuracy",
    "text": "knowledge.similarity",
}

TARGET_METRICS: dict[str, dict[str, str]] = {
    "min_accuracy": {"label": "knowledge.accuracy", "json": "knowledge.field_accuracy"},
    "min_schema_valid_rate": {"json": "format.schema_valid", "label": "format.valid_label"},
    "min_similarity": {"text": "knowledge.similarity"},
    "min_style_similarity": {t: "style.similarity" for t in ("text", "json")},
    "max_p95_latency_ms": {t: "latency.p95_ms" for t in ("text", "json", "label")},
    "max_cost_per_month": {t: "cost.per_month" for t in ("text", "json", "label")},
}


def primary_metric(task: Task) -> str:
    """The figure that ranks rungs: the task's `output.primary_metric`, else accuracy (label),
    mean field accuracy (json), similarity (text)."""
    return task.output.primary_metric or PRIMARY[task.output.type]


def target_metric(task: Task, target: str) -> str | None:
    """The figure a target is judged on: `min_accuracy` (and `min_similarity`) follow the task's
    primary metric, so the target, the ranking and the report quote one figure."""
    if target in ("min_accuracy", "min_similarity") and task.output.type in TARGET_METRICS.get(
        target, {}
    ):
        return primary_metric(task)
    return TARGET_METRICS.get(target, {}).get(task.output.type)


@dataclass
class RungScores:
    """One rung measured: its figures, the per-item scores behind them (for paired comparisons),
    and why any signal was not measured."""

    outputs: RungOutputs
    metrics: list[Metric] = field(default_factory=list)
    scores: dict[str, ItemScores] = field(default_factory=dict)
    not_measured: dict[str, str] = field(default_factory=dict)

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)


def task_labels(task: Task, items: Sequence[ItemOutput], labels: Sequence[str] | None) -> list[str]:
    """The label set: given, else the task's, else the expected labels seen in the items."""
    if labels:
        return list(labels)
    if task.output.labels:
        return list(task.output.labels)
    return sorted({it.expected.strip() for it in items})


def score(
    task: Task,
    schema: dict[str, Any] | None,
    outputs: RungOutputs,
    *,
    docs_text: str | None = None,
    style_refs: Sequence[str] | None = None,
    embedder: Encoder | None = None,
    labels: Sequence[str] | None = None,
    inputs: Mapping[str, str] | None = None,
) -> RungScores:
    """Measure every signal on one rung; keep the per-item scores for `compare`.

    `embedder`: MiniLM by default, loaded only when a signal needs it (pass one `CachedEncoder`
    for a whole run). `labels`: the label set (label tasks; default task.output.labels, else the
    expected labels). `inputs`: example id -> input text, needed with `docs_text` for the
    doc-dependence figures.
    """
    out = RungScores(outputs)
    if outputs.skipped:
        out.not_measured["rung"] = outputs.skipped
        return out
    if not outputs.items:
        out.not_measured["rung"] = "no items"
        return out
    enc = embedder if isinstance(embedder, CachedEncoder) else CachedEncoder(embedder)
    kind = task.output.type
    res = SignalResult()
    errored = [it.error is not None for it in outputs.items]
    res.add(
        scored(
            "errors.rate", item_keys(outputs.items), errored, binary=True, higher_is_better=False
        )
    )
    items = [it for it in outputs.items if it.error is None]
    label_set = task_labels(task, outputs.items, labels)
    if items:
        res.extend(format.measure(kind, schema, items, labels=label_set, embedder=enc))
        res.extend(
            knowledge.measure(
                kind,
                schema,
                items,
                labels=label_set,
                embedder=enc,
                docs_text=docs_text,
                inputs=inputs,
                set_fields=task.output.set_fields,
            )
        )
        res.extend(style.measure(kind, schema, items, style_refs=style_refs, embedder=enc))
        res.extend(cost.measure(task, outputs, items))
    res.metrics.extend(latency.measure(outputs))
    out.metrics = res.metrics
    out.scores = {s.name: s for s in res.scores}
    out.not_measured = _not_measured(
        task, schema, outputs, items, out, docs_text, style_refs, inputs
    )
    return out


def _not_measured(
    task: Task,
    schema: dict[str, Any] | None,
    outputs: RungOutputs,
    items: list[ItemOutput],
    scores: RungScores,
    docs_text: str | None,
    style_refs: Sequence[str] | None,
    inputs: Mapping[str, str] | None,
) -> dict[str, str]:
    notes: dict[str, str] = {}
    if not items:
        notes["quality"] = "every item failed to generate"
    reason = style.not_measured(task.output.type, schema, items, style_refs)
    if reason:
        notes["style"] = reason
    if not docs_text:
        notes["knowledge.doc_dependence"] = "no docs text"
    elif inputs is None:
        notes["knowledge.doc_dependence"] = "no input texts given"
    if scores.metric("cost.per_request") is None:
        notes["cost"] = "no token counts" if outputs.remote else "no measured throughput"
    if not outputs.latencies_ms:
        notes["latency"] = "not timed"
    if not any(it.samples for it in items):
        notes["format.sample_agreement"] = "no repeated samples"
    return notes


def measure(
    task: Task,
    schema: dict[str, Any] | None,
    outputs: RungOutputs,
    *,
    docs_text: str | None = None,
    style_refs: Sequence[str] | None = None,
    embedder: Encoder | None = None,
    labels: Sequence[str] | None = None,
    inputs: Mapping[str, str] | None = None,
) -> list[Metric]:
    """Every signal's figures for one rung (see the module docstring for the names)."""
    return score(
        task,
        schema,
        outputs,
        docs_text=docs_text,
        style_refs=style_refs,
        embedder=embedder,
        labels=labels,
        inputs=inputs,
    ).metrics


def compare(
    task: Task,
    a: RungOutputs | RungScores,
    b: RungOutputs | RungScores,
    *,
    schema: dict[str, Any] | None = None,
    docs_text: str | None = None,
    style_refs: Sequence[str] | None = None,
    embedder: Encoder | None = None,
    labels: Sequence[str] | None = None,
    inputs: Mapping[str, str] | None = None,
    only: set[str] | None = None,
) -> list[Comparison]:
    """Rung b against rung a on every per-item score both have (or those named in `only`),
    over the items both answered.

    Pass/fail scores: McNemar; continuous: paired permutation test; both with a bootstrap CI of
    the mean difference (b - a). Latency p50/p95: unpaired bootstrap (timed on separate
    requests). The primary metric comes first. p-values are per comparison, not corrected
    (`stats.holm` adjusts a family of them).
    """
    kw: dict[str, Any] = {
        "docs_text": docs_text,
        "style_refs": style_refs,
        "labels": labels,
        "inputs": inputs,
    }
    enc = embedder if isinstance(embedder, CachedEncoder) else CachedEncoder(embedder)
    sa = a if isinstance(a, RungScores) else score(task, schema, a, embedder=enc, **kw)
    sb = b if isinstance(b, RungScores) else score(task, schema, b, embedder=enc, **kw)
    ra, rb = sa.outputs.rung, sb.outputs.rung
    primary = primary_metric(task)
    names = sorted(set(sa.scores) & set(sb.scores), key=lambda n: (n != primary, n))
    if only is not None:
        names = [n for n in names if n in only]
    out = []
    for name in names:
        x, y = sa.scores[name], sb.scores[name]
        common = [k for k in x.values if k in y.values]
        if not common:
            continue
        xa, xb = [x.values[k] for k in common], [y.values[k] for k in common]
        if x.binary:
            c = compare_binary(
                name,
                ra,
                rb,
                [v > 0.5 for v in xa],
                [v > 0.5 for v in xb],
                higher_is_better=x.higher_is_better,
            )
        else:
            c = compare_continuous(name, ra, rb, xa, xb, higher_is_better=x.higher_is_better)
        out.append(c)
    if only is None or any(n.startswith("latency.") for n in only):
        out.extend(_compare_latency(sa.outputs, sb.outputs))
    return out


def _compare_latency(a: RungOutputs, b: RungOutputs) -> list[Comparison]:
    out = []
    for label, q in latency.QUANTILES.items():
        if not (a.latencies_ms and b.latencies_ms):
            break
        d, lo, hi, p = unpaired_quantile_diff(a.latencies_ms, b.latencies_ms, q)
        va, vb = (
            latency.percentile_metric("", a.latencies_ms, q),
            latency.percentile_metric("", b.latencies_ms, q),
        )
        n = min(len(a.latencies_ms), len(b.latencies_ms))
        out.append(
            verdict(
                f"latency.{label}_ms",
                a.rung,
                b.rung,
                va.value,
                vb.value,
                (d, lo, hi),
                p,
                n=n,
                test="unpaired_bootstrap",
                higher_is_better=False,
            )
        )
    return out


def targets_met(task: Task, metrics: Sequence[Metric]) -> dict[str, TargetStatus]:
    """For each target set in the task: meets / may meet / fails by the CI rule, or not measured.

    meets: the interval's conservative bound (lo for a minimum, hi for a maximum) satisfies the
    target; may meet: only the point estimate does.
    """
    by_name = {m.name: m for m in metrics}
    out: dict[str, TargetStatus] = {}
    for target, value in task.targets.model_dump().items():
        if value is None:
            continue
        name = target_metric(task, target)
        m = by_name.get(name) if name else None
        if m is None:
            out[target] = "not measured"
        else:
            out[target] = target_status(
                m.value, m.lo, m.hi, float(value), higher_is_better=target.startswith("min_"), n=m.n
            )
    return out


def confusions(
    task: Task,
    schema: dict[str, Any] | None,
    outputs: RungOutputs,
    labels: Sequence[str] | None = None,
) -> dict[str, Confusion]:
    """Per-label confusion matrices (counts) for the report: each enum field, or "label"."""
    items = [it for it in outputs.items if it.error is None]
    return knowledge.confusions(
        task.output.type, schema, items, task_labels(task, outputs.items, labels)
    )
