"""Nearest-neighbour search and the on-disk embedding cache."""

from __future__ import annotations

from pathlib import Path

from ladder_fakes import BagOfWords
from tunegate.ladder.retrieve import Index, MemoEncoder


def test_top_k_most_similar_first_with_exclusions(tmp_path: Path) -> None:
    corpus = ["red apple pie", "green apple", "blue sky", "red car"]
    index = Index.build(BagOfWords(), corpus)
    # "red apple pie" shares two words; "green apple" and "red car" one each: a tie, broken by
    # corpus position so the choice never depends on the sort's whims.
    assert index.search(["red apple"], 3) == [[0, 1, 3]]
    assert index.search(["red apple"], 2, [{0}]) == [[1, 3]]
    assert index.search(["blue sky today", "green"], 1) == [[2], [1]]
    assert len(index.search(["x"], 10)[0]) == 4


def test_embeddings_are_cached_on_disk(tmp_path: Path) -> None:
    enc = BagOfWords()
    a = Index.build(enc, ["one", "two"], tmp_path)
    b = Index.build(enc, ["one", "two"], tmp_path)
    assert enc.calls == 1 and (a.vectors == b.vectors).all()
    Index.build(enc, ["one", "three"], tmp_path)
    assert enc.calls == 2 and len(list(tmp_path.glob("*.npy"))) == 2


def test_memo_encoder_embeds_each_text_once() -> None:
    inner = BagOfWords()
    memo = MemoEncoder(inner)
    first = memo.encode(["a b", "c", "a b"])
    again = memo.encode(["c", "a b"])
    assert inner.calls == 1
    assert (again[1] == first[0]).all() and (again[0] == first[1]).all()
    memo.encode(["c", "new words"])
    assert inner.calls == 2
