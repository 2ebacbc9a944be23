"""Document chunking for the retrieval rung."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunegate.errors import TunegateError
from tunegate.ladder.docs import chunk_docs, chunk_text, read_docs


def test_paragraphs_are_packed_and_headings_repeated() -> None:
    text = (
        "# Plans\n\nBasic costs 5.\n\nPro costs 9.\n\n## Support\n\n"
        + "word " * 30
        + "\n\nlast one"
    )
    chunks = chunk_text(text, max_chars=60)
    assert chunks[0] == "# Plans\n\nBasic costs 5.\n\nPro costs 9."
    assert chunks[1].startswith("## Support\n\nword word")
    assert all(len(c) <= 60 + len("## Support") + 2 for c in chunks)
    assert chunks[-1].endswith("last one")
    assert "".join(chunks).count("word") == 30  # nothing lost when a long paragraph is cut


def test_read_docs_in_name_order_and_errors(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("second")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.md").write_text("first")
    (tmp_path / "skip.pdf").write_bytes(b"%PDF")
    assert read_docs(tmp_path) == [("b.txt", "second"), ("sub/a.md", "first")]
    assert [c.source for c in chunk_docs(read_docs(tmp_path))] == ["b.txt", "sub/a.md"]
    (tmp_path / "bad.md").write_bytes(b"\xff\xfe")
    with pytest.raises(TunegateError, match=r"bad.md: not UTF-8 text"):
        read_docs(tmp_path)
    with pytest.raises(TunegateError, match="docs folder not found"):
        read_docs(tmp_path / "missing")
