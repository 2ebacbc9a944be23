"""The near-duplicate rule and duplicate/leakage detection, on hand-made texts."""

from __future__ import annotations

import random

from tunegate.data.dedup import NEAR_THRESHOLD, find_duplicates, jaccard, shingles


def test_shingles_are_case_folded_word_bigrams() -> None:
    assert shingles("My Router, is DOWN!") == {"my router", "router is", "is down"}
    assert shingles("Hello!!") == {"hello"}
    assert shingles("  ?! ") == set()
    assert jaccard(shingles("the hub is offline"), shingles("The hub is OFFLINE.")) == 1.0
    assert jaccard(set(), set()) == 0.0


def test_one_added_word_in_twenty_is_near_but_half_shared_is_not() -> None:
    rng = random.Random(0)
    words = [f"w{rng.randrange(10_000)}" for _ in range(20)]
    base = " ".join(words)
    assert jaccard(shingles(base), shingles(base + " thanks")) >= NEAR_THRESHOLD
    half = " ".join(words[:10] + [f"x{i}" for i in range(10)])
    assert jaccard(shingles(base), shingles(half)) < NEAR_THRESHOLD


def test_later_rows_are_flagged_blank_inputs_skipped_and_leaks_found() -> None:
    rng = random.Random(1)
    texts = [" ".join(f"w{rng.randrange(10_000)}" for _ in range(15)) for _ in range(200)]
    train = list(texts[:150])
    targets = [str(i % 3) for i in range(150)]
    train[10], targets[10] = train[2], targets[2]  # exact duplicate of row 2
    train[11], targets[11] = train[3], "other"  # same input as row 3, another target
    train[12] = train[4].upper() + " please"  # near-duplicate of row 4
    train[13] = train[14] = "   "  # blank inputs: never duplicates
    test = list(texts[150:])
    test[0] = train[20]  # exact leak
    test[1] = train[21] + " again"  # near leak
    found = find_duplicates(train, targets, test)
    assert [(m.row, m.of) for m in found.exact] == [(10, 2)]
    assert [(m.row, m.of) for m in found.conflicting] == [(11, 3)]
    assert [(m.row, m.of) for m in found.near] == [(12, 4)]
    assert found.near[0].similarity >= NEAR_THRESHOLD
    assert [(m.row, m.of) for m in found.leak_exact] == [(0, 20)]
    assert [(m.row, m.of) for m in found.leak_near] == [(1, 21)]
