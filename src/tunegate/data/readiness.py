"""The readiness items of `tunegate check`: their counting rules, thresholds and wording.

Each item has a stable name (`leakage.exact`), a status (ok / warn / fail), its number, a reason
in plain words and the rows it flags (`data/train.jsonl:14`, relative to the task folder). A
count item is ok at zero, fails over its share of the rows it looks at (`Thresholds`), and warns
in between. The findings come from `quality` (rows, JSON, labels), `dedup` and `tokens`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tunegate.data import dedup, quality
from tunegate.data.examples import Example, input_text, stratum
from tunegate.data.tokens import TokenCounts, summarize
from tunegate.spec import Task

Status = Literal["ok", "warn", "fail"]
RANK = {"ok": 0, "warn": 1, "fail": 2}
DEFAULT_MAX_LENGTH = 512  # training cutoff when none is given (check passes training's own)


@dataclass(frozen=True)
class Thresholds:
    """When an item warns or fails. A share is of the rows the item looks at; under it: warn."""

    min_train_rows: int = 20  # fewer train rows: fail (nothing to learn from)
    few_train_rows: int = 100  # fewer: warn (fine-tuning wants hundreds)
    few_test_rows: int = 50  # fewer test rows: warn (confidence intervals get wide)
    broken_share: float = 0.01  # missing/blank rows, unparsable or invalid targets, conflicts
    duplicate_share: float = 0.05  # exact duplicates within train
    near_share: float = 0.10  # near-duplicates within train
    leak_near_share: float = 0.05  # test rows near a train row (any exact leak fails)
    long_share: float = 0.05  # rows over the training cutoff, targets over output.max_tokens
    imbalance_warn: float = 10.0  # most / least frequent label in train


@dataclass
class CheckItem:
    """One readiness measurement."""

    name: str
    title: str
    status: Status
    value: float
    reason: str
    rows: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """A count item: `{n} of {total} {unit} {what}; {why}`. `share` names the Thresholds field
    whose share of the total fails it ("" = any row fails it, "warn_only" = it never fails).
    Braces are filled per task (max_length, context, max_tokens, field, drift)."""

    title: str
    unit: str
    what: str
    why: str
    share: str


_NEAR = f"Jaccard >= {dedup.NEAR_THRESHOLD} on word bigrams"
RULES = {
    "rows.missing_fields": Rule(
        "rows missing an input field",
        "rows",
        "lack an input column",
        "fix the file or data.columns",
        "broken_share",
    ),
    "rows.empty_inputs": Rule(
        "empty inputs", "rows", "have a blank input", "there is nothing to answer", "broken_share"
    ),
    "rows.empty_targets": Rule(
        "empty targets",
        "rows",
        "have a blank or absent target",
        "they teach the model to answer nothing",
        "broken_share",
    ),
    "duplicates.train_exact": Rule(
        "exact duplicates (train)",
        "train rows",
        "repeat an earlier train row exactly (input and target)",
        "they add nothing and over-weight those examples",
        "duplicate_share",
    ),
    "duplicates.train_conflicting": Rule(
        "conflicting duplicates (train)",
        "train rows",
        "repeat an earlier train input with a different target",
        "the model is taught two answers to one question",
        "broken_share",
    ),
    "duplicates.train_near": Rule(
        "near-duplicates (train)",
        "train rows",
        f"are near-copies of an earlier train row ({_NEAR})",
        "they over-weight a few phrasings",
        "near_share",
    ),
    "leakage.exact": Rule(
        "train/test leakage (exact)",
        "test rows",
        "have an input that is also in train",
        "scores on them measure memory, not skill",
        "",
    ),
    "leakage.near": Rule(
        "train/test leakage (near)",
        "test rows",
        f"are near-copies of a train input ({_NEAR})",
        "they inflate test scores",
        "leak_near_share",
    ),
    "json.parse_errors": Rule(
        "targets that are not JSON",
        "rows",
        "have a target that does not parse as JSON",
        "training on them teaches broken JSON",
        "broken_share",
    ),
    "json.schema_violations": Rule(
        "targets that break the schema",
        "rows",
        "have a JSON target that breaks the schema",
        "the model learns outputs the contract rejects",
        "broken_share",
    ),
    "json.key_drift": Rule(
        "key drift across targets",
        "rows",
        "miss a required key or carry an unknown one",
        "{drift}",
        "broken_share",
    ),
    "json.mixed_types": Rule(
        "targets that mix types at one key",
        "rows",
        "hold a value whose JSON type differs from the other rows' at the same key",
        "{mixed}",
        "broken_share",
    ),
    "labels.invalid": Rule(
        "labels outside output.labels",
        "rows",
        "have a label not in output.labels",
        "no answer can match them",
        "broken_share",
    ),
    "labels.unseen_in_test": Rule(
        "test labels missing from train",
        "test rows",
        "have a {field} value never seen in train",
        "no fine-tuned model can learn them",
        "warn_only",
    ),
    "length.over_train_cutoff": Rule(
        "over the training cutoff ({max_length})",
        "train rows",
        "are longer than train.max_length ({max_length} tokens: prompt + target)",
        "training cuts them off, often losing the answer",
        "long_share",
    ),
    "length.over_context": Rule(
        "over the model's context ({context:,})",
        "rows",
        "exceed the model's {context:,}-token context (train: prompt + target; "
        "test: prompt + output.max_tokens)",
        "the model cannot read them whole",
        "",
    ),
    "length.target_over_max_tokens": Rule(
        "targets over output.max_tokens ({max_tokens})",
        "rows",
        "have a target longer than output.max_tokens ({max_tokens})",
        "answers would be cut off before they end",
        "long_share",
    ),
}


def where(folder: Path, ex: Example) -> str:
    """An example's file:line, relative to the task folder."""
    path, _, line = ex.source.rpartition(":")
    try:
        rel = os.path.relpath(path, folder)
    except ValueError:  # another drive on Windows
        rel = path
    return f"{Path(rel).as_posix()}:{line}"


class Items:
    """Collects a task's items in order; `count` grades flagged rows by their rule."""

    def __init__(self, folder: Path, th: Thresholds, **fill: Any) -> None:
        self.folder, self.th, self.fill = folder, th, fill
        self.items: list[CheckItem] = []

    def where(self, rows: list[Example]) -> list[str]:
        return [where(self.folder, ex) for ex in rows]

    def count(
        self, name: str, flagged: list[Example], total: int, details: dict[str, Any] | None = None
    ) -> None:
        rule = RULES[name]
        rows = self.where(flagged)
        n = len(flagged)
        what = rule.what.format(**self.fill)
        if n == 0:
            status: Status = "ok"
            reason = f"none of {total:,} {rule.unit} {what}"
        else:
            share = (
                1.0
                if rule.share == "warn_only"
                else getattr(self.th, rule.share)
                if rule.share
                else 0.0
            )
            status = "fail" if n > share * max(total, 1) else "warn"
            why = rule.why.format(**self.fill)
            eg = f" (e.g. {', '.join(rows[:2])}" + (f" and {n - 2:,} more)" if n > 2 else ")")
            reason = f"{n:,} of {total:,} {rule.unit} {what}" + (f"; {why}" if why else "") + eg
        title = rule.title.format(**self.fill)
        self.items.append(CheckItem(name, title, status, n, reason, rows, details or {}))

    def put(self, item: CheckItem) -> None:
        self.items.append(item)


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
