"""Which answers depend on the task's documents, and how often the model errs on them.

An item depends on the docs when a value of its expected output (a product name, an urgency, a
label) occurs in the docs text and not in the item's input: the model cannot copy it from the
message and must know it. Error rates are reported on those items and on the rest, per item
and (for JSON) per field, with the share of all errors that fall on doc-dependent items.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tunegate.outputs import ItemOutput
from tunegate.signals.parse import (
    FREE_TEXT_WORDS,
    expected_object,
    json_fields,
    label_key,
    lenient_json,
    normalize_value,
)
from tunegate.signals.scores import SignalResult, item_keys, metric_of, safe_name, scored
from tunegate.signals.stats import wilson

_CAPS = re.compile(r"[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*")
_LEADING = {"the", "a", "an", "our", "your", "my", "this", "that", "we", "i", "you", "it", "dear"}
_DIGITS = re.compile(r"[\w$€£.,/-]*\d[\w.,/%-]*")


def answer_values(expected: str, output_type: str) -> list[str]:
    """The values of an expected output that could come from documents.

    JSON: its string and number leaves (free-text values aside); label: the label; text: the
    names (capitalized word runs, not a lone sentence-initial word) and figures it contains.
    """
    if output_type == "label":
        return [expected.strip()]
    if output_type == "json":
        leaves: list[str] = []
        _leaves(expected_object(expected), leaves)
        return [v for v in leaves if len(v.split()) <= FREE_TEXT_WORDS]
    out = [m.group(0).rstrip(".,") for m in _DIGITS.finditer(expected)]
    for m in _CAPS.finditer(expected):
        words = m.group(0).split()
        while words and words[0].lower() in _LEADING:
            words = words[1:]
        before = expected[: m.start()].rstrip()
        initial = (not before or before[-1] in ".!?\n") and len(words) == len(m.group(0).split())
        if words and not (initial and len(words) == 1):
            out.append(" ".join(words))
    return out


def _leaves(v: Any, out: list[str]) -> None:
    if isinstance(v, dict):
        for x in v.values():
            _leaves(x, out)
    elif isinstance(v, list):
        for x in v:
            _leaves(x, out)
    elif isinstance(v, str) or (isinstance(v, int | float) and not isinstance(v, bool)):
        out.append(str(v))


def _phrase_form(s: str) -> str:
    return f" {label_key(s)} "


def doc_dependent(values: Sequence[str], input_text: str, docs_text: str) -> bool:
    """True when some value occurs (as a whole phrase, case-free) in the docs but not the input."""
    return _depends(values, _phrase_form(input_text), _phrase_form(docs_text))


def _depends(values: Sequence[str], input_form: str, docs_form: str) -> bool:
    for v in values:
        k = label_key(v)
        if len(k) >= 2 and f" {k} " in docs_form and f" {k} " not in input_form:
            return True
    return False


def _doc_result(
    keys: Sequence[str], dependent: Sequence[bool], correct: Sequence[bool]
) -> SignalResult:
    res = SignalResult()
    n = len(keys)
    res.metrics.append(metric_of("knowledge.doc_dependent_share", wilson(sum(dependent), n), n))
    for label, want in (("doc_dependent", True), ("other", False)):
        rows = [i for i in range(n) if dependent[i] == want]
        errors = [not correct[i] for i in rows]
        res.add(
            scored(
                f"knowledge.error_rate.{label}",
                [keys[i] for i in rows],
                errors,
                binary=True,
                higher_is_better=False,
            )
        )
    errs = [i for i in range(n) if not correct[i]]
    if errs:
        k = sum(dependent[i] for i in errs)
        res.metrics.append(
            metric_of(
                "knowledge.doc_error_share", wilson(k, len(errs)), len(errs), higher_is_better=False
            )
        )
    return res


def _field_doc_result(
    items: Sequence[ItemOutput],
    schema: dict[str, Any] | None,
    known: Sequence[int],
    forms: Sequence[str],
    docs_form: str,
) -> SignalResult:
    """Per JSON field (free text aside): error rates where that field's value needs the docs,
    and where it does not (e.g. a product's catalogue name absent from the message)."""
    keys = item_keys(items)
    gold = [expected_object(items[i].expected) for i in known]
    outs = [lenient_json(items[i].text) or {} for i in known]
    res = SignalResult()
    for f in json_fields(schema, gold):
        if f.kind == "text":
            continue
        groups: dict[bool, tuple[list[str], list[bool]]] = {True: ([], []), False: ([], [])}
        for j, i in enumerate(known):
            if f.name not in gold[j]:
                continue
            values: list[str] = []
            _leaves(gold[j][f.name], values)
            ok = f.name in outs[j] and normalize_value(outs[j][f.name]) == normalize_value(
                gold[j][f.name]
            )
            k, errs = groups[_depends(values, forms[j], docs_form)]
            k.append(keys[i])
            errs.append(not ok)
        for dep, label in ((True, "doc_dependent"), (False, "other")):
            k, errs = groups[dep]
            name = f"knowledge.error_rate.{label}.{safe_name(f.name)}"
            res.add(scored(name, k, errs, binary=True, higher_is_better=False))
    return res


def measure(
    output_type: str,
    schema: dict[str, Any] | None,
    items: Sequence[ItemOutput],
    correct: Sequence[bool],
    docs_text: str,
    inputs: Mapping[str, str],
) -> SignalResult:
    """Doc-dependence figures for items judged `correct` or not; items whose input (example id
    -> input text) is not given are left out."""
    known = [i for i, it in enumerate(items) if it.example_id in inputs]
    if not docs_text or not known:
        return SignalResult()
    docs_form = _phrase_form(docs_text)
    values = [answer_values(items[i].expected, output_type) for i in known]
    forms = [_phrase_form(inputs[items[i].example_id]) for i in known]
    dependent = [_depends(v, f, docs_form) for v, f in zip(values, forms, strict=True)]
    keys = item_keys(items)
    res = _doc_result([keys[i] for i in known], dependent, [correct[i] for i in known])
    if output_type == "json":
        res.extend(_field_doc_result(items, schema, known, forms, docs_form))
    return res
