"""Signal 2, domain knowledge: is the content right?

JSON outputs: per-field accuracy, exact and normalized (case, whitespace and punctuation
aside; lists order-free), and their mean per item (`knowledge.field_accuracy`, the primary
figure); macro-F1 and a confusion matrix for enum fields; token F1 and embedding similarity
for free-text fields; partial credit over (path, value) pairs, micro precision, recall and F1
per field and overall (`signals.extraction`). Label outputs: accuracy (a named label) and
strict accuracy (exactly the label), macro-F1. Free text: normalized exact match, token F1,
MiniLM cosine similarity.

With the docs text and the inputs, `docs.measure` adds error rates on the items whose answer
depends on the task's documents and on the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunegate.outputs import ItemOutput, Metric
from tunegate.signals import docs, extraction
from tunegate.signals.parse import (
    Encoder,
    JsonField,
    LabelMatcher,
    expected_object,
    json_fields,
    label_key,
    lenient_json,
    normalize_text,
    normalize_value,
    tokens,
)
from tunegate.signals.scores import SignalResult, item_keys, metric_of, safe_name, scored
from tunegate.signals.stats import bootstrap_weighted_ci

INVALID = "<invalid>"
TEXT_CORRECT_F1 = 0.5  # a free-text answer with token F1 below this counts as an error


# --- scores ------------------------------------------------------------------------------


def token_f1(pred: str, gold: str) -> float:
    """SQuAD-style token F1 of normalized words (1.0 when both are empty)."""
    p, g = tokens(pred), tokens(gold)
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def similarities(embedder: Encoder, preds: Sequence[str], golds: Sequence[str]) -> list[float]:
    """Cosine of each prediction's MiniLM embedding with its gold text's (0 for an empty one)."""
    if not preds:
        return []
    vecs = embedder.encode([*preds, *golds])
    n = len(preds)
    cos = np.sum(vecs[:n] * vecs[n:], axis=1)
    return [float(c) if p.strip() else 0.0 for c, p in zip(cos, preds, strict=True)]


def macro_f1_weighted(true: np.ndarray, pred: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Macro-F1 of (n, classes) boolean indicators under (B, n) item weights -> (B,) values.

    Classes count when present in the (weighted) truth; one-hot rows give single-label macro-F1
    (an invalid prediction is an all-False row).
    """
    t, p = true.astype(float), pred.astype(float)
    tp = w @ (t * p)
    fp = w @ ((1 - t) * p)
    fn = w @ (t * (1 - p))
    present = (w @ t) > 0
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(denom), where=denom > 0)
    k = present.sum(axis=1)
    total = (f1 * present).sum(axis=1)
    return np.divide(total, k, out=np.full(len(k), np.nan), where=k > 0)


def macro_f1(true: np.ndarray, pred: np.ndarray) -> float:
    """Macro-F1 over the classes present in `true`; equals sklearn's
    `f1_score(..., labels=<classes in y_true>, average="macro")`."""
    return float(macro_f1_weighted(true, pred, np.ones((1, len(true))))[0])


def macro_f1_metric(name: str, true: np.ndarray, pred: np.ndarray) -> Metric:
    """Macro-F1 with an item-bootstrap interval."""
    ci = bootstrap_weighted_ci(len(true), lambda w: macro_f1_weighted(true, pred, w))
    return metric_of(name, ci, len(true))


def one_hot(values: Sequence[str | None], classes: Sequence[str]) -> np.ndarray:
    at = {c: i for i, c in enumerate(classes)}
    out = np.zeros((len(values), len(classes)), dtype=bool)
    for r, v in enumerate(values):
        if v in at:
            out[r, at[v]] = True
    return out


def multi_hot(values: Sequence[Sequence[str]], classes: Sequence[str]) -> np.ndarray:
    at = {c: i for i, c in enumerate(classes)}
    out = np.zeros((len(values), len(classes)), dtype=bool)
    for r, vs in enumerate(values):
        for v in vs:
            if v in at:
                out[r, at[v]] = True
    return out


def _as_label(v: Any, classes: Sequence[str]) -> str | None:
    if not isinstance(v, str):
        return None
    by_key = {label_key(c): c for c in classes}
    return by_key.get(label_key(v))


# --- confusion matrices ------------------------------------------------------------------


@dataclass(frozen=True)
class Confusion:
    """Counts[i][j]: items whose true label is labels[i] and predicted labels[j]; the last
    column counts predictions that are not a label ("<invalid>")."""

    labels: list[str]
    counts: list[list[int]]


def confusion(true: Sequence[str], pred: Sequence[str | None], labels: Sequence[str]) -> Confusion:
    from sklearn.metrics import confusion_matrix

    classes = [*labels, INVALID]
    p = [x if x in labels else INVALID for x in pred]
    t = [x if x in labels else INVALID for x in true]
    m = confusion_matrix(t, p, labels=classes)
    return Confusion(list(labels), [list(map(int, row)) for row in m[: len(labels)]])


# --- per output type ---------------------------------------------------------------------


def _gold_and_pred(
    items: Sequence[ItemOutput], labels: Sequence[str]
) -> tuple[list[str], list[str], list[str | None]]:
    """Expected labels, the label set (the given labels and any expected one), predictions."""
    given = LabelMatcher(labels)
    gold = [given.find(it.expected) or it.expected.strip() for it in items]
    classes = sorted(set(labels) | set(gold))
    matcher = LabelMatcher(classes)
    return gold, classes, [matcher.find(it.text) for it in items]


def _label_result(
    items: Sequence[ItemOutput], labels: Sequence[str]
) -> tuple[SignalResult, list[bool]]:
    keys = item_keys(items)
    gold, classes, pred = _gold_and_pred(items, labels)
    correct = [
        p is not None and label_key(p) == label_key(g) for p, g in zip(pred, gold, strict=True)
    ]
    strict = [it.text.strip() == it.expected.strip() for it in items]
    res = SignalResult()
    res.add(scored("knowledge.accuracy", keys, correct, binary=True))
    res.add(scored("knowledge.accuracy_strict", keys, strict, binary=True))
    if items:
        res.metrics.append(
            macro_f1_metric("knowledge.macro_f1", one_hot(gold, classes), one_hot(pred, classes))
        )
    return res, correct


def _text_result(
    items: Sequence[ItemOutput], embedder: Encoder | None
) -> tuple[SignalResult, list[bool]]:
    keys = item_keys(items)
    f1 = [token_f1(it.text, it.expected) for it in items]
    res = SignalResult()
    exact = [normalize_text(it.text) == normalize_text(it.expected) for it in items]
    res.add(scored("knowledge.exact_match", keys, exact, binary=True))
    res.add(scored("knowledge.token_f1", keys, f1, binary=False))
    if embedder is not None:
        sims = similarities(embedder, [it.text for it in items], [it.expected for it in items])
        res.add(scored("knowledge.similarity", keys, sims, binary=False))
    return res, [f >= TEXT_CORRECT_F1 for f in f1]


def _json_result(
    items: Sequence[ItemOutput],
    schema: dict[str, Any] | None,
    embedder: Encoder | None,
    set_fields: Sequence[str] = (),
) -> tuple[SignalResult, list[bool]]:
    keys = item_keys(items)
    gold = [expected_object(it.expected) for it in items]
    parsed = [lenient_json(it.text) for it in items]
    outs = [p or {} for p in parsed]
    fields = json_fields(schema, gold)
    res = SignalResult()
    sets = extraction.set_paths(schema, set_fields)
    res.extend(extraction.measure(keys, gold, parsed, [f.name for f in fields], sets))
    judged: list[list[float]] = [[] for _ in items]
    judged_exact: list[list[float]] = [[] for _ in items]
    text_ok: list[list[bool]] = [[] for _ in items]
    for f in fields:
        rows = [i for i, g in enumerate(gold) if f.name in g]
        if not rows:
            continue
        fk = [keys[i] for i in rows]
        name = safe_name(f.name)
        if f.kind == "text":
            preds = [_text_of(outs[i].get(f.name)) for i in rows]
            golds = [_text_of(gold[i][f.name]) for i in rows]
            f1 = [token_f1(p, g) for p, g in zip(preds, golds, strict=True)]
            res.add(scored(f"knowledge.token_f1.{name}", fk, f1, binary=False))
            if embedder is not None:
                res.add(
                    scored(
                        f"knowledge.similarity.{name}",
                        fk,
                        similarities(embedder, preds, golds),
                        binary=False,
                    )
                )
            for i, v in zip(rows, f1, strict=True):
                text_ok[i].append(v >= TEXT_CORRECT_F1)
            continue
        exact = [f.name in outs[i] and outs[i][f.name] == gold[i][f.name] for i in rows]
        norm = [
            f.name in outs[i]
            and normalize_value(outs[i][f.name]) == normalize_value(gold[i][f.name])
            for i in rows
        ]
        res.add(scored(f"knowledge.field_accuracy.{name}", fk, norm, binary=True))
        res.add(scored(f"knowledge.field_exact.{name}", fk, exact, binary=True))
        for i, e, n in zip(rows, exact, norm, strict=True):
            judged[i].append(float(n))
            judged_exact[i].append(float(e))
        if f.kind in ("label", "labels"):
            res.metrics.append(
                _field_f1(f, [gold[i][f.name] for i in rows], [outs[i].get(f.name) for i in rows])
            )
    rows = [i for i, j in enumerate(judged) if j]
    fk = [keys[i] for i in rows]
    res.add(
        scored(
            "knowledge.field_accuracy", fk, [float(np.mean(judged[i])) for i in rows], binary=False
        )
    )
    res.add(
        scored(
            "knowledge.field_exact",
            fk,
            [float(np.mean(judged_exact[i])) for i in rows],
            binary=False,
        )
    )
    correct = [all(j == 1.0 for j in judged[i]) and all(text_ok[i]) for i in range(len(items))]
    res.add(scored("knowledge.all_fields", keys, correct, binary=True))
    return res, correct


def _text_of(v: Any) -> str:
    return v if isinstance(v, str) else ("" if v is None else str(v))


def _field_f1(f: JsonField, gold: list[Any], pred: list[Any]) -> Metric:
    name = f"knowledge.macro_f1.{safe_name(f.name)}"
    classes = list(f.labels)
    if f.kind == "label":
        return macro_f1_metric(
            name,
            one_hot([_as_label(g, classes) for g in gold], classes),
            one_hot([_as_label(p, classes) for p in pred], classes),
        )

    def labels_of(v: Any) -> list[str]:
        return [x for x in (_as_label(e, classes) for e in v) if x] if isinstance(v, list) else []

    return macro_f1_metric(
        name,
        multi_hot([labels_of(g) for g in gold], classes),
        multi_hot([labels_of(p) for p in pred], classes),
    )


def confusions(
    output_type: str,
    schema: dict[str, Any] | None,
    items: Sequence[ItemOutput],
    labels: Sequence[str] = (),
) -> dict[str, Confusion]:
    """Confusion matrices (counts) per label field; key "label" for label outputs."""
    if output_type == "label":
        gold, classes, pred = _gold_and_pred(items, labels)
        return {"label": confusion(gold, pred, classes)}
    if output_type != "json":
        return {}
    gold_objs = [expected_object(it.expected) for it in items]
    outs = [lenient_json(it.text) or {} for it in items]
    out: dict[str, Confusion] = {}
    for f in json_fields(schema, gold_objs):
        if f.kind != "label":
            continue
        rows = [i for i, g in enumerate(gold_objs) if f.name in g]
        t = [_as_label(gold_objs[i][f.name], f.labels) or INVALID for i in rows]
        p = [_as_label(outs[i].get(f.name), f.labels) for i in rows]
        out[f.name] = confusion(t, p, list(f.labels))
    return out


def measure(
    output_type: str,
    schema: dict[str, Any] | None,
    items: Sequence[ItemOutput],
    *,
    labels: Sequence[str] = (),
    embedder: Encoder | None = None,
    docs_text: str | None = None,
    inputs: Mapping[str, str] | None = None,
    set_fields: Sequence[str] = (),
) -> SignalResult:
    """Knowledge figures and per-item scores for one rung's (error-free) items.

    Doc-dependence figures need both `docs_text` and `inputs` (example id -> input text); items
    whose input is not given are left out of them. `set_fields`: JSON paths whose arrays are
    scored as sets besides the schema's `uniqueItems` ones (see `signals.extraction`).
    """
    if output_type == "label":
        res, correct = _label_result(items, labels)
    elif output_type == "json":
        res, correct = _json_result(items, schema, embedder, set_fields)
    else:
        res, correct = _text_result(items, embedder)
    if docs_text and inputs is not None:
        res.extend(docs.measure(output_type, schema, items, correct, docs_text, inputs))
    return res
