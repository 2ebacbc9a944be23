"""Reading model outputs the way the signals need: strict and lenient JSON, normalized text,
labels found in free generations, and which JSON fields are labels, values or free text.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

FREE_TEXT_WORDS = 4.0  # a string field whose expected values average more words is free text

_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.DOTALL)
_PUNCT = re.compile(f"[{re.escape(string.punctuation)}]")
_SPACE = re.compile(r"\s+")
_SEP = re.compile(r"[\s_\-]+")


class Encoder(Protocol):
    """Anything that embeds texts to unit vectors, like `tunegate.models.embed.Embedder`."""

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray: ...


class _Pairs:
    """An `object_pairs_hook` that builds each object and notes the keys it saw twice."""

    def __init__(self) -> None:
        self.duplicates: list[str] = []

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out and k not in self.duplicates:
                self.duplicates.append(k)
            out[k] = v
        return out


def strict_json_checked(text: str) -> tuple[bool, Any, list[str]]:
    """`strict_json` plus the keys repeated within one object anywhere in the value.

    JSON objects may not repeat a name (RFC 8259 says SHOULD be unique; JSON Schema and most
    consumers assume it); Python keeps the last value silently, so the repeat is caught here.
    """
    pairs = _Pairs()
    try:
        return True, json.loads(text, object_pairs_hook=pairs), pairs.duplicates
    except (json.JSONDecodeError, ValueError):
        return False, None, []


def strict_json(text: str) -> tuple[bool, Any]:
    """(True, value) when the whole output (surrounding whitespace aside) is one JSON value."""
    ok, value, _ = strict_json_checked(text)
    return ok, value


def lenient_json_checked(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    """`lenient_json` plus the keys repeated within one object of the object found."""
    m = _FENCE.search(text)
    candidates = [m.group(1), text] if m else [text]
    for body in candidates:
        ok, value, dups = strict_json_checked(body.strip())
        if ok and isinstance(value, dict):
            return value, dups
        for pos in (i for i, ch in enumerate(body) if ch == "{"):
            pairs = _Pairs()
            try:
                value, _ = json.JSONDecoder(object_pairs_hook=pairs).raw_decode(body, pos)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value, pairs.duplicates
    return None, []


def lenient_json(text: str) -> dict[str, Any] | None:
    """The first JSON object in the output, after removing ``` fences; None when there is none."""
    return lenient_json_checked(text)[0]


def expected_object(text: str) -> dict[str, Any]:
    """An item's expected JSON output as an object ({} when the data hold something else)."""
    ok, value = strict_json(text)
    return value if ok and isinstance(value, dict) else {}


def normalize_text(s: str) -> str:
    """Case-, whitespace- and punctuation-insensitive form of a string."""
    return _SPACE.sub(" ", _PUNCT.sub(" ", s.casefold())).strip()


def normalize_value(v: Any) -> Any:
    """A JSON value in comparable form: strings normalized, lists order-free, numbers as floats."""
    if isinstance(v, str):
        return normalize_text(v)
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, list):
        return tuple(sorted((normalize_value(x) for x in v), key=repr))
    if isinstance(v, dict):
        return tuple(sorted((normalize_text(str(k)), normalize_value(x)) for k, x in v.items()))
    return v


def tokens(s: str) -> list[str]:
    """Normalized word tokens (for token F1 and word counts)."""
    return normalize_text(s).split()


def label_key(s: str) -> str:
    """A label's matching form: case-free, with spaces, underscores and hyphens alike."""
    return _SEP.sub(" ", _PUNCT.sub(" ", s.casefold().replace("_", " "))).strip()


class LabelMatcher:
    """Finds the label a free generation names, for one label set (built once, used per item).

    The first line equal to a label (in matching form) wins; otherwise the one label named as a
    whole phrase in the text (a label inside a longer named label does not count).
    """

    def __init__(self, labels: Sequence[str]) -> None:
        self.by_key = {label_key(lab): lab for lab in labels}
        self.by_key.pop("", None)

    def find(self, text: str) -> str | None:
        lines = [ln for ln in text.strip().splitlines() if ln.strip()]
        if lines:
            first = label_key(lines[0])
            if first in self.by_key:
                return self.by_key[first]
        body = f" {label_key(text)} "
        found = [k for k in self.by_key if f" {k} " in body]
        found = [k for k in found if not any(k != o and f" {k} " in f" {o} " for o in found)]
        return self.by_key[found[0]] if len(found) == 1 else None


def extract_label(text: str, labels: Sequence[str]) -> str | None:
    """The label a free generation names, or None (see `LabelMatcher`)."""
    return LabelMatcher(labels).find(text)


FieldKind = Literal["label", "labels", "text", "value"]


@dataclass(frozen=True)
class JsonField:
    """A top-level field of a JSON output and how it is judged.

    `label`: one value from an enum (accuracy, macro-F1, confusion); `labels`: a list of enum
    values (multi-label macro-F1); `text`: free text (token F1, similarity, style); `value`:
    anything else compared whole (exact and normalized).
    """

    name: str
    kind: FieldKind
    labels: tuple[str, ...] = ()


def _enum(sub: Any) -> list[Any] | None:
    if not isinstance(sub, dict):
        return None
    if "enum" in sub:
        return list(sub["enum"])
    if "const" in sub:
        return [sub["const"]]
    return None


def json_fields(
    schema: dict[str, Any] | None, expected: Sequence[dict[str, Any]]
) -> list[JsonField]:
    """The fields to judge: the schema's top-level properties (else the expected keys), in order."""
    props: dict[str, Any] = (schema or {}).get("properties") or {}
    names = list(props)
    if not props:
        for obj in expected:
            names += [k for k in obj if k not in names]
    out = []
    for name in names:
        sub = props.get(name, {})
        enum = _enum(sub)
        item_enum = _enum(sub.get("items")) if isinstance(sub, dict) else None
        if enum is not None and all(isinstance(e, str) for e in enum):
            out.append(JsonField(name, "label", tuple(enum)))
        elif item_enum is not None and all(isinstance(e, str) for e in item_enum):
            out.append(JsonField(name, "labels", tuple(item_enum)))
        elif _is_free_text(sub, [obj[name] for obj in expected if name in obj]):
            out.append(JsonField(name, "text"))
        else:
            out.append(JsonField(name, "value"))
    return out


def _is_free_text(sub: Any, values: list[Any]) -> bool:
    declared = sub.get("type") if isinstance(sub, dict) else None
    if declared not in (None, "string"):
        return False
    strings = [v for v in values if isinstance(v, str)]
    if not strings or len(strings) < len(values):
        return False
    return float(np.mean([len(v.split()) for v in strings])) > FREE_TEXT_WORDS


def json_type(v: Any) -> str:
    """The JSON type name of a Python value."""
    if isinstance(v, bool):
        return "boolean"
    if v is None:
        return "null"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


class CachedEncoder:
    """An `Encoder` that loads lazily and embeds each distinct text once.

    Without a model given, the shared MiniLM (`default_embedder()`) is loaded on first use, so
    signals that need no embeddings (label tasks without style) never load it. Share one
    instance across the rungs of a run to embed the references and expected texts only once.
    """

    def __init__(self, encoder: Encoder | None = None) -> None:
        self._encoder = encoder
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            if self._encoder is None:
                from tunegate.models.embed import default_embedder

                self._encoder = default_embedder()
            for t, v in zip(todo, self._encoder.encode(todo, batch_size=batch_size), strict=True):
                self._cache[t] = v
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])
