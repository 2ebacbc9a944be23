"""Rung 4, retrieval: the task's documents, chunked and embedded; the top-k chunks nearest the
item's input go into the system prompt. Decoding is constrained when the output allows it, so
this rung measures what the documents add to content, not format."""

from __future__ import annotations

from collections.abc import Sequence

from tunegate.data.examples import Example, input_text
from tunegate.ladder.base import Rung
from tunegate.ladder.context import Context
from tunegate.ladder.docs import Chunk
from tunegate.ladder.prompts import query_messages, request, unconstrainable
from tunegate.models.base import GenRequest

DOCS_HEADER = "Relevant excerpts from the reference documents:"


def docs_block(chunks: Sequence[Chunk]) -> str:
    parts = [f"[{i}] ({c.source})\n{c.text}" for i, c in enumerate(chunks, 1)]
    return "\n\n".join([DOCS_HEADER, *parts])


def build(ctx: Context, examples: Sequence[Example]) -> list[GenRequest]:
    hits = ctx.doc_index.search([input_text(ex) for ex in examples], ctx.task.ladder.rag_k)
    constrained = unconstrainable(ctx) is None
    return [
        request(
            ctx, query_messages(ctx, ex, docs_block([ctx.doc_chunks[j] for j in h])), constrained
        )
        for ex, h in zip(examples, hits, strict=True)
    ]


def skip(ctx: Context) -> str | None:
    if not ctx.task.docs:
        return "no docs folder in the task (set `docs:`)"
    if not ctx.doc_chunks:
        return f"the docs folder {ctx.task.docs!r} holds no .md/.txt text"
    return None


RUNG = Rung(
    name="rag",
    summary="top-k document chunks in the prompt, constrained when the output allows",
    skip=skip,
    build=build,
    parent="constrained",
)
