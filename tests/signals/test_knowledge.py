"""Knowledge signal: field accuracy, macro-F1 against sklearn, text scores, doc dependence."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score
from sklearn.preprocessing import MultiLabelBinarizer

from tunegate.models.embed import default_embedder
from tunegate.outputs import ItemOutput
from tunegate.signals import knowledge as kn

SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"enum": ["billing", "bug", "account"]},
        "product": {"type": "string"},
        "summary": {"type": "string"},
    },
}


def js(**kw: object) -> str:
    return json.dumps(kw)


def by_name(res: kn.SignalResult) -> dict[str, float]:
    return {m.name: m.value for m in res.metrics}


def test_macro_f1_equals_sklearn_single_label_with_invalid_predictions() -> None:
    rng = np.random.default_rng(3)
    classes = ["a", "b", "c", "d"]
    true = list(rng.choice(classes[:3], 60))
    pred: list[str | None] = [str(x) for x in rng.choice([*classes, "junk"], 60)]
    want = f1_score(true, pred, labels=sorted(set(true)), average="macro", zero_division=0)
    got = kn.macro_f1(kn.one_hot(true, classes), kn.one_hot(pred, classes))
    assert got == pytest.approx(want)


def test_macro_f1_equals_sklearn_multi_label() -> None:
    classes = ["x", "y", "z"]
    true = [["x"], ["x", "y"], ["y"], ["z"], []]
    pred = [["x"], ["y"], ["y", "z"], [], ["x"]]
    mlb = MultiLabelBinarizer(classes=classes)
    yt, yp = mlb.fit_transform(true), mlb.transform(pred)
    want = f1_score(yt, yp, average="macro", zero_division=0)
    assert kn.macro_f1(kn.multi_hot(true, classes), kn.multi_hot(pred, classes)) == pytest.approx(
        want
    )


def test_token_f1_by_hand() -> None:
    assert kn.token_f1("the cat sat", "The cat.") == pytest.approx(0.8)  # P 2/3, R 1
    assert kn.token_f1("", "") == 1.0
    assert kn.token_f1("dog", "cat") == 0.0


def test_json_field_accuracy_exact_and_normalized() -> None:
    summary = "The customer was charged twice for the annual plan"
    items = [
        ItemOutput(
            "1",
            js(category="billing", product="Acme Pro", summary=summary),
            js(category="billing", product="acme pro.", summary=summary),
        ),
        ItemOutput(
            "2",
            js(category="bug", product="Zephyr", summary=summary),
            js(category="billing", product="Zephyr", summary="A bug report about the app"),
        ),
        ItemOutput("3", js(category="account", product="Zephyr", summary=summary), "not json"),
    ]
    res = kn.measure("json", SCHEMA, items, embedder=default_embedder())
    m = by_name(res)
    assert m["knowledge.field_accuracy.category"] == pytest.approx(1 / 3)
    assert m["knowledge.field_accuracy.product"] == pytest.approx(2 / 3)
    assert m["knowledge.field_exact.product"] == pytest.approx(1 / 3)
    # per item mean over category+product: (1 + 0.5 + 0) / 3; summary is free text, judged apart
    assert m["knowledge.field_accuracy"] == pytest.approx(0.5)
    assert m["knowledge.field_exact"] == pytest.approx((0.5 + 0.5 + 0) / 3)
    assert m["knowledge.all_fields"] == pytest.approx(1 / 3)
    assert m["knowledge.token_f1.summary"] == pytest.approx(
        (1 + kn.token_f1("A bug report about the app", summary)) / 3
    )
    assert m["knowledge.similarity.summary"] < 0.99
    truth, pred = ["billing", "bug", "account"], ["billing", "billing", "<none>"]
    f1 = f1_score(truth, pred, labels=sorted(truth), average="macro", zero_division=0)
    assert m["knowledge.macro_f1.category"] == pytest.approx(f1)


def test_label_accuracy_and_confusion() -> None:
    labels = ["card_arrival", "lost_card", "refund"]
    items = [
        ItemOutput("1", "card_arrival", "card_arrival"),
        ItemOutput("2", "card_arrival", "Card arrival"),
        ItemOutput("3", "lost_card", "refund"),
        ItemOutput("4", "refund", "no clue"),
    ]
    m = by_name(kn.measure("label", None, items, labels=labels))
    assert m["knowledge.accuracy"] == 0.5
    assert m["knowledge.accuracy_strict"] == 0.25
    want = f1_score(
        ["card_arrival", "card_arrival", "lost_card", "refund"],
        ["card_arrival", "card_arrival", "refund", "none"],
        labels=labels,
        average="macro",
        zero_division=0,
    )
    assert m["knowledge.macro_f1"] == pytest.approx(want)
    conf = kn.confusions("label", None, items, labels)["label"]
    assert conf.labels == labels
    assert conf.counts == [[2, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]


def test_free_text_scores_with_minilm() -> None:
    gold = "Your refund was sent and should arrive within five days."
    items = [
        ItemOutput("1", gold, "We sent your refund; it should arrive in five days."),
        ItemOutput("2", gold, "The weather in Paris is sunny today."),
        ItemOutput("3", gold, gold),
        ItemOutput("4", gold, "   "),
    ]
    res = kn.measure("text", None, items, embedder=default_embedder())
    sims = next(s for s in res.scores if s.name == "knowledge.similarity").values
    assert sims["3"] == pytest.approx(1.0, abs=1e-5)
    assert sims["1"] > sims["2"] + 0.3
    assert sims["4"] == 0.0
    assert by_name(res)["knowledge.exact_match"] == 0.25
