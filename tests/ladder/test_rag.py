"""Retrieval: the top-k document chunks in the system prompt, decoding constrained."""

from __future__ import annotations

from pathlib import Path

from ladder_fakes import SCHEMA, BagOfWords, context, make_task
from tunegate.ladder import rag
from tunegate.ladder.rungs import RUNGS
from tunegate.models.base import Constraint


def test_top_chunk_goes_into_the_system_prompt(json_task: Path, bow: BagOfWords) -> None:
    ctx = context(json_task, bow)
    (req,) = rag.build(ctx, ctx.dataset.test[1:2])  # "password reset email never arrives for login"
    assert req.messages == [
        {
            "role": "system",
            "content": "Triage the support message.\n\n"
            "Relevant excerpts from the reference documents:\n\n"
            "[1] (products.txt)\nThe Acme Portal is where customers login.\n\n"
            "Password resets expire after 1 hour.",
        },
        {"role": "user", "content": "Message: password reset email never arrives for login"},
    ]
    assert req.constraint == Constraint(json_schema=SCHEMA)
    (other,) = rag.build(ctx, ctx.dataset.test[0:1])  # a double charge on an invoice
    assert "[1] (policy.md)\n# Urgency policy\n\nA double charge" in other.messages[0]["content"]


def test_skip_reasons(tmp_path: Path) -> None:
    no_docs = context(make_task(tmp_path / "a", "json", docs=False))
    assert RUNGS["rag"].skip(no_docs) == "no docs folder in the task (set `docs:`)"
    folder = make_task(tmp_path / "b", "json")
    for f in (folder / "docs").iterdir():
        f.unlink()
    (folder / "docs" / "image.png").write_bytes(b"\x89PNG")
    assert RUNGS["rag"].skip(context(folder)) == "the docs folder 'docs' holds no .md/.txt text"
