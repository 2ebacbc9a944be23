"""Cache keys: everything that decides an answer changes the key; nothing else does."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from tunegate.ladder.cache import adapter_id, request_key
from tunegate.models.base import Constraint, GenRequest

BASE = GenRequest(messages=[{"role": "user", "content": "hi"}], max_tokens=8)


def test_every_deciding_field_changes_the_key() -> None:
    key = request_key("m", "zero_shot", BASE)
    assert key == request_key("m", "zero_shot", GenRequest(messages=[{"content": "hi", "role": "user"}],
                                                           max_tokens=8))  # fmt: skip
    variants = [
        request_key("other", "zero_shot", BASE),
        request_key("m", "constrained", BASE),
        request_key("m", "zero_shot", BASE, adapter="a:123"),
        request_key(
            "m",
            "zero_shot",
            dataclasses.replace(BASE, messages=[{"role": "user", "content": "hi!"}]),
        ),
        request_key("m", "zero_shot", dataclasses.replace(BASE, max_tokens=9)),
        request_key("m", "zero_shot", dataclasses.replace(BASE, temperature=0.7)),
        request_key("m", "zero_shot", dataclasses.replace(BASE, top_p=0.9)),
        request_key("m", "zero_shot", dataclasses.replace(BASE, seed=1)),
        request_key(
            "m", "zero_shot", dataclasses.replace(BASE, constraint=Constraint(labels=("a",)))
        ),
        request_key(
            "m", "zero_shot", dataclasses.replace(BASE, constraint=Constraint(labels=("b",)))
        ),
    ]
    assert len({key, *variants}) == len(variants) + 1


def test_adapter_identity_follows_its_files(tmp_path: Path) -> None:
    folder = tmp_path / "adapter"
    folder.mkdir()
    weights = folder / "adapter_model.safetensors"
    weights.write_bytes(b"v1")
    first = adapter_id(str(folder))
    assert first == adapter_id(str(folder)) and first is not None
    weights.write_bytes(b"v2-longer")
    os.utime(weights, (1, 1))
    assert adapter_id(str(folder)) != first
    assert adapter_id(None) is None
