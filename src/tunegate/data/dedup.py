"""Exact and near-duplicate inputs within train, and train/test leakage.

The near-duplicate rule: a text's shingles are its word bigrams (words are `\\w+` runs of the
case-folded text; a one-word text is its own shingle); two texts are near-duplicates when the
Jaccard similarity of their shingle sets is >= NEAR_THRESHOLD (0.8). Case, punctuation and
spacing never matter; one added or changed word in a twenty-word message keeps it a
near-duplicate. Candidates come from datasketch MinHash LSH (built for a lower threshold, so
pairs at 0.8 are almost never missed) and each candidate's Jaccard is then computed exactly,
so every reported pair truly meets the rule.

Rows are compared in file order; a row is flagged when it repeats an *earlier* row, so a group
of k copies flags k - 1 rows. Blank inputs are skipped (they are counted as empty rows).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

NEAR_THRESHOLD = 0.8
LSH_THRESHOLD = 0.5  # candidate search threshold: well under 0.8 so LSH misses almost no pair
NUM_PERM = 128
SEED = 1

_WORD = re.compile(r"\w+")


def shingles(text: str) -> set[str]:
    """Word bigrams of the case-folded text (the word itself for a one-word text)."""
    words = _WORD.findall(text.casefold())
    if len(words) < 2:
        return set(words)
    return {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


@dataclass(frozen=True)
class Match:
    """Row `row` repeats row `of` (indices into their lists) with this Jaccard similarity."""

    row: int
    of: int
    similarity: float = 1.0


@dataclass
class Duplicates:
    """Train rows that repeat an earlier train row, and test rows that repeat a train row."""

    exact: list[Match] = field(default_factory=list)  # same input and same target
    conflicting: list[Match] = field(default_factory=list)  # same input, different target
    near: list[Match] = field(default_factory=list)  # Jaccard >= NEAR_THRESHOLD, not identical
    leak_exact: list[Match] = field(default_factory=list)  # test input == a train input
    leak_near: list[Match] = field(default_factory=list)  # test input near a train input


def _minhashes(sets: Sequence[set[str]]) -> list[Any]:
    from datasketch import MinHash

    encoded = [[s.encode("utf-8") for s in sorted(x)] for x in sets]
    return list(MinHash.bulk(encoded, num_perm=NUM_PERM, seed=SEED))


def find_duplicates(
    train_inputs: Sequence[str], train_targets: Sequence[str], test_inputs: Sequence[str]
) -> Duplicates:
    """Find exact, conflicting and near-duplicate train rows, and exact and near leaks into test."""
    from datasketch import MinHashLSH

    found = Duplicates()
    train_keep = [i for i, t in enumerate(train_inputs) if t.strip()]
    test_keep = [i for i, t in enumerate(test_inputs) if t.strip()]
    train_sets = {i: shingles(train_inputs[i]) for i in train_keep}
    test_sets = {i: shingles(test_inputs[i]) for i in test_keep}
    hashes = _minhashes([train_sets[i] for i in train_keep] + [test_sets[i] for i in test_keep])
    train_hash = dict(zip(train_keep, hashes[: len(train_keep)], strict=True))
    test_hash = dict(zip(test_keep, hashes[len(train_keep) :], strict=True))

    lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
    first_of_input: dict[str, int] = {}
    first_of_pair: dict[tuple[str, str], int] = {}
    for i in train_keep:
        text = train_inputs[i]
        pair = (text, train_targets[i])
        if pair in first_of_pair:
            found.exact.append(Match(i, first_of_pair[pair]))
            continue
        first_of_pair[pair] = i
        if text in first_of_input:
            found.conflicting.append(Match(i, first_of_input[text]))
            continue
        first_of_input[text] = i
        best = _best(train_sets[i], lsh.query(train_hash[i]), train_sets)
        if best is not None:
            found.near.append(Match(i, *best))
        lsh.insert(i, train_hash[i])

    for i in test_keep:
        text = test_inputs[i]
        if text in first_of_input:
            found.leak_exact.append(Match(i, first_of_input[text]))
            continue
        best = _best(test_sets[i], lsh.query(test_hash[i]), train_sets)
        if best is not None:
            found.leak_near.append(Match(i, *best))
    return found


def _best(
    s: set[str], candidates: list[int], sets: dict[int, set[str]]
) -> tuple[int, float] | None:
    """The earliest candidate with the highest exact Jaccard, if it meets the threshold."""
    best: tuple[int, float] | None = None
    for j in sorted(candidates):
        sim = jaccard(s, sets[j])
        if sim >= NEAR_THRESHOLD and (best is None or sim > best[1]):
            best = (j, sim)
    return best
