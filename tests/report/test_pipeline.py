"""The report on a store the real stages filled: `tunegate check`, a learning curve of LoRA runs
on the tiny random Llama (`tunegate.train`), and the ladder's runner after each (its answers
scripted by request, so no generation model runs), then `tunegate report`.

Skips until the ladder and training packages are present.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from report_store import run_cli, tiny_demo_task
from tunegate.store import Store

FAST = {"steps": 4, "batch_size": 4, "lr": 2e-2, "eval_every": 2, "checkpoint_every": 4,
        "patience": 0, "val_fraction": 0.1, "val_max": 16, "layers": 1, "warmup": 0,
        "schedule": "constant", "threads": 1}  # fmt: skip


@pytest.mark.slow
def test_report_from_the_real_stages(tmp_path: Path, tiny_llama: Path) -> None:
    import ladder_fakes as fakes
    from tunegate.ladder import runner
    from tunegate.train import api as train_api

    _, folder, expected = tiny_demo_task(tmp_path, tiny_llama)
    quality: dict[str, int] = {}  # adapter path -> answer every n-th item right

    def answer(req: Any) -> str:
        target = expected[req.messages[-1]["content"]]
        n = quality.get(str(req.adapter), 0) if req.adapter else 0
        right = n and hash(req.messages[-1]["content"]) % n == 0
        wrong = {**target, "urgency": "normal", "product": "none"}
        return json.dumps(target if right else wrong)

    gen = fakes.ScriptedGenerator(answer)
    tag = "curve-pipeline"
    for fraction, every in ((0.5, 3), (1.0, 1)):
        result = train_api.train(folder, "quick", {**FAST, "fraction": fraction}, curve=tag,
                                 show_progress=False)  # fmt: skip
        quality[str(result.adapter.resolve())] = every
        runner.diagnose(
            folder,
            runner.DiagnoseOptions(rungs=["zero_shot", "constrained", "finetuned"], limit=12),
            generators=runner.Generators(local=lambda: gen),
            embedder=fakes.BagOfWords(),
        )
    out = tmp_path / "report.html"
    proc = run_cli("report", str(folder), "--out", str(out), "--json", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout
    payload = json.loads((tmp_path / "r.json").read_text())
    store = Store(folder)
    diag = store.latest("diagnose")
    trains = [r.id for r in reversed(store.runs("train"))]
    store.close()
    assert diag is not None and payload["runs"]["diagnose"] == [diag.id]
    assert payload["runs"]["train"] == trains[-1] and payload["runs"]["curve"] == tag
    rungs = [r["rung"] for r in payload["evidence"]["rungs"]]
    assert rungs[:3] == ["zero_shot", "constrained", "finetuned"]
    assert payload["decision"]["chosen"] == "finetuned"
    curve = payload["evidence"]["training"]["curve"]
    assert len(curve) == 2 and curve[0]["n_train"] < curve[1]["n_train"]
    assert curve[0]["value"] < curve[1]["value"] == 1.0
    page = out.read_text()
    for key in ("signals", "latency", "learning-curve", "loss"):
        assert f'id="plot-{key}"' in page
