"""Style signal with the real MiniLM: centroid similarity, drift, the classifier, markers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from tunegate.models.embed import default_embedder
from tunegate.outputs import ItemOutput
from tunegate.signals import style
from tunegate.signals.parse import CachedEncoder

REFS = [
    "Thank you for contacting us. We have issued a refund to your original payment method.",
    "We apologise for the inconvenience. Your replacement card has been dispatched today.",
    "Thank you for your patience. Our team has resolved the issue with your account.",
    "We are sorry for the delay. Your order will be delivered within three business days.",
    "Thank you for reaching out. We have updated your billing address as requested.",
    "We regret the error. The duplicate charge has been reversed on your statement.",
]
FORMAL = [
    "Thank you for writing to us. We have refunded the charge to your card.",
    "We apologise for the delay. Your new card was sent this morning.",
    "Thank you for your message. We have corrected the address on your account.",
    "We are sorry for the trouble. The payment has been reversed today.",
    "Thank you for your patience. Your account has been restored.",
]
CHATTY = [
    "hey!! lol no worries, gonna fix that for ya :)",
    "omg yeah that's totally broken haha, pls try again",
    "cool cool, we'll sort it out, kinda busy rn tho!!",
    "yep yep, refund's coming, chill :D",
    "ok so basically it's fixed now I think? lol",
]


def items(texts: list[str]) -> list[ItemOutput]:
    return [ItemOutput(str(i), "", t) for i, t in enumerate(texts)]


def by_name(res: style.SignalResult) -> dict[str, float]:
    return {m.name: m.value for m in res.metrics}


def test_similarity_drift_and_classifier_tell_formal_from_chatty() -> None:
    emb = CachedEncoder(default_embedder())  # the references are embedded once
    formal = by_name(style.measure("text", None, items(FORMAL), style_refs=REFS, embedder=emb))
    chatty = by_name(style.measure("text", None, items(CHATTY), style_refs=REFS, embedder=emb))
    assert formal["style.similarity"] > chatty["style.similarity"] + 0.2
    assert chatty["style.classifier_auc"] > 0.9
    assert chatty["style.informal_per_100w"] > formal["style.informal_per_100w"]
    assert formal["style.informal_per_100w"] == 0.0
    assert formal["style.ref_length_words"] == pytest.approx(
        np.mean([len(r.split()) for r in REFS])
    )
    mixed = by_name(
        style.measure("text", None, items(FORMAL[:3] + CHATTY[:3]), style_refs=REFS, embedder=emb)
    )
    assert mixed["style.drift"] > formal["style.drift"]


def test_auc_and_balanced_accuracy_equal_sklearn() -> None:
    rng = np.random.default_rng(1)
    y = np.array([0] * 7 + [1] * 9)
    p = np.round(rng.random(16), 1)  # with ties
    assert style.auc(y, p) == pytest.approx(roc_auc_score(y, p))
    assert style.balanced_accuracy(y, p) == pytest.approx(balanced_accuracy_score(y, p >= 0.5))


def test_informal_markers_by_hand() -> None:
    assert style.informal_per_100_words("We can't help, sorry!") == pytest.approx(100 * 2 / 4)
    assert style.informal_per_100_words("Your request is complete.") == 0.0
    assert style.informal_per_100_words("") == 0.0


def test_json_style_uses_free_text_fields_or_is_not_measured() -> None:
    schema = {
        "type": "object",
        "properties": {"category": {"enum": ["a"]}, "reply": {"type": "string"}},
    }
    exp = json.dumps(
        {"category": "a", "reply": "Thank you for contacting us about your refund today."}
    )
    out = [
        ItemOutput("1", exp, json.dumps({"category": "a", "reply": "hey lol"})),
        ItemOutput("2", exp, "junk"),
    ]
    assert style.style_texts("json", schema, out) == ["hey lol", ""]
    assert style.not_measured("json", schema, out, REFS) is None
    no_text = {"type": "object", "properties": {"category": {"enum": ["a"]}}}
    assert (
        style.not_measured("json", no_text, out, REFS) == "the JSON schema has no free-text field"
    )
    assert style.not_measured("label", None, out, REFS) == "label outputs carry no style"
    assert style.not_measured("text", None, out, None) is not None
    res = style.measure("json", schema, out, style_refs=REFS, embedder=default_embedder())
    sim = next(s for s in res.scores if s.name == "style.similarity")
    assert list(sim.values) == ["1"]  # the output without an object has no style to judge
    assert (
        style.measure("label", None, out, style_refs=REFS, embedder=default_embedder()).metrics
        == []
    )
