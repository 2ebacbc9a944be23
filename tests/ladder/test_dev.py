"""The optimized rung's dev split: from train only, stratified, seeded; the halving levels."""

from __future__ import annotations

from pathlib import Path

import pytest

from ladder_fakes import LABELS, context, make_label_task
from tunegate.errors import TunegateError
from tunegate.ladder import dev


def test_dev_is_carved_from_train_stratified_and_seeded(tmp_path: Path) -> None:
    ctx = context(make_label_task(tmp_path))
    pool, held = dev.carve_dev(ctx.task, ctx.train, 12, 0.5, seed=0)
    assert len(held) == 12 and len(pool) == 12
    assert {ex.id for ex in held} <= {ex.id for ex in ctx.train}
    assert not {ex.id for ex in held} & {ex.id for ex in pool}
    assert [ex.target for ex in held[:3]] == sorted(LABELS)  # every prefix is balanced
    assert dev.carve_dev(ctx.task, ctx.train, 12, 0.5, seed=0)[1] == held
    assert dev.carve_dev(ctx.task, ctx.train, 12, 0.5, seed=1)[1] != held
    with pytest.raises(TunegateError, match="too few labelled training rows"):
        dev.carve_dev(ctx.task, ctx.train[:2], 12, 0.5, seed=0)


def test_levels_screen_a_quarter_then_double() -> None:
    assert dev.levels(40) == [10, 20, 40]
    assert dev.levels(12) == [8, 12]
    assert dev.levels(5) == [5]
