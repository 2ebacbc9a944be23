"""Signal 1, format consistency: does the output keep the contract?

JSON outputs: strict parse (the whole output is JSON), lenient parse (``` fences removed, the
first JSON object taken), schema validity under each, and key drift counted per key: missing
keys, extra keys, and renamed keys (an extra key standing for a missing one, such as
"priority" for "urgency", found by the names' spelling and meaning, the value's fit to the
missing key's schema, and position). An object that repeats a key (caught while parsing; Python
would keep the last value) is never schema-valid and counts in `format.duplicate_keys`; keys the
schema forbids and values of the wrong JSON type are counted at any depth. Label outputs: the valid-label rate, strict (the output is
exactly a label) and lenient (a label is named). With repeated samples at temperature > 0:
agreement of the answers.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunegate.outputs import ItemOutput
from tunegate.signals.parse import (
    Encoder,
    LabelMatcher,
    expected_object,
    json_type,
    lenient_json,
    lenient_json_checked,
    strict_json_checked,
)
from tunegate.signals.scores import SignalResult, item_keys, safe_name, scored

RENAME_THRESHOLD = 0.5
MAX_EXTRA_KEYS = 10  # per-key figures for the most frequent invented keys only
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def key_phrase(key: str) -> str:
    """A key name as words ("ticketPriority", "ticket_priority" -> "ticket priority")."""
    return re.sub(r"[\s_\-.]+", " ", _CAMEL.sub(" ", key)).strip().lower()


def lexical_similarity(a: str, b: str) -> float:
    """Spelling closeness of two key names in [0, 1]; containment of one in the other is 0.9."""
    pa, pb = key_phrase(a), key_phrase(b)
    if not pa or not pb:
        return 0.0
    if pa == pb:
        return 1.0
    if set(pa.split()) <= set(pb.split()) or set(pb.split()) <= set(pa.split()):
        return 0.9
    ratio = difflib.SequenceMatcher(None, pa, pb).ratio()
    return float(np.clip((ratio - 0.5) / 0.4, 0.0, 1.0))


def semantic_similarity(cos: float) -> float:
    """MiniLM cosine of two key names mapped to [0, 1]: ~0.3 is unrelated, ~0.6 synonyms."""
    return float(np.clip((cos - 0.3) / 0.3, 0.0, 1.0))


def _value_fit(value: Any, missing: str, expected: dict[str, Any], props: dict[str, Any]) -> float:
    """1 when the value satisfies the missing key's schema (or equals its expected value),
    0.5 when it has the expected JSON type, else 0."""
    import jsonschema

    sub = props.get(missing)
    if isinstance(sub, dict) and sub:
        if jsonschema.Draft202012Validator(sub).is_valid(value):
            return 1.0 if ("enum" in sub or "const" in sub or missing not in expected) else 0.75
        declared = sub.get("type")
        if isinstance(declared, str) and declared == json_type(value):
            return 0.5
    if missing in expected:
        if expected[missing] == value:
            return 1.0
        if json_type(expected[missing]) == json_type(value):
            return 0.5
    return 0.0


def match_renames(
    obj: dict[str, Any],
    missing: Sequence[str],
    extra: Sequence[str],
    expected: dict[str, Any],
    props: dict[str, Any],
    order: Sequence[str],
    name_cos: dict[tuple[str, str], float] | None = None,
) -> dict[str, str]:
    """Pair extra keys with the missing keys they stand for: {extra: missing}.

    score = 0.6 * max(spelling, meaning) + 0.3 * value fit + 0.1 * same position; pairs are
    assigned one-to-one (Hungarian) and kept at score >= 0.5.
    """
    from scipy.optimize import linear_sum_assignment

    if not missing or not extra:
        return {}
    keys = list(obj)
    score = np.zeros((len(extra), len(missing)))
    for i, e in enumerate(extra):
        for j, m in enumerate(missing):
            name = lexical_similarity(e, m)
            if name_cos is not None and (e, m) in name_cos:
                name = max(name, semantic_similarity(name_cos[(e, m)]))
            fit = _value_fit(obj[e], m, expected, props)
            same_pos = m in order and keys.index(e) == list(order).index(m)
            score[i, j] = 0.6 * name + 0.3 * fit + 0.1 * same_pos
    rows, cols = linear_sum_assignment(-score)
    return {
        extra[r]: missing[c]
        for r, c in zip(rows, cols, strict=True)
        if score[r, c] >= RENAME_THRESHOLD
    }


@dataclass(frozen=True)
class ItemDrift:
    """One output's keys against the ones due: missing, extra, and {extra: missing} renames."""

    due: list[str]
    missing: list[str]
    extra: list[str]
    renames: dict[str, str]


@dataclass
class KeyDrift:
    """Key drift over the outputs that hold a JSON object (lenient parse), counted per key."""

    parsed: int = 0
    expected: Counter[str] = field(default_factory=Counter)  # outputs where the key was due
    missing: Counter[str] = field(default_factory=Counter)  # includes renamed
    renamed: Counter[str] = field(default_factory=Counter)  # missing key -> times renamed
    extra: Counter[str] = field(default_factory=Counter)  # includes renames' new names
    renames: Counter[tuple[str, str]] = field(default_factory=Counter)  # (extra, missing)
    per_item: dict[str, ItemDrift] = field(default_factory=dict)


def key_drift(
    items: Sequence[ItemOutput], schema: dict[str, Any] | None, embedder: Encoder | None = None
) -> KeyDrift:
    """Missing, extra and renamed top-level keys of each parsed output against its expected
    object and the schema (keys the schema declares are never "extra")."""
    props: dict[str, Any] = (schema or {}).get("properties") or {}
    required = list((schema or {}).get("required") or [])
    drift = KeyDrift()
    todo = []
    for key, it in zip(item_keys(items), items, strict=True):
        obj = lenient_json(it.text)
        if obj is None:
            continue
        exp = expected_object(it.expected)
        due = [k for k in props if k in exp or k in required] if props else list(exp)
        due += [k for k in exp if k not in due]
        allowed = set(props) | set(due)
        missing = [k for k in due if k not in obj]
        extra = [k for k in obj if k not in allowed]
        todo.append((key, obj, exp, due, missing, extra))
    name_cos = _name_cosines(todo, embedder)
    for key, obj, exp, due, missing, extra in todo:
        renames = match_renames(obj, missing, extra, exp, props, due, name_cos)
        drift.parsed += 1
        drift.expected.update(due)
        drift.missing.update(missing)
        drift.extra.update(extra)
        drift.renamed.update(renames.values())
        drift.renames.update(renames.items())
        drift.per_item[key] = ItemDrift(due, missing, extra, renames)
    return drift


def _name_cosines(todo: list[Any], embedder: Encoder | None) -> dict[tuple[str, str], float] | None:
    pairs = {(e, m) for *_, missing, extra in todo for e in extra for m in missing}
    if embedder is None or not pairs:
        return None
    names = sorted({n for p in pairs for n in p})
    vecs = embedder.encode([key_phrase(n) or n for n in names])
    at = {n: i for i, n in enumerate(names)}
    return {(e, m): float(vecs[at[e]] @ vecs[at[m]]) for e, m in pairs}


def _json_result(
    items: Sequence[ItemOutput], schema: dict[str, Any] | None, embedder: Encoder | None
) -> SignalResult:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema or {})
    keys = item_keys(items)
    strict = [strict_json_checked(it.text) for it in items]
    lenient = [lenient_json_checked(it.text) for it in items]
    res = SignalResult()
    res.add(scored("format.parse", keys, [ok for ok, _, _ in strict], binary=True))
    res.add(scored("format.parse_lenient", keys, [o is not None for o, _ in lenient], binary=True))
    # an object that repeats a key is not valid, whatever Python kept of it
    valid = [ok and not d and validator.is_valid(v) for ok, v, d in strict]
    res.add(scored("format.schema_valid", keys, valid, binary=True))
    valid_l = [o is not None and not d and validator.is_valid(o) for o, d in lenient]
    res.add(scored("format.schema_valid_lenient", keys, valid_l, binary=True))
    res.extend(_contract_breaks(keys, lenient, validator))

    drift = key_drift(items, schema, embedder)
    pk = list(drift.per_item)
    per = list(drift.per_item.values())
    low: dict[str, Any] = {"binary": True, "higher_is_better": False}
    res.add(scored("format.keys_missing", pk, [bool(d.missing) for d in per], **low))
    res.add(scored("format.keys_extra", pk, [bool(d.extra) for d in per], **low))
    res.add(scored("format.keys_renamed", pk, [bool(d.renames) for d in per], **low))
    for name in drift.expected:
        due = [(k, d) for k, d in drift.per_item.items() if name in d.due]
        dk = [k for k, _ in due]
        miss = [name in d.missing for _, d in due]
        res.add(scored(f"format.key_missing.{safe_name(name)}", dk, miss, **low))
        renamed = [name in d.renames.values() for _, d in due]
        res.add(scored(f"format.key_renamed.{safe_name(name)}", dk, renamed, **low))
    used: set[str] = set()
    for name, _ in drift.extra.most_common(MAX_EXTRA_KEYS):
        metric = f"format.key_extra.{safe_name(name)}"
        if metric not in used:  # two odd keys may share a name-safe form; keep the commoner
            used.add(metric)
            res.add(scored(metric, pk, [name in d.extra for d in per], **low))
    return res


def _contract_breaks(
    keys: Sequence[str], lenient: Sequence[tuple[dict[str, Any] | None, list[str]]], validator: Any
) -> SignalResult:
    """Per parsed output: a key repeated in one object, a key the schema does not allow (at any
    depth, by `additionalProperties: false`), a value of the wrong JSON type (at any depth)."""
    res = SignalResult()
    parsed = [(k, o, d) for k, (o, d) in zip(keys, lenient, strict=True) if o is not None]
    pk = [k for k, _, _ in parsed]
    low: dict[str, Any] = {"binary": True, "higher_is_better": False}
    res.add(scored("format.duplicate_keys", pk, [bool(d) for _, _, d in parsed], **low))
    rules = [{e.validator for e in _all_errors(validator, o)} for _, o, _ in parsed]
    outside = ["additionalProperties" in r or "unevaluatedProperties" in r for r in rules]
    res.add(scored("format.keys_outside_schema", pk, outside, **low))
    res.add(scored("format.wrong_type", pk, ["type" in r for r in rules], **low))
    return res


def _all_errors(validator: Any, obj: Any) -> list[Any]:
    """Every schema error, the ones inside anyOf/oneOf branches included."""
    out, todo = [], list(validator.iter_errors(obj))
    while todo:
        e = todo.pop()
        out.append(e)
        todo.extend(e.context or [])
    return out


def _canonical_json(text: str) -> tuple[str, str]:
    obj = lenient_json(text)
    if obj is None:
        return text.strip(), ""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False), "|".join(sorted(obj))


def agreement(answers: Sequence[str]) -> float:
    """Share of answers equal to the most common one."""
    return Counter(answers).most_common(1)[0][1] / len(answers)


def _sample_agreement(
    items: Sequence[ItemOutput], output_type: str, labels: Sequence[str]
) -> SignalResult:
    res = SignalResult()
    keys = item_keys(items)
    with_samples = [(k, it) for k, it in zip(keys, items, strict=True) if it.samples]
    if not with_samples or output_type == "text":
        return res
    sk = [k for k, _ in with_samples]
    answers = [[it.text, *it.samples] for _, it in with_samples]
    if output_type == "json":
        canon = [[_canonical_json(a) for a in group] for group in answers]
        res.add(
            scored(
                "format.sample_agreement",
                sk,
                [agreement([c for c, _ in g]) for g in canon],
                binary=False,
            )
        )
        res.add(
            scored(
                "format.sample_key_agreement",
                sk,
                [agreement([s for _, s in g]) for g in canon],
                binary=False,
            )
        )
    else:
        matcher = LabelMatcher(labels)
        canon_l = [[matcher.find(a) or a.strip() for a in g] for g in answers]
        res.add(
            scored("format.sample_agreement", sk, [agreement(g) for g in canon_l], binary=False)
        )
    return res


def measure(
    output_type: str,
    schema: dict[str, Any] | None,
    items: Sequence[ItemOutput],
    *,
    labels: Sequence[str] = (),
    embedder: Encoder | None = None,
) -> SignalResult:
    """Format figures and per-item scores for one rung's (error-free) items."""
    keys = item_keys(items)
    if output_type == "json":
        res = _json_result(items, schema, embedder)
    elif output_type == "label":
        res = SignalResult()
        label_set = set(labels)
        res.add(
            scored(
                "format.valid_label",
                keys,
                [it.text.strip() in label_set for it in items],
                binary=True,
            )
        )
        matcher = LabelMatcher(labels)
        lenient = [matcher.find(it.text) is not None for it in items]
        res.add(scored("format.valid_label_lenient", keys, lenient, binary=True))
    else:
        res = SignalResult()
        res.add(
            scored("format.nonempty", keys, [bool(it.text.strip()) for it in items], binary=True)
        )
    res.extend(_sample_agreement(items, output_type, labels))
    return res
