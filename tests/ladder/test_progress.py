"""Progress bars: one per rung, items and output tokens per second."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from tunegate.ladder.progress import LadderProgress


def test_bars_count_items_and_tokens() -> None:
    buf = io.StringIO()
    console = Console(file=buf, width=120, force_terminal=False)
    with LadderProgress(console).running() as bars:
        bar = bars.rung("few_shot", total=10, done=4)
        bar.advance(3, 90)
        bar.advance(3, 30)
    text = buf.getvalue()
    assert "few_shot" in text and "10/10" in text and "tok/s" in text


def test_no_console_no_output(capsys: pytest.CaptureFixture[str]) -> None:
    with LadderProgress(None).running() as bars:
        bar = bars.rung("zero_shot", total=3, done=0)
        bar.advance(3, 10)
        bar.note("timing")
    assert capsys.readouterr() == ("", "")
