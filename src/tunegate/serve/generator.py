"""The local generator as the server needs it: raw-text prompts for /v1/completions, and each
request's row visible while its batch decodes, so a request is answered as soon as its own row
ends rather than when the whole batch does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tunegate.errors import TunegateError
from tunegate.models.base import Generation, GenRequest, Progress
from tunegate.models.decode import OnToken, Row
from tunegate.models.local import LocalGenerator

__all__ = ["ENDED", "RawRequest", "ServeGenerator"]

ENDED = ("stop", "length", "grammar")  # a row's own end (not "cancelled")


@dataclass(frozen=True)
class RawRequest(GenRequest):
    """A /v1/completions request: `prompt` is tokenized as is, without the chat template."""

    prompt: str = ""


class ServeGenerator(LocalGenerator):
    """`LocalGenerator` plus raw prompts (`RawRequest`) and `snapshot` of rows mid-batch."""

    rows: dict[int, Row]

    def generate(
        self,
        requests: Sequence[GenRequest],
        progress: Progress | None = None,
        on_token: OnToken | None = None,
    ) -> list[Generation]:
        self.rows = {}
        try:
            return super().generate(requests, progress, on_token)
        finally:
            self.rows = {}

    def finish(self, index: int) -> str | None:
        """Why request `index`'s row ended (None: it runs, or is not in this call)."""
        row = self.rows.get(index)
        return None if row is None else row.finish

    def snapshot(self, index: int) -> tuple[Generation, str | None] | None:
        """Request `index` of the running `generate` call as decoded so far, with its row's
        finish ("stop", "length", "grammar", "cancelled" or None while it runs)."""
        row = self.rows.get(index)
        if row is None:
            return None
        return self._generation(row, None), row.finish

    def _row(self, index: int, req: GenRequest, ids: list[int]) -> Row:
        row = super()._row(index, req, ids)
        self.rows[index] = row
        return row

    def _encode(self, req: GenRequest) -> tuple[list[int], str | None]:
        if not isinstance(req, RawRequest):
            return super()._encode(req)
        if req.adapter is not None and req.adapter not in self.adapters:
            raise TunegateError(f"unknown adapter {req.adapter!r}")
        ids = list(self.tokenizer(req.prompt, add_special_tokens=True)["input_ids"])
        if not ids:
            return ids, "the prompt is empty"
        return ids, self._over_context(ids, req)
