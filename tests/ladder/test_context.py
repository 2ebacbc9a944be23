"""What rungs share: the label set and the style references, read once per run."""

from __future__ import annotations

from pathlib import Path

import pytest

from ladder_fakes import context, make_task
from tunegate.errors import TunegateError
from tunegate.ladder.context import read_style_refs


def test_labels_by_training_frequency_then_name(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "label", docs=False)
    with (folder / "train.jsonl").open("a") as f:
        f.write('{"message": "parcel again", "ticket": "shipping"}\n')
    assert context(folder).labels == ("shipping", "billing", "login")
    assert context(make_task(tmp_path / "j", "json")).labels is None


def test_style_references_from_txt_or_jsonl(tmp_path: Path) -> None:
    (tmp_path / "refs.txt").write_text("Thanks for writing!\n\n  We fixed it.  \n")
    assert read_style_refs(tmp_path / "refs.txt") == ["Thanks for writing!", "We fixed it."]
    (tmp_path / "refs.jsonl").write_text('{"text": "Hello there"}\n{"text": "Bye"}\n')
    assert read_style_refs(tmp_path / "refs.jsonl") == ["Hello there", "Bye"]
    folder = make_task(tmp_path / "t", "text", docs=False, extra={"style_refs": "refs.txt"})
    (folder / "refs.txt").write_text("one\ntwo\n")
    assert context(folder).style_refs == ["one", "two"]


def test_style_reference_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(TunegateError, match=r"missing.txt: style references file not found"):
        read_style_refs(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("\n \n")
    with pytest.raises(TunegateError, match=r"empty.txt: no reference texts"):
        read_style_refs(tmp_path / "empty.txt")
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\n{"body": "no text"}\n')
    with pytest.raises(TunegateError, match=r"bad.jsonl:2: expected a `text` field"):
        read_style_refs(tmp_path / "bad.jsonl")
