"""Training the real embedded model (SmolLM2-135M-Instruct) on real banking77 rows, briefly."""

from __future__ import annotations

import csv
import io
import os
import random
from pathlib import Path

import pytest

from tunegate.store import Store
from tunegate.train import latest_adapter, train

DATA = Path(
    os.environ.get("TUNEGATE_DATASETS", Path(__file__).resolve().parents[3] / "shared" / "datasets")
)


@pytest.mark.slow  # ten steps of the 135M model: 30-90 s on a busy 2-core machine
def test_quick_preset_learns_banking77_intents(tmp_path: Path) -> None:
    source = DATA / "banking77" / "train.csv"
    if not source.exists():
        pytest.skip(f"shared data set banking77 not found at {source.parent}")
    rows = list(csv.DictReader(io.StringIO(source.read_text(encoding="utf-8"))))
    random.Random(0).shuffle(rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["text", "category"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows[:96])
    (tmp_path / "train.csv").write_text(out.getvalue(), encoding="utf-8")
    (tmp_path / "tunegate.yaml").write_text(
        "name: b77\ninputs: [text]\n"
        "prompt:\n  system: Answer with the intent label only.\n  user: '{text}'\n"
        "output:\n  type: label\n  field: category\n"
        "data:\n  train: train.csv\n  test_fraction: 0.1\n",
        encoding="utf-8",
    )
    result = train(
        tmp_path, "quick", {"steps": 10, "eval_every": 5, "val_fraction": 0.2}, show_progress=False
    )
    store = Store(tmp_path)
    losses = [v for _, _, v in store.metrics(result.run_id, "loss")]
    evals = [v for _, _, v in store.metrics(result.run_id, "eval_loss")]
    store.close()
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
    assert evals[-1] < evals[0]
    assert latest_adapter(tmp_path) == (result.run_id, result.adapter)
