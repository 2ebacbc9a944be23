"""Signal 3, style: do the outputs read like the team's reference texts?

Each output's MiniLM similarity to the references' centroid (`style.similarity`, mean with CI)
and its spread across outputs (`style.drift`, the standard deviation); the references' own
leave-one-out similarity as the yardstick; a cross-validated logistic regression on the
embeddings telling references from outputs (AUC near 0.5: indistinguishable); surface markers
(length in words, informal markers per 100 words) beside the references'.

JSON outputs are judged on their free-text fields (joined); without such fields, and for label
outputs, style is not measured.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from tunegate.outputs import ItemOutput
from tunegate.signals.parse import Encoder, expected_object, json_fields, lenient_json
from tunegate.signals.scores import SignalResult, item_keys, metric_of, scored
from tunegate.signals.stats import bootstrap_ci, bootstrap_weighted_ci

MIN_PER_CLASS = 5  # the classifier needs this many references and outputs

_CONTRACTION = re.compile(r"\b\w+'(?:t|re|ll|m|ve|d)\b", re.IGNORECASE)
_EMOTICON = re.compile(r"[:;]-?[)(DPp]|[\U0001F300-\U0001FAFF\u2600-\u27BF]")
_INFORMAL = {
    "hey",
    "hi",
    "hiya",
    "gonna",
    "wanna",
    "gotta",
    "yeah",
    "yep",
    "nope",
    "ok",
    "okay",
    "lol",
    "btw",
    "thx",
    "cool",
    "awesome",
    "guys",
    "stuff",
    "kinda",
    "sorta",
    "u",
    "ur",
    "pls",
    "omg",
}


def informal_per_100_words(text: str) -> float:
    """A simple formality proxy: contractions, '!', emoticons and chatty words per 100 words."""
    words = text.split()
    if not words:
        return 0.0
    chatty = sum(1 for w in words if w.strip(".,!?;:\"'()").lower() in _INFORMAL)
    marks = len(_CONTRACTION.findall(text)) + text.count("!") + len(_EMOTICON.findall(text))
    return 100.0 * (chatty + marks) / len(words)


def style_texts(
    output_type: str, schema: dict[str, Any] | None, items: Sequence[ItemOutput]
) -> list[str] | None:
    """The text each output is judged on, or None when the output type has none.

    JSON outputs: the free-text fields of the parsed output, joined by newlines ("" when the
    output holds no object or none of those fields).
    """
    if output_type == "text":
        return [it.text for it in items]
    if output_type != "json":
        return None
    fields = [
        f.name
        for f in json_fields(schema, [expected_object(it.expected) for it in items])
        if f.kind == "text"
    ]
    if not fields:
        return None
    out = []
    for it in items:
        obj = lenient_json(it.text) or {}
        out.append(
            "\n".join(str(obj[f]) for f in fields if isinstance(obj.get(f), str) and obj[f].strip())
        )
    return out


def not_measured(
    output_type: str,
    schema: dict[str, Any] | None,
    items: Sequence[ItemOutput],
    refs: Sequence[str] | None,
) -> str | None:
    """Why style is not measured for this rung (None when it is)."""
    if not refs or not [r for r in refs if r.strip()]:
        return "no style references (task.style_refs)"
    if output_type == "label":
        return "label outputs carry no style"
    if output_type == "json" and style_texts(output_type, schema, items) is None:
        return "the JSON schema has no free-text field"
    return None


def centroid(vecs: np.ndarray) -> np.ndarray:
    """The unit-length mean direction of unit vectors."""
    c = vecs.mean(axis=0)
    return np.asarray(c / max(float(np.linalg.norm(c)), 1e-12))


def leave_one_out_similarity(vecs: np.ndarray) -> list[float]:
    """Each reference's cosine with the centroid of the other references."""
    if len(vecs) < 2:
        return []
    total = vecs.sum(axis=0)
    return [float(v @ centroid((total - v)[None, :])) for v in vecs]


def classifier_scores(
    refs: np.ndarray, outs: np.ndarray, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold P(output) for every reference and output (labels 0 = reference, 1 = output)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x = np.vstack([refs, outs])
    y = np.array([0] * len(refs) + [1] * len(outs))
    folds = StratifiedKFold(n_splits=min(5, len(refs), len(outs)), shuffle=True, random_state=seed)
    model = LogisticRegression(max_iter=1000, class_weight="balanced")
    proba = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    return y, proba


def auc_weighted(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """ROC AUC of scores `p` for labels `y` under (B, n) item weights -> (B,) values: the
    weighted share of (output, reference) pairs ranked right, ties counting half."""
    pos, neg = (y == 1).astype(float), (y == 0).astype(float)
    above = (p[:, None] > p[None, :]) + 0.5 * (p[:, None] == p[None, :])  # (n, n)
    wp, wn = w * pos, w * neg
    num = np.einsum("bi,ij,bj->b", wp, above, wn)
    den = wp.sum(axis=1) * wn.sum(axis=1)
    return np.divide(num, den, out=np.full(len(den), np.nan), where=den > 0)


def balanced_accuracy_weighted(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mean recall on references and on outputs (predicting 'output' at p >= 0.5), weighted."""
    hit = ((p >= 0.5) == (y == 1)).astype(float)
    pos, neg = (y == 1).astype(float), (y == 0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = (w * pos * hit).sum(axis=1) / (w * pos).sum(axis=1)
        tnr = (w * neg * hit).sum(axis=1) / (w * neg).sum(axis=1)
    return np.asarray((tpr + tnr) / 2)


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC (nan when a class is absent)."""
    return float(auc_weighted(y, p, np.ones((1, len(y))))[0])


def balanced_accuracy(y: np.ndarray, p: np.ndarray) -> float:
    """Balanced accuracy of predicting 'output' at p >= 0.5 (nan when a class is absent)."""
    return float(balanced_accuracy_weighted(y, p, np.ones((1, len(y))))[0])


def measure(
    output_type: str,
    schema: dict[str, Any] | None,
    items: Sequence[ItemOutput],
    *,
    style_refs: Sequence[str] | None,
    embedder: Encoder | None,
) -> SignalResult:
    """Style figures and per-item similarity scores; empty when style is not measured."""
    res = SignalResult()
    texts = style_texts(output_type, schema, items)
    refs = [r for r in (style_refs or []) if r.strip()]
    if embedder is None or texts is None or not refs or not items:
        return res
    keys = item_keys(items)
    if output_type == "json":  # outputs without free text have no style to judge
        kept = [(k, t) for k, t in zip(keys, texts, strict=True) if t.strip()]
        keys, texts = [k for k, _ in kept], [t for _, t in kept]
        if not texts:
            return res
    ref_vecs = embedder.encode(refs)
    out_vecs = embedder.encode(texts)
    c = centroid(ref_vecs)
    sims = [float(v @ c) if t.strip() else 0.0 for v, t in zip(out_vecs, texts, strict=True)]
    res.add(scored("style.similarity", keys, sims, binary=False))
    n = len(sims)
    res.metrics.append(
        metric_of("style.drift", bootstrap_ci(sims, np.std), n, higher_is_better=False)
    )
    loo = leave_one_out_similarity(ref_vecs)
    if loo:
        res.metrics.append(metric_of("style.ref_similarity", bootstrap_ci(loo), len(loo)))
    if len(refs) >= MIN_PER_CLASS and n >= MIN_PER_CLASS:
        y, p = classifier_scores(ref_vecs, out_vecs)
        m = len(y)
        res.metrics.append(
            metric_of(
                "style.classifier_auc",
                bootstrap_weighted_ci(m, lambda w: auc_weighted(y, p, w)),
                m,
                higher_is_better=False,
            )
        )
        res.metrics.append(
            metric_of(
                "style.classifier_accuracy",
                bootstrap_weighted_ci(m, lambda w: balanced_accuracy_weighted(y, p, w)),
                m,
                higher_is_better=False,
            )
        )
    lengths = [len(t.split()) for t in texts]
    ref_lengths = [len(r.split()) for r in refs]
    res.metrics.append(metric_of("style.length_words", bootstrap_ci(lengths), n, unit="words"))
    res.metrics.append(
        metric_of("style.ref_length_words", bootstrap_ci(ref_lengths), len(refs), unit="words")
    )
    informal = [informal_per_100_words(t) for t in texts]
    ref_informal = [informal_per_100_words(r) for r in refs]
    res.metrics.append(metric_of("style.informal_per_100w", bootstrap_ci(informal), n))
    res.metrics.append(
        metric_of("style.ref_informal_per_100w", bootstrap_ci(ref_informal), len(refs))
    )
    return res
