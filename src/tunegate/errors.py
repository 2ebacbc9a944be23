"""The one error type users see: a single line naming the file, the place and what was expected."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class TunegateError(Exception):
    """A problem in the user's input or environment, reported as one line without a traceback.

    `where` is a file path, optionally with `:line` or `: field`, so the message reads
    ``tickets.jsonl:14: expected a JSON object, got a list``.
    """

    def __init__(self, message: str, where: str | None = None) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}" if where else message)


def suggest(word: str, options: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest of `options` to a mistyped `word`, else ""."""
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
