"""The task's documents (a folder of .md/.txt files) cut into chunks small enough to retrieve.

Paragraphs (split at blank lines) are packed into chunks of at most `max_chars`; a Markdown
heading stays with the paragraphs under it, and a chunk that starts below a heading repeats it
so a retrieved chunk still says what it is about.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tunegate.errors import TunegateError

DOC_SUFFIXES = (".md", ".txt", ".markdown")


@dataclass(frozen=True)
class Chunk:
    source: str  # file name relative to the docs folder
    text: str


def read_docs(folder: Path) -> list[tuple[str, str]]:
    """(relative name, text) for every document under `folder`, in name order."""
    if not folder.is_dir():
        raise TunegateError("docs folder not found (task field `docs`)", str(folder))
    out = []
    for f in sorted(folder.rglob("*")):
        if f.is_file() and f.suffix.lower() in DOC_SUFFIXES:
            try:
                out.append((str(f.relative_to(folder)), f.read_text(encoding="utf-8")))
            except UnicodeDecodeError as exc:
                raise TunegateError(f"not UTF-8 text (byte {exc.start})", str(f)) from exc
    return out


def _paragraphs(text: str) -> list[str]:
    paras, cur = [], []
    for line in text.splitlines():
        if line.strip():
            cur.append(line.rstrip())
        elif cur:
            paras.append("\n".join(cur))
            cur = []
    if cur:
        paras.append("\n".join(cur))
    return paras


def _split_long(para: str, max_chars: int) -> list[str]:
    """A paragraph longer than max_chars, cut at line then word boundaries."""
    pieces, cur = [], ""
    for word in para.replace("\n", " \n ").split(" "):
        if cur and len(cur) + 1 + len(word) > max_chars:
            pieces.append(cur.strip())
            cur = ""
        cur = f"{cur} {word}" if cur else word
    if cur.strip():
        pieces.append(cur.strip())
    return [" ".join(p.split()) for p in pieces]


def chunk_text(text: str, max_chars: int = 600) -> list[str]:
    """Pack one document's paragraphs into chunks, repeating the current heading."""
    chunks: list[str] = []
    heading = ""
    cur: list[str] = []

    def flush() -> None:
        if cur and any(not p.startswith("#") for p in cur):
            chunks.append("\n\n".join(cur))
        cur.clear()

    for para in _paragraphs(text):
        if para.startswith("#"):
            flush()
            heading = para.splitlines()[0]
            cur.append(para)
            continue
        for piece in _split_long(para, max_chars) if len(para) > max_chars else [para]:
            size = sum(len(p) + 2 for p in cur)
            if cur and size + len(piece) > max_chars:
                flush()
                if heading:
                    cur.append(heading)
            cur.append(piece)
    flush()
    return chunks


def chunk_docs(docs: list[tuple[str, str]], max_chars: int = 600) -> list[Chunk]:
    return [Chunk(name, c) for name, text in docs for c in chunk_text(text, max_chars)]
