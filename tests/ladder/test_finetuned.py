"""Fine-tuned: the zero-shot prompt, the newest trained adapter from the store, constrained."""

from __future__ import annotations

from pathlib import Path

from ladder_fakes import SCHEMA, context
from tunegate.ladder import finetuned, zero_shot
from tunegate.ladder.rungs import RUNGS
from tunegate.models.base import Constraint
from tunegate.store import Store


def _train_run(folder: Path, adapter: Path, status: str = "done") -> None:
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text("{}")
    store = Store(folder)
    rid = store.start_run("train", {})
    store.put_artifact(rid, "adapter", adapter)
    store.set_status(rid, status)
    store.close()


def test_skipped_until_an_adapter_exists(json_task: Path, tmp_path: Path) -> None:
    reason = "no trained adapter in the store yet (run `tunegate train` first)"
    assert RUNGS["finetuned"].skip(context(json_task)) == reason
    _train_run(json_task, tmp_path / "unfinished", status="interrupted")
    assert RUNGS["finetuned"].skip(context(json_task)) == reason


def test_newest_finished_adapter_with_constraint(json_task: Path, tmp_path: Path) -> None:
    _train_run(json_task, tmp_path / "old")
    _train_run(json_task, tmp_path / "new")
    _train_run(json_task, tmp_path / "crashed", status="interrupted")
    ctx = context(json_task)
    reqs = finetuned.build(ctx, ctx.dataset.test)
    assert RUNGS["finetuned"].skip(ctx) is None
    assert {r.adapter for r in reqs} == {str((tmp_path / "new").resolve())}
    assert [r.messages for r in reqs] == [
        r.messages for r in zero_shot.build(ctx, ctx.dataset.test)
    ]
    assert all(r.constraint == Constraint(json_schema=SCHEMA) for r in reqs)
