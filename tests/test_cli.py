"""The command line: bad input is one line on stderr, a non-zero exit, and no traceback."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from tunegate.cli import config_help, parse_settings


def tunegate(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tunegate", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_version() -> None:
    out = tunegate("--version")
    assert out.returncode == 0 and out.stdout.startswith("tunegate ")


def test_init_then_reinit_errors(tmp_path: Path) -> None:
    assert tunegate("init", str(tmp_path / "t")).returncode == 0
    assert_one_line_error(tunegate("init", str(tmp_path / "t")), "already exists")


def test_init_from_malformed_data_names_line(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "a", "label": "x"}\n{"text": oops}\n')
    proc = tunegate("init", str(tmp_path / "t"), "--from", str(data))
    assert_one_line_error(proc, "d.jsonl:2: invalid JSON")
    assert not (tmp_path / "t" / "tunegate.yaml").exists()


def test_init_from_targets_that_cannot_share_a_schema_is_one_line(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    rows = ['{"text": "a", "output": {"intent": "x"}}', '{"text": "b", "output": "just x"}']
    data.write_text("\n".join(rows * 2) + "\n")
    proc = tunegate("init", str(tmp_path / "t"), "--from", str(data))
    assert_one_line_error(
        proc,
        "d.jsonl: no schema can be drawn: targets mix types at (top level): "
        "object in 2 rows (line 1, line 3), string in 2 rows (line 2, line 4)",
    )
    assert not (tmp_path / "t").exists()


def test_debug_shows_traceback(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "tunegate.yaml").write_text("name: t\n")
    proc = tunegate("init", str(tmp_path / "t"), "--debug")
    assert proc.returncode != 0 and "Traceback" in proc.stderr


class _Model(BaseModel):
    lr: float = Field(default=0.1, description="Peak learning rate.")
    schedule: Literal["cosine", "linear"] = Field(default="cosine", description="The schedule.")


@dataclass
class _Options:
    limit: int | None = field(default=None, metadata={"help": "Items to evaluate."})


def test_option_help_comes_from_the_settings_definition() -> None:
    assert config_help(_Model, "lr") == "Peak learning rate."
    assert config_help(_Model, "schedule") == "The schedule. One of: cosine, linear."
    assert config_help(_Options, "limit") == "Items to evaluate."
    with pytest.raises(KeyError):
        config_help(_Options, "nope")


def test_set_values_are_read_as_yaml() -> None:
    assert parse_settings(["a=0.01", "b=true", "c=[x, y]", "d=", "e=k=v"]) == {
        "a": 0.01,
        "b": True,
        "c": ["x", "y"],
        "d": None,
        "e": "k=v",
    }
