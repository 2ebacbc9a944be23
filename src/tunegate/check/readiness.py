"""The readiness items of `tunegate check`: what each one measures on the rows.

The findings come from `tunegate.data.quality` (rows, JSON, labels), `tunegate.data.dedup` and
`tunegate.data.tokens`; `tunegate.check.rules` grades them into items.
"""

from __future__ import annotations

from typing import Any

from tunegate.check.rules import DEFAULT_MAX_LENGTH, CheckItem, Items, Status, where
from tunegate.data import dedup, quality
from tunegate.data.examples import Example, input_text, stratum
from tunegate.data.tokens import TokenCounts, summarize
from tunegate.spec import Task


def count_items(items: Items, task: Task, n_train: int, n_test: int, n_test_all: int) -> None:
    th = items.th
    status: Status = (
        "fail" if n_train < th.min_train_rows else "warn" if n_train < th.few_train_rows else "ok"
    )
    why = {
        "ok": "enough to fine-tune a small model",
        "warn": f"few for fine-tuning (under {th.few_train_rows})",
        "fail": f"too few to learn from (under {th.min_train_rows})",
    }[status]
    items.put(
        CheckItem("rows.train", "train rows", status, n_train, f"{n_train:,} train rows: {why}")
    )
    src = (
        task.data.test
        or f"{task.data.test_fraction:g} of {task.data.train} (seed {task.data.seed})"
    )
    of = f" of {n_test_all:,}" if n_test_all != n_test else ""
    t_status: Status = "warn" if n_test < th.few_test_rows else "ok"
    reason = f"{n_test:,}{of} test rows from {src} are evaluated"
    if t_status == "warn":
        reason += f"; under {th.few_test_rows}, confidence intervals are wide"
    items.put(CheckItem("rows.test", "test rows", t_status, n_test, reason))


def row_items(items: Items, rows: list[Example]) -> None:
    found = quality.row_findings(rows)
    for name, idx in (
        ("rows.missing_fields", found.missing_fields),
        ("rows.empty_inputs", found.empty_inputs),
        ("rows.empty_targets", found.empty_targets),
    ):
        items.count(name, [rows[i] for i in idx], len(rows))


def duplicate_items(items: Items, train: list[Example], test: list[Example]) -> None:
    found = dedup.find_duplicates(
        [input_text(ex) for ex in train],
        [ex.target for ex in train],
        [input_text(ex) for ex in test],
    )
    for name, matches, src in (
        ("duplicates.train_exact", found.exact, train),
        ("duplicates.train_conflicting", found.conflicting, train),
        ("duplicates.train_near", found.near, train),
        ("leakage.exact", found.leak_exact, test),
        ("leakage.near", found.leak_near, test),
    ):
        pairs = [
            {
                "row": where(items.folder, src[m.row]),
                "of": where(items.folder, train[m.of]),
                "similarity": round(m.similarity, 3),
            }
            for m in matches
        ]
        items.count(name, [src[m.row] for m in matches], len(src), {"pairs": pairs})


def json_items(items: Items, rows: list[Example], schema: dict[str, Any]) -> None:
    found = quality.json_findings(rows, schema)
    items.count("json.parse_errors", [rows[i] for i in found.parse_errors], len(rows))
    by_rule = {"by_rule": dict(sorted(found.by_rule.items()))}
    items.count(
        "json.schema_violations", [rows[i] for i in found.schema_violations], len(rows), by_rule
    )
    drift = {kind: dict(sorted(c.items())) for kind, c in found.drift.items()}
    items.fill["drift"] = "; ".join(
        f"{kind} {', '.join(f'{k} x{n}' for k, n in c.items())}" for kind, c in drift.items() if c
    )
    items.count("json.key_drift", [rows[i] for i in found.drift_rows], len(rows), drift)
    mixed_type_items(items, rows)


def mixed_type_items(items: Items, rows: list[Example]) -> None:
    conflicts = quality.mixed_types(rows, lambda ex: where(items.folder, ex))
    more = f"; and {len(conflicts) - 3} more keys" if len(conflicts) > 3 else ""
    items.fill["mixed"] = "; ".join(c.describe() for c in conflicts[:3]) + more
    by_where = {where(items.folder, ex): ex for ex in rows}
    flagged = [by_where[w] for w in quality.minority_rows(conflicts, list(by_where))]
    details = {c.path: {t: len(rs) for t, rs in c.rows.items()} for c in conflicts}
    items.count("json.mixed_types", flagged, len(rows), {"keys": details})


def label_items(items: Items, task: Task, train: list[Example], test: list[Example]) -> None:
    found = quality.label_findings(task, train, test)
    if found is None:
        return
    field_name = "label" if task.output.type == "label" else f"field {task.output.stratify!r}"
    items.fill["field"] = field_name
    if task.output.type == "label" and task.output.labels:
        rows = [*train, *test]
        items.count("labels.invalid", [rows[i] for i in found.invalid], len(rows))
    counts = found.counts
    if counts:
        (most, n_most), (least, n_least) = counts.most_common()[0], counts.most_common()[-1]
        ratio = n_most / n_least
        status: Status = "warn" if ratio > items.th.imbalance_warn else "ok"
        reason = (
            f"{len(counts)} values of the {field_name} in train; most frequent {most!r} x{n_most}, "
            f"least {least!r} x{n_least} (ratio {ratio:.1f})"
        )
        if status == "warn":
            reason += f"; over {items.th.imbalance_warn:g}, rare labels are learned poorly"
        items.put(
            CheckItem(
                "labels.imbalance",
                "label balance",
                status,
                round(ratio, 2),
                reason,
                details={"counts": dict(counts.most_common())},
            )
        )
    single = found.singletons
    if single:
        names = ", ".join(repr(s) for s in single[:5])
        reason = (
            f"{len(single)} value(s) of the {field_name} in one train row only: {names}; "
            "one example cannot teach it"
        )
    else:
        reason = f"every value of the {field_name} has at least two train rows"
    single_rows = [ex for ex in train if stratum(task, ex) in set(single)]
    items.put(
        CheckItem(
            "labels.singletons",
            "singleton labels",
            "warn" if single else "ok",
            len(single),
            reason,
            items.where(single_rows),
            {"labels": single},
        )
    )
    items.count("labels.unseen_in_test", [test[i] for i in found.unseen_in_test], len(test))


def token_items(
    items: Items,
    task: Task,
    train: list[Example],
    test: list[Example],
    counts: TokenCounts,
    max_length: int = DEFAULT_MAX_LENGTH,
) -> dict[str, Any]:
    """Token statistics and the length items against the training cutoff `max_length` (the
    resolved training settings'); returns the token summary kept in the report."""
    rows, n = [*train, *test], len(train)
    max_tokens = task.output.max_tokens
    items.fill.update(max_length=max_length, max_tokens=max_tokens, context=counts.context or 0)
    seq = [counts.sequence(i) for i in range(n)]
    for name, title, what, values in (
        ("tokens.input", "input tokens", "prompt tokens with the chat template", counts.prompt),
        ("tokens.target", "target tokens", "target tokens", counts.target),
    ):
        s = summarize(values)
        reason = f"{what}: p50 {s['p50']:g}, p95 {s['p95']:g}, max {s['max']:g}"
        items.put(CheckItem(name, title, "ok", s["p95"], reason, details=s))
    items.count("length.over_train_cutoff", [train[i] for i in range(n) if seq[i] > max_length], n)
    if counts.context is not None:
        ctx = counts.context
        over = [train[i] for i in range(n) if seq[i] > ctx]
        over += [test[j] for j in range(len(test)) if counts.prompt[n + j] + max_tokens > ctx]
        items.count("length.over_context", over, len(rows))
    long_targets = [rows[i] for i in range(len(rows)) if counts.target[i] > max_tokens]
    items.count("length.target_over_max_tokens", long_targets, len(rows))
    return {
        "max_length": max_length,
        "context": counts.context,
        "end_of_turn": counts.end_of_turn,
        "input": summarize(counts.prompt),
        "target": summarize(counts.target),
        "train_sequence": summarize(seq),
    }
