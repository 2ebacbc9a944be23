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


def _identity(encoder: Any) -> str:
    """Which model an encoder runs, without loading it (part of the embedding cache key)."""
    if isinstance(encoder, MemoEncoder):
        return encoder.identity
    path = getattr(getattr(encoder, "model", None), "name_or_path", "")
    return f"{type(encoder).__name__}:{path}"


def _key(texts: Sequence[str], embedder: Any) -> str:
    h = hashlib.sha256(_identity(embedder).encode())
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


class MemoEncoder:
    """An encoder that embeds each distinct text once per run (rungs share their queries), and
    loads the shared MiniLM only on first use when no encoder is given."""

    def __init__(self, encoder: Any = None) -> None:
        self._encoder = encoder
        self._memo: dict[str, np.ndarray] = {}
        self.identity = "minilm-default" if encoder is None else _identity(encoder)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if todo:
            if self._encoder is None:
                from tunegate.models.embed import default_embedder

                self._encoder = default_embedder()
            vecs = np.asarray(self._encoder.encode(todo, batch_size=batch_size), dtype=np.float32)
            self._memo.update(zip(todo, vecs, strict=True))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._memo[t] for t in texts])


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
