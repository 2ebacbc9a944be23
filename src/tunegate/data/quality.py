"""Row-level readiness findings: blank rows, targets that break the output contract, labels.

Each function returns the indices of the rows it flags (into the list it was given) and the
counts behind them; `tunegate.check` turns these into graded items.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunegate.data.examples import Example, input_text, stratum
from tunegate.data.schema_infer import Conflict, type_conflicts
from tunegate.spec import Task


@dataclass
class RowFindings:
    missing_fields: list[int] = field(default_factory=list)  # an input column is absent
    empty_inputs: list[int] = field(default_factory=list)  # columns present, text blank
    empty_targets: list[int] = field(default_factory=list)  # target blank, null or absent


def row_findings(rows: Sequence[Example]) -> RowFindings:
    found = RowFindings()
    for i, ex in enumerate(rows):
        if ex.missing:
            found.missing_fields.append(i)
        elif not input_text(ex).strip():
            found.empty_inputs.append(i)
        if not ex.target.strip():
            found.empty_targets.append(i)
    return found


@dataclass
class JsonFindings:
    parse_errors: list[int] = field(default_factory=list)
    schema_violations: list[int] = field(default_factory=list)
    by_rule: Counter[str] = field(default_factory=Counter)  # JSON Schema keyword -> rows
    drift_rows: list[int] = field(default_factory=list)
    drift: dict[str, Counter[str]] = field(
        default_factory=lambda: {"missing": Counter(), "extra": Counter(), "renamed": Counter()}
    )


def key_drift(
    obj: dict[str, Any], required: Sequence[str], known: Sequence[str]
) -> tuple[list[str], ...]:
    """(missing, extra, renamed) keys of one object against the schema.

    A renamed key is an unknown key standing in for a missing required one: paired first by
    spelling (difflib ratio >= 0.6, e.g. `categroy`), then, when exactly one unknown and one
    missing key remain, with each other (e.g. `priority` for `urgency`). Renames read `old->new`.
    """
    missing = [k for k in required if k not in obj]
    extra = [k for k in obj if k not in known]
    renamed = []
    for key in list(extra):
        close = difflib.get_close_matches(key, missing, n=1, cutoff=0.6)
        if close:
            renamed.append(f"{key}->{close[0]}")
            extra.remove(key)
            missing.remove(close[0])
    if len(extra) == 1 and len(missing) == 1:
        renamed.append(f"{extra.pop()}->{missing.pop()}")
    return missing, extra, renamed


def json_findings(rows: Sequence[Example], schema: dict[str, Any]) -> JsonFindings:
    """Targets that are not JSON, that break the schema, and key drift per key.

    Blank targets are skipped (they are counted as empty rows)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    known = list(schema.get("properties", {}))
    required = list(schema.get("required", []))
    found = JsonFindings()
    for i, ex in enumerate(rows):
        if not ex.target.strip():
            continue
        try:
            obj = json.loads(ex.target)
        except ValueError:
            found.parse_errors.append(i)
            continue
        rules = {str(e.validator) for e in validator.iter_errors(obj)}
        if rules:
            found.schema_violations.append(i)
            found.by_rule.update(rules)
        if isinstance(obj, dict) and (known or required):
            missing, extra, renamed = key_drift(obj, required, known)
            for kind, keys in (("missing", missing), ("extra", extra), ("renamed", renamed)):
                found.drift[kind].update(keys)
            if missing or extra or renamed:
                found.drift_rows.append(i)
    return found


def mixed_types(rows: Sequence[Example], locate: Callable[[Example], str]) -> list[Conflict]:
    """Keys whose values are of different JSON types across the targets (`slots.date` a string
    in most rows, an object in two), each with the rows per type (`locate` names a row)."""
    located = []
    for ex in rows:
        try:
            located.append((locate(ex), json.loads(ex.target)))
        except ValueError:
            continue  # blank or not JSON: counted elsewhere
    return type_conflicts(located)


def minority_rows(conflicts: Sequence[Conflict], order: Sequence[str]) -> list[str]:
    """The rows holding a less common type at any conflicting key, in `order`."""
    flagged = {w for c in conflicts for w in c.minority()}
    return [w for w in order if w in flagged]


@dataclass
class LabelFindings:
    """Label counts in train (the label, or the JSON field named in output.stratify)."""

    counts: Counter[str] = field(default_factory=Counter)
    singletons: list[str] = field(default_factory=list)
    unseen_in_test: list[int] = field(default_factory=list)  # test rows whose label train lacks
    invalid: list[int] = field(default_factory=list)  # rows (train + test) outside output.labels


def label_findings(
    task: Task, train: Sequence[Example], test: Sequence[Example]
) -> LabelFindings | None:
    """None when the task has no labels (free text, or JSON without output.stratify)."""
    if task.output.type == "text" or (task.output.type == "json" and not task.output.stratify):
        return None
    found = LabelFindings()
    for ex in train:
        label = stratum(task, ex)
        if label is not None and label.strip():
            found.counts[label] += 1
    found.singletons = sorted(label for label, n in found.counts.items() if n == 1)
    for i, ex in enumerate(test):
        label = stratum(task, ex)
        if label is not None and label.strip() and label not in found.counts:
            found.unseen_in_test.append(i)
    if task.output.type == "label" and task.output.labels:
        allowed = set(task.output.labels)
        found.invalid = [
            i
            for i, ex in enumerate([*train, *test])
            if ex.target.strip() and ex.target.strip() not in allowed
        ]
    return found
