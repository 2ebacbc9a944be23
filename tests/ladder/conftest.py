"""Ladder test fixtures (the helpers themselves are in tests/ladder_fakes.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ladder_fakes import BagOfWords, make_task


@pytest.fixture
def json_task(tmp_path: Path) -> Path:
    return make_task(tmp_path, "json")


@pytest.fixture
def label_task(tmp_path: Path) -> Path:
    return make_task(tmp_path, "label", docs=False)


@pytest.fixture
def bow() -> BagOfWords:
    return BagOfWords()
