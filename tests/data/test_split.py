"""Splits are deterministic by seed, stratified, and keep singletons in train."""

from __future__ import annotations

from collections import Counter

from tunegate.data.examples import Example, content_id
from tunegate.data.split import sample, split


def ex(i: int, label: str) -> Example:
    inputs = {"text": f"row {i}"}
    return Example(id=content_id(inputs, [], label), inputs=inputs, target=label, source=f"f:{i}")


ROWS = [ex(i, "a" if i % 4 else "b") for i in range(200)] + [ex(999, "rare")]


def test_same_seed_same_split() -> None:
    a = split(ROWS, 0.25, seed=7, key=lambda e: e.target)
    b = split(list(reversed(ROWS)), 0.25, seed=7, key=lambda e: e.target)
    assert {e.id for e in a[1]} == {e.id for e in b[1]}


def test_other_seed_other_split() -> None:
    a = split(ROWS, 0.25, seed=1)[1]
    b = split(ROWS, 0.25, seed=2)[1]
    assert {e.id for e in a} != {e.id for e in b}


def test_stratified_and_singleton_stays_in_train() -> None:
    train, test = split(ROWS, 0.25, seed=0, key=lambda e: e.target)
    counts = Counter(e.target for e in test)
    assert counts == {"a": 38, "b": 13}  # 150 and 50 rows, a quarter each, rounded half up
    assert any(e.target == "rare" for e in train)
    assert len(train) + len(test) == len(ROWS)
    assert not {e.id for e in train} & {e.id for e in test}


def test_sample_is_seeded_subset_in_order() -> None:
    s = sample(ROWS, 10, seed=3)
    assert len(s) == 10 and s == sample(ROWS, 10, seed=3)
    order = [ROWS.index(e) for e in s]
    assert order == sorted(order)
