"""JSON Schema features the constraint engine (xgrammar 0.2) compiles but does not enforce.

xgrammar accepts these schemas and decodes as if the feature were absent (seen here: a `not`
or an `allOf` branch is dropped, a lookahead in a `pattern` is ignored with a log line, a `$ref`
to another document matches anything), so an answer "constrained" by them may break the
schema. Such a schema is refused with one line naming the feature and where it is, before
decoding: a 400 from `tunegate serve`, a TunegateError for a task's schema. Checked here to be
enforced: type, properties, required, additionalProperties, patternProperties, propertyNames,
min/maxProperties, items, prefixItems, min/maxItems, uniqueItems, contains, enum, const, anyOf,
local `$ref`, min/maxLength, pattern (without lookaround or backreferences), format,
minimum/maximum (exclusive too), multipleOf. `oneOf` is enforced as `anyOf` (an answer matching
two branches is not refused).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["unsupported_feature"]

_UNENFORCED = {
    "not": "`not`",
    "if": "`if`/`then`/`else`",
    "then": "`if`/`then`/`else`",
    "else": "`if`/`then`/`else`",
    "dependentRequired": "`dependentRequired`",
    "dependentSchemas": "`dependentSchemas`",
    "dependencies": "`dependencies`",
    "unevaluatedItems": "`unevaluatedItems`",
}
_LOOKAROUND = re.compile(r"\(\?<?[=!]|\\[1-9]|\\k<")  # (?= (?! (?<= (?<! and backreferences


def unsupported_feature(schema: Any, path: str = "#") -> str | None:
    """The first feature of `schema` the constraint engine would not enforce, as
    "`not` at #/properties/a", or None when every part of it is enforced."""
    if isinstance(schema, list):
        for i, item in enumerate(schema):
            found = unsupported_feature(item, f"{path}/{i}")
            if found:
                return found
        return None
    if not isinstance(schema, dict):
        return None
    for key, value in schema.items():
        here = f"{path}/{key}"
        if key in _UNENFORCED:
            return f"{_UNENFORCED[key]} at {path}"
        if key == "allOf" and isinstance(value, list) and len(value) > 1:
            return f"`allOf` with {len(value)} schemas at {path}"
        if key == "$ref" and isinstance(value, str) and not value.startswith("#"):
            return f"a `$ref` to another document ({value}) at {path}"
        if key == "pattern" and isinstance(value, str) and _LOOKAROUND.search(value):
            return f"a lookaround or backreference in `pattern` at {path}"
        if key == "patternProperties" and isinstance(value, dict):
            bad = next((p for p in value if _LOOKAROUND.search(p)), None)
            if bad is not None:
                return f"a lookaround or backreference in `patternProperties` at {path}"
        if key in ("enum", "const", "default", "examples"):
            continue  # values, not schemas
        if key in ("properties", "patternProperties", "$defs", "definitions"):
            if isinstance(value, dict):
                for name, sub in value.items():
                    found = unsupported_feature(sub, f"{here}/{name}")
                    if found:
                        return found
            continue
        if isinstance(value, dict | list):
            found = unsupported_feature(value, here)
            if found:
                return found
    return None
