"""Fixtures for the server tests (helpers in tests/serve_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from serve_helpers import make_adapter, serving, tiny_table


@pytest.fixture(scope="session")
def tiny_adapter(tiny_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_adapter(tiny_llama, tmp_path_factory.mktemp("serve-adapter") / "lora", seed=3)


@pytest.fixture(scope="module")
def tiny_server(tiny_llama: Path, tiny_adapter: Path) -> Iterator[str]:
    """The tiny Llama and one adapter, default limits but a 256-token cap; yields the base URL."""
    with serving(tiny_table(tiny_llama, tiny_adapter), max_tokens_cap=256, max_batch=8) as (
        url,
        _,
    ):
        yield url
