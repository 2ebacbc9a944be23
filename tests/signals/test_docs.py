"""Doc dependence: the rule on a small constructed case, and error rates split by it."""

from __future__ import annotations

import json

import pytest

from tunegate.outputs import ItemOutput
from tunegate.signals import docs
from tunegate.signals import knowledge as kn


def js(**kw: object) -> str:
    return json.dumps(kw)


def by_name(res: kn.SignalResult) -> dict[str, float]:
    return {m.name: m.value for m in res.metrics}


DOCS = """# Products
Zephyr X2 is our premium router. The Acme Pro plan includes priority support.
Support tiers: standard, premium.
"""


def test_doc_dependence_rule() -> None:
    values = docs.answer_values(js(product="Zephyr X2", urgency="high"), "json")
    assert values == ["Zephyr X2", "high"]
    assert docs.doc_dependent(values, "my x2 router keeps dropping", DOCS)  # name only in docs
    assert not docs.doc_dependent(values, "my Zephyr X2 keeps dropping", DOCS)  # named in input
    assert not docs.doc_dependent(["high"], "urgent!", DOCS)  # "high" not in the docs
    assert docs.doc_dependent(["premium_support"], "help", "we offer Premium support")
    text_values = docs.answer_values("The Acme Pro plan costs $49 per month. Thanks", "text")
    assert "Acme Pro" in text_values and "$49" in text_values and "The" not in text_values


def test_error_rates_on_doc_dependent_items() -> None:
    items = [
        ItemOutput("1", js(product="Zephyr X2"), js(product="Zephyr X2")),
        ItemOutput("2", js(product="Zephyr X2"), js(product="router")),
        ItemOutput("3", js(product="Acme Pro"), js(product="acme")),
        ItemOutput("4", js(product="Widget"), js(product="Widget")),
        ItemOutput("5", js(product="Widget"), js(product="gadget")),
    ]
    inputs = {
        "1": "x2 broken",
        "2": "router broken",
        "3": "my plan",
        "4": "Widget broken",
        "5": "w",
    }
    m = by_name(kn.measure("json", None, items, docs_text=DOCS, inputs=inputs))
    assert m["knowledge.doc_dependent_share"] == pytest.approx(3 / 5)
    assert m["knowledge.error_rate.doc_dependent"] == pytest.approx(2 / 3)
    assert m["knowledge.error_rate.other"] == pytest.approx(1 / 2)
    assert m["knowledge.doc_error_share"] == pytest.approx(2 / 3)
    assert m["knowledge.error_rate.doc_dependent.product"] == pytest.approx(2 / 3)
    assert m["knowledge.error_rate.other.product"] == pytest.approx(1 / 2)
    assert "knowledge.doc_dependent_share" not in by_name(kn.measure("json", None, items))
