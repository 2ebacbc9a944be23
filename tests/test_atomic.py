"""Atomic writes leave the old content when the new one fails halfway."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunegate import atomic


def test_write_text_replaces(tmp_path: Path) -> None:
    f = tmp_path / "a" / "f.txt"
    atomic.write_text(f, "one")
    atomic.write_text(f, "two")
    assert f.read_text() == "two"
    assert [p.name for p in f.parent.iterdir()] == ["f.txt"]


def test_directory_is_all_or_nothing(tmp_path: Path) -> None:
    d = tmp_path / "ckpt"
    with atomic.directory(d) as tmp:
        (tmp / "x").write_text("1")
    with pytest.raises(OSError), atomic.directory(d) as tmp:
        (tmp / "x").write_text("2")
        raise OSError("disk full")
    assert (d / "x").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
