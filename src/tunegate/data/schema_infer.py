"""A draft JSON Schema drawn from example targets, for `tunegate init --from` and the UI's upload.

Every value seen at one path (`slots.date`, `items[].sku`) is merged into one sub-schema:
objects list the union of the keys seen as `properties` (in the order the rows use them), with
`additionalProperties: false` and `required` only for keys present in every object; arrays get
the merged schema of all their elements as `items`, and `uniqueItems` when no array of scalars
repeats an element (the metrics then score them as sets; decoding cannot enforce it); strings
with few distinct values become an `enum`; integers stay `integer` unless a fraction is seen
(`number`); a path that is sometimes null is nullable; scalars of two types at one path give a
type list. Bounds drawn from the data keep constrained decoding from running on to `max_tokens`
(a small model otherwise fills every optional key, repeats an array element or writes digits
forever): `maxItems` (the longest array seen), `maxProperties` (the most keys one object had,
when fewer than all), `maxLength` (twice the longest string seen, for strings never longer than
SHORT_STRING). An object or an array mixed with anything else at one path cannot be drawn:
`SchemaConflict` says where, with the counts and the rows. `infer_schema` validates the draft
against every target before it is returned, so a draft never rejects the data it came from.

`type_conflicts` is the same walk for `tunegate check`: the paths whose values mix JSON types.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tunegate.errors import TunegateError

ENUM_MAX = 64  # most distinct strings an inferred enum lists
ENUM_REPEAT = 5  # and each distinct string is seen this many times on average, at least
SHORT_STRING = 64  # strings never longer than this (names, dates, spans) get maxLength,
LENGTH_SLACK = 2  # this many times the longest seen (a new value may be a little longer)
TOP = "(top level)"

Located = tuple[str, Any]  # (where the value was read, e.g. "line 12"; the value)


def kind(v: Any) -> str:
    """The JSON Schema type of a parsed JSON value (integer and number kept apart)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


@dataclass
class Conflict:
    """Values of different JSON types at one path: type -> the rows holding that type."""

    path: str
    rows: dict[str, list[str]] = field(default_factory=dict)

    def minority(self) -> list[str]:
        """The rows that hold a type other than the commonest one (the rows to look at)."""
        common = max(self.rows, key=lambda t: len(self.rows[t]))
        return list(dict.fromkeys(r for t, rs in self.rows.items() if t != common for r in rs))

    def describe(self, shown: int = 3) -> str:
        """`slots.date: string in 40 rows (line 1, line 2, ...), object in 2 rows (line 12, ...)`."""
        parts = []
        for t, rs in sorted(self.rows.items(), key=lambda kv: -len(kv[1])):
            seen = list(dict.fromkeys(rs))
            eg = ", ".join(seen[:shown]) + (", ..." if len(seen) > shown else "")
            parts.append(f"{t} in {len(seen)} row{'s' * (len(seen) != 1)} ({eg})")
        return f"{self.path}: {', '.join(parts)}"


class SchemaConflict(TunegateError):
    """A schema cannot be drawn: one path holds an object or array and something else."""


def _join(path: str, key: str) -> str:
    return key if path == TOP else f"{path}.{key}"


def _merged_keys(objects: Sequence[dict[str, Any]]) -> list[str]:
    """Every key seen: sorted when every object lists its keys sorted, else each key placed
    after the key that precedes it in the row it first appears in."""
    if all(list(obj) == sorted(obj) for obj in objects):
        return sorted({k for obj in objects for k in obj})
    order: list[str] = []
    for obj in objects:
        prev: str | None = None
        for k in obj:
            if k not in order:
                order.insert(order.index(prev) + 1 if prev is not None else 0, k)
            prev = k
    return order


def _children(
    values: Sequence[Located], path: str
) -> tuple[list[tuple[str, list[Located], int]], list[Located]]:
    """The values one level down: per object key (with how many objects hold it), and the
    array elements."""
    objects = [(w, v) for w, v in values if isinstance(v, dict)]
    keys = _merged_keys([v for _, v in objects])
    per_key = [
        (k, [(w, v[k]) for w, v in objects if k in v], sum(k in v for _, v in objects))
        for k in keys
    ]
    elements = [(w, x) for w, v in values if isinstance(v, list) for x in v]
    return per_key, elements


def type_conflicts(values: Sequence[Located], path: str = TOP) -> list[Conflict]:
    """Every path whose non-null values have more than one JSON type (integer with number is
    one numeric type), outermost first."""
    kinds: dict[str, list[str]] = {}
    for w, v in values:
        k = kind(v)
        if k != "null":
            kinds.setdefault("number" if k == "integer" else k, []).append(w)
    out = [Conflict(path, kinds)] if len(kinds) > 1 else []
    per_key, elements = _children(values, path)
    for k, sub, _ in per_key:
        out += type_conflicts(sub, _join(path, k))
    if elements:
        out += type_conflicts(elements, f"{path}[]" if path != TOP else "[]")
    return out


def _string_schema(strings: list[str]) -> dict[str, Any]:
    distinct = set(strings)
    if 1 < len(distinct) <= ENUM_MAX and len(distinct) * ENUM_REPEAT <= len(strings):
        return {"type": "string", "enum": sorted(distinct)}
    longest = max(map(len, distinct), default=0)
    if 0 < longest <= SHORT_STRING:
        return {"type": "string", "maxLength": LENGTH_SLACK * longest}
    return {"type": "string"}


def _unique_arrays(values: Sequence[Located]) -> bool:
    """Arrays of scalars that never repeat an element, one of them with two or more."""
    arrays = [v for _, v in values if isinstance(v, list)]
    if not arrays or not any(len(a) > 1 for a in arrays):
        return False
    for a in arrays:
        if any(isinstance(x, dict | list) for x in a):
            return False
        if len({(kind(x), x) for x in a}) < len(a):
            return False
    return True


def _schema_at(values: Sequence[Located], path: str) -> dict[str, Any]:
    kinds = Counter(kind(v) for _, v in values)
    nullable = "null" in kinds
    del kinds["null"]
    if "integer" in kinds and "number" in kinds:
        kinds["number"] += kinds.pop("integer")
    if len(kinds) > 1 and ({"object", "array"} & set(kinds)):
        conflict = type_conflicts(values, path)[0]
        raise SchemaConflict(
            f"no schema can be drawn: targets mix types at {conflict.describe()}; "
            "make every row's value at that key one type"
        )
    if not kinds:
        return {"type": "null"}
    only = next(iter(kinds)) if len(kinds) == 1 else None
    if only == "object":
        per_key, _ = _children(values, path)
        n = kinds["object"]
        out: dict[str, Any] = {
            "type": "object",
            "properties": {k: _schema_at(sub, _join(path, k)) for k, sub, _ in per_key},
            "required": [k for k, _, count in per_key if count == n],
            "additionalProperties": False,
        }
        most = max(len(v) for _, v in values if isinstance(v, dict))
        if most < len(per_key):
            out["maxProperties"] = most
    elif only == "array":
        _, elements = _children(values, path)
        out = {"type": "array"}
        if elements:
            out["items"] = _schema_at(elements, f"{path}[]" if path != TOP else "[]")
        longest = max(len(v) for _, v in values if isinstance(v, list))
        if longest:
            out["maxItems"] = longest
        if _unique_arrays(values):
            out["uniqueItems"] = True
    elif only == "string":
        out = _string_schema([v for _, v in values if isinstance(v, str)])
    elif only is not None:
        out = {"type": only}
    else:  # scalars of several types
        out = {"type": sorted(kinds)}
    if nullable:
        out = _nullable(out)
    return out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    t = schema["type"]
    out = {**schema, "type": [*(t if isinstance(t, list) else [t]), "null"]}
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


@dataclass(frozen=True)
class Broken:
    """A target the draft rejects: where it was read and the first reason."""

    where: str
    message: str


def validate_all(schema: dict[str, Any], values: Sequence[Located]) -> list[Broken]:
    """The targets `schema` rejects (Draft 2020-12), with the first error of each."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    out = []
    for w, v in values:
        err = next(iter(validator.iter_errors(v)), None)
        if err is not None:
            at = "/".join(str(p) for p in err.absolute_path) or "(root)"
            out.append(Broken(w, f"{at}: {err.message}"))
    return out


def infer_schema(values: Sequence[Located]) -> dict[str, Any]:
    """A draft schema every one of `values` satisfies (one JSON object per target).

    Raises `SchemaConflict` (one line: the path, the types with their counts and rows) when
    no schema can be drawn, and `TunegateError` naming the rows when the draft would reject
    some (which would be a bug here: the draft is checked before anyone writes it).
    """
    if not values:
        raise TunegateError("no targets to draw a schema from")
    top = Counter(kind(v) for _, v in values)
    if set(top) != {"object"}:
        rows: dict[str, list[str]] = {}
        for w, v in values:
            rows.setdefault(kind(v), []).append(w)
        raise SchemaConflict(
            f"no schema can be drawn: targets mix types at {Conflict(TOP, rows).describe()}; "
            "a JSON task needs every target to be one JSON object"
        )
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **_schema_at(values, TOP)}
    broken = validate_all(schema, values)
    if broken:
        eg = "; ".join(f"{b.where}: {b.message}" for b in broken[:3])
        raise TunegateError(f"the draft schema rejects {len(broken)} targets ({eg})")
    return schema
