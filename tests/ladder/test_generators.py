"""Generators: each backend's generator is built once, on first use, from its factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tunegate.ladder.generators import Generators
from tunegate.spec import parse_task


def test_a_factory_runs_once_and_only_when_asked() -> None:
    built: list[str] = []

    def local() -> Any:
        built.append("local")
        return object()

    gens = Generators(local=local)
    task = parse_task(
        {"name": "t", "inputs": ["x"], "prompt": {"user": "{x}"}, "data": {"train": "x.jsonl"}}
    )
    gens.bind(task, Path("."))
    assert built == []
    first = gens.get("local")
    assert gens.get("local") is first and built == ["local"]


def test_an_unbound_backend_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="no remote generator bound"):
        Generators().get("remote")
