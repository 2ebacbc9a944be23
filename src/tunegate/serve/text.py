"""Text as it is generated, one token at a time: what may be streamed yet, and where a stop
string ends the answer.

The token ids so far are decoded whole at each step (answers are short; this stays exact where
an incremental decoder would have to guess at merges). Text that could still change is held
back: a trailing partial UTF-8 character (decoded as U+FFFD) and a tail that could be the start
of a stop string.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["TextTracker"]


class TextTracker:
    """Follow one answer's tokens; say what new text is safe to send and whether a stop string hit."""

    def __init__(self, decode: Callable[[list[int]], str], stop: Sequence[str] = ()) -> None:
        self._decode = decode
        self.stop = tuple(s for s in stop if s)
        self.tokens: list[int] = []
        self.sent = ""  # text already handed out by `push`
        self.cut: str | None = None  # the answer's final text when a stop string ended it

    def push(self, token: int) -> str:
        """Add a token; return the new text that is now safe to send ('' when none)."""
        self.tokens.append(token)
        text = self._decode(self.tokens)
        if self.stop:
            start = max(0, len(self.sent) - max(len(s) for s in self.stop))
            hits = [i for i in (text.find(s, start) for s in self.stop) if i >= 0]
            if hits:
                self.cut = text[: min(hits)]
                return self._advance(self.cut)
        hold = 1 if text.endswith("\ufffd") else 0
        for s in self.stop:
            for k in range(min(len(s) - 1, len(text)), 0, -1):
                if text.endswith(s[:k]):
                    hold = max(hold, k)
                    break
        return self._advance(text[: len(text) - hold])

    def _advance(self, safe: str) -> str:
        if len(safe) <= len(self.sent) or not safe.startswith(self.sent):
            return ""
        new, self.sent = safe[len(self.sent) :], safe
        return new
