"""The learning curve's fractions. (Training and measuring a curve end to end, on the tiny
Llama: tests/train/test_api.py, beside the training fixtures.)"""

from __future__ import annotations

import re

import pytest

from tunegate.errors import TunegateError
from tunegate.flows.curve import parse_fractions


def test_fractions_are_sorted_and_deduplicated() -> None:
    assert parse_fractions("1.0, 0.25,0.5,0.25,") == [0.25, 0.5, 1.0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b", "expected fractions like 0.25,0.5,1.0"),
        ("0,0.5", "each fraction must be in (0, 1]"),
        ("0.5,1.5", "each fraction must be in (0, 1]"),
        ("nan", "each fraction must be in (0, 1]"),
        ("", "each fraction must be in (0, 1]"),
    ],
)
def test_bad_fractions_are_one_line_errors(text: str, expected: str) -> None:
    with pytest.raises(TunegateError, match=re.escape(expected)):
        parse_fractions(text)
