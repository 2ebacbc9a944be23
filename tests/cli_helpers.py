"""Run the `tunegate` CLI in-process, as a user would, and return (exit code, stdout, stderr)."""

from __future__ import annotations

import sys

import pytest

from tunegate.cli import main


def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["tunegate", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err
