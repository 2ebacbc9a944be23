"""The rules of `tunegate check`'s readiness items: thresholds, wording, and how a count grades.

Each item has a stable name (`leakage.exact`), a status (ok / warn / fail), its number, a reason
in plain words and the rows it flags (`data/train.jsonl:14`, relative to the task folder). A
count item is ok at zero, fails over its share of the rows it looks at (`Thresholds`), and warns
in between. `tunegate.check.readiness` measures the rows and fills the items.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tunegate.data import dedup
from tunegate.data.examples import Example

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
