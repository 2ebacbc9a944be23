# ruff: noqa: E501  (phrase and data tables read better on long lines)
"""The near-duplicate rule of `tunegate check`, in the standard library, for the generator.

Same rule as src/tunegate/data/dedup.py: a text's shingles are its word bigrams (words are
`\\w+` runs of the case-folded text; a one-word text is its own shingle), and two texts are
near-duplicates when the Jaccard similarity of their shingle sets is >= 0.8. Here it is exact
(an inverted index counts shared shingles); the check finds candidates with MinHash LSH first.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

WORD = re.compile(r"\w+")
NEAR = 0.8


def shingles(text: str) -> set[str]:
    words = WORD.findall(text.casefold())
    if len(words) < 2:
        return set(words)
    return {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


class NearIndex:
    """Texts added so far, to ask which one a new text is closest to (exact Jaccard)."""

    def __init__(self) -> None:
        self.sets: list[set[str]] = []
        self.postings: dict[str, list[int]] = defaultdict(list)

    def add(self, text: str) -> int:
        s = shingles(text)
        self.sets.append(s)
        for sh in s:
            self.postings[sh].append(len(self.sets) - 1)
        return len(self.sets) - 1

    def closest(self, text: str) -> tuple[int, float]:
        """(index, Jaccard) of the most similar text added so far; (-1, 0.0) when none shares a shingle."""
        s = shingles(text)
        counts: Counter[int] = Counter()
        for sh in s:
            counts.update(self.postings.get(sh, ()))
        best, best_j = -1, 0.0
        for i, inter in counts.items():
            j = inter / (len(s) + len(self.sets[i]) - inter)
            if j > best_j or (j == best_j and i < best):
                best, best_j = i, j
        return best, best_j
