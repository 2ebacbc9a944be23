"""A rich progress bar per rung: items done, output tokens per second, time left."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class RungBar:
    """One rung's bar; `advance(items, tokens)` matches the Generator progress callback."""

    def __init__(self, progress: Any, task_id: Any) -> None:
        self._progress = progress
        self._task = task_id
        self._tokens = 0
        self._start = time.perf_counter()

    def advance(self, items: int, tokens: int) -> None:
        self._tokens += tokens
        if self._progress is None:
            return
        rate = self._tokens / max(time.perf_counter() - self._start, 1e-9)
        self._progress.update(self._task, advance=items, rate=f"{rate:,.0f} tok/s")

    def note(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, note=text)


class LadderProgress:
    """Bars on `console` (a rich Console), or nothing when console is None."""

    def __init__(self, console: Any = None) -> None:
        self._console = console
        self._progress: Any = None

    @contextmanager
    def running(self) -> Iterator[LadderProgress]:
        if self._console is None:
            yield self
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>12}"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[note]}"),
            console=self._console,
        )
        with self._progress:
            yield self
        self._progress = None

    def rung(self, name: str, total: int, done: int) -> RungBar:
        if self._progress is None:
            return RungBar(None, None)
        task_id = self._progress.add_task(name, total=total, completed=done, rate="", note="")
        return RungBar(self._progress, task_id)
