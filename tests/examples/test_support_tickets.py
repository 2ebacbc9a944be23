"""The demo task's generator: deterministic, labels that follow the catalogue and policy,
real variety, and no near-duplicates by the check's own rule."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import jsonschema
import pytest

from conftest import EXAMPLES
from tunegate.data.dedup import find_duplicates

HERE = EXAMPLES / "support-tickets"
DIRTY = EXAMPLES / "support-tickets-dirty"
GENERATED = [
    "docs/products.md",
    "docs/policy.md",
    "schema.json",
    "data/train.jsonl",
    "data/test.jsonl",
]
GENERATED_DIRTY = ["schema.json", "data/train.jsonl", "data/test.jsonl", "manifest.json"]


@pytest.fixture(scope="module")
def kestrel() -> ModuleType:
    sys.path.insert(0, str(HERE))
    try:
        import kestrel as module
    finally:
        sys.path.remove(str(HERE))
    return module


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    script = HERE / "generate.py"
    assert script.read_text(encoding="utf-8").startswith(
        "# python examples/support-tickets/generate.py"
    )
    subprocess.run(
        [
            sys.executable,
            str(script),
            "--out",
            str(tmp_path / "clean"),
            "--dirty-out",
            str(tmp_path / "dirty"),
        ],
        check=True,
        capture_output=True,
    )
    for name in GENERATED:
        assert (tmp_path / "clean" / name).read_bytes() == (HERE / name).read_bytes(), name
    for name in GENERATED_DIRTY:
        assert (tmp_path / "dirty" / name).read_bytes() == (DIRTY / name).read_bytes(), name


def test_labels_follow_the_catalogue_and_policy(kestrel: ModuleType) -> None:
    rows = load(HERE / "data/train.jsonl") + load(HERE / "data/test.jsonl")
    schema = json.loads((HERE / "schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    by_phrase = {issue.summary: issue for issue in kestrel.ISSUES}
    for row in rows:
        t = row["ticket"]
        validator.validate(t)
        product = kestrel.BY_NAME.get(t["product"])
        phrase = (
            t["summary"].split(": ", 1)[1]
            if product
            else t["summary"][0].lower() + t["summary"][1:]
        )
        issue = by_phrase[phrase]
        assert t["category"] == issue.category
        assert t["urgency"] == kestrel.urgency(issue, product), row
        assert t["summary"] == kestrel.summary(issue, product)
        assert len(t["summary"].split()) <= 10
        if product is not None:  # the message names the product by name, code or nickname
            names = [a.removeprefix("the ").casefold() for a in product.aliases]
            assert any(n in row["message"].casefold() for n in names), row


def test_size_variety_and_no_near_duplicates() -> None:
    train, test = load(HERE / "data/train.jsonl"), load(HERE / "data/test.jsonl")
    rows = train + test
    assert len(rows) >= 1200
    messages = [r["message"] for r in rows]
    words = [len(m.split()) for m in messages]
    assert statistics.median(words) < 40 and min(words) <= 6 and max(words) >= 45
    assert sum("\n" not in m for m in messages) > 0.2 * len(rows)  # one-liners beside signed mails
    other = sum(
        bool(re.search(r"[áéíóúãçßüöäèêà]|\b(mi|meu|mein|mon|está|ist|est)\b", m)) for m in messages
    )
    assert 0.07 < other / len(rows) < 0.15  # about a tenth not in English
    assert len({r["ticket"]["category"] for r in rows}) == 8
    assert len({r["ticket"]["urgency"] for r in rows}) == 4
    assert len({r["ticket"]["product"] for r in rows}) == 14
    found = find_duplicates(messages, [json.dumps(r["ticket"]) for r in rows], [])
    assert (found.exact, found.conflicting, found.near) == ([], [], [])
