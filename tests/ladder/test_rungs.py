"""Which rungs run: --rungs, else the task's ladder.rungs, else all that apply, in ladder order."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ladder_fakes import context, make_task
from tunegate.errors import TunegateError
from tunegate.ladder import RUNGS, parse_rungs, select
from tunegate.spec import RUNG_NAMES


def test_default_is_every_rung_that_applies_cheapest_first(json_task: Path) -> None:
    run, skipped = select(context(json_task))
    assert [r.name for r in run] == [
        "zero_shot", "few_shot_fixed", "few_shot", "constrained", "few_shot_constrained", "rag",
    ]  # fmt: skip
    assert set(skipped) == {"optimized", "finetuned", "remote"}
    assert skipped["optimized"].startswith("runs only when named")  # a search: opt-in
    assert tuple(RUNGS) == RUNG_NAMES


def test_text_task_without_docs_skips_what_cannot_apply(tmp_path: Path) -> None:
    run, skipped = select(context(make_task(tmp_path, "text", docs=False)))
    assert [r.name for r in run] == ["zero_shot", "few_shot_fixed", "few_shot"]
    assert skipped["rag"] == "no docs folder in the task (set `docs:`)"
    assert skipped["constrained"].startswith("free-text output has no schema")


def test_task_file_choice_and_command_line_choice(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "json", extra={"ladder": {"rungs": ["rag", "zero_shot"]}})
    ctx = context(folder)
    assert [r.name for r in select(ctx)[0]] == ["zero_shot", "rag"]  # ladder order, not file order
    assert [r.name for r in select(ctx, ["constrained"])[0]] == ["constrained"]


def test_rungs_option_is_checked() -> None:
    assert parse_rungs(None) is None
    assert parse_rungs(" zero_shot, rag ,") == ["zero_shot", "rag"]
    with pytest.raises(
        TunegateError, match=r"--rungs: unknown rung 'fewshot' \(did you mean 'few_shot'\?\)"
    ):
        parse_rungs("zero_shot,fewshot")


def test_unknown_rung_in_the_task_file_is_one_line(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "json", extra={"ladder": {"rungs": ["zero-shot"]}})
    with pytest.raises(
        TunegateError, match=r"ladder: unknown rung 'zero-shot' \(did you mean 'zero_shot'\?\)"
    ):
        context(folder)


def test_cli_rejects_an_unknown_rung_in_one_line(json_task: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tunegate", "diagnose", str(json_task), "--rungs", "zero_shot,ragg"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: --rungs: unknown rung 'ragg' (did you mean 'rag'?); expected one of zero_shot, "
        "few_shot_fixed, few_shot, constrained, few_shot_constrained, rag, optimized, finetuned, "
        "remote"
    ]
