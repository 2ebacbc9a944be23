"""Nearest neighbours by cosine similarity of MiniLM embeddings (few-shot examples, doc chunks).

Embeddings of a text list are cached on disk (keyed by a hash of the texts), so a second
diagnose on 10k training rows does not encode them again.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunegate import atomic


def _key(texts: Sequence[str], embedder: Any) -> str:
    h = hashlib.sha256(type(embedder).__name__.encode())
    h.update(str(getattr(getattr(embedder, "model", None), "name_or_path", "")).encode())
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:24]


def embed_cached(embedder: Any, texts: Sequence[str], cache_dir: Path | None) -> np.ndarray:
    """`embedder.encode(texts)`, read from / written to `cache_dir` when given."""
    path = cache_dir / f"{_key(texts, embedder)}.npy" if cache_dir is not None else None
    if path is not None and path.exists():
        vecs = np.load(path)
        if vecs.shape[0] == len(texts):
            return vecs
    vecs = np.asarray(embedder.encode(list(texts)), dtype=np.float32)
    if path is not None:
        buf = io.BytesIO()
        np.save(buf, vecs)
        atomic.write_bytes(path, buf.getvalue())
    return vecs


@dataclass
class Index:
    """Unit vectors of a corpus; `search` returns the top-k corpus positions per query."""

    embedder: Any
    vectors: np.ndarray  # (n, d), L2-normalized

    @classmethod
    def build(cls, embedder: Any, texts: Sequence[str], cache_dir: Path | None = None) -> Index:
        return cls(embedder, embed_cached(embedder, texts, cache_dir))

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def search(
        self,
        queries: Sequence[str],
        k: int,
        exclude: Sequence[set[int]] | None = None,
    ) -> list[list[int]]:
        """Top-k positions for each query, most similar first; `exclude[i]` is never returned."""
        if not queries or len(self) == 0:
            return [[] for _ in queries]
        q = np.asarray(self.embedder.encode(list(queries)), dtype=np.float32)
        sims = q @ self.vectors.T  # (n_queries, n_corpus)
        out = []
        for i, row in enumerate(sims):
            skip = exclude[i] if exclude else set()
            take = min(len(row), k + len(skip))
            top = np.argpartition(-row, take - 1)[:take]
            # Ties broken by corpus position, so the choice is deterministic.
            ranked = sorted(top.tolist(), key=lambda j: (-float(row[j]), j))
            out.append([j for j in ranked if j not in skip][:k])
        return out
