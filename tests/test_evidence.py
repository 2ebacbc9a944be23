"""The evidence layer driven through the README's usual path: a full diagnose, `tunegate train`,
then `tunegate diagnose --rungs finetuned` as a second run, then `tunegate report`. The report's
decision must rest on every rung of both runs, never on the newest run alone.

Generation is scripted by request (no model runs); training is real, on the tiny random Llama.
Slow tier: two diagnoses, a training run and two report subprocesses take minutes on 2 cores.
"""

from __future__ import annotations

import html
import json
import shutil
import zlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from ladder_fakes import BagOfWords, ScriptedGenerator
from report_store import run_cli, tiny_demo_task
from tunegate.evidence import collect
from tunegate.ladder import runner
from tunegate.ladder.result import prompt_ceiling
from tunegate.signals import primary_metric
from tunegate.spec import load_task
from tunegate.store import Store
from tunegate.train import api as train_api
from tunegate.web.app import create_app

FAST = {"steps": 2, "batch_size": 4, "lr": 2e-2, "eval_every": 2, "checkpoint_every": 2,
        "patience": 0, "val_fraction": 0.1, "val_max": 8, "layers": 1, "warmup": 0,
        "schedule": "constant", "threads": 1}  # fmt: skip
PROMPT_RUNGS = ["zero_shot", "constrained", "few_shot_constrained"]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def usual_path(
    tmp_path_factory: pytest.TempPathFactory, tiny_llama: Path
) -> tuple[Path, dict[str, Any]]:
    """The demo task after the usual path; returns its folder and `report --json`'s payload.

    Scripted quality: zero_shot gets urgency and product wrong on every item, constrained on
    every other item, few_shot_constrained (its prompt carries examples) and the adapter answer
    right. So a prompt rung and the fine-tuned rung both reach the accuracy target."""
    _, folder, expected = tiny_demo_task(tmp_path_factory.mktemp("usual"), tiny_llama)

    def answer(req: Any) -> str:
        message = req.messages[-1]["content"]
        target = expected[message]
        few_shot = len(req.messages) > 2
        right = (
            req.adapter is not None
            or few_shot
            or (req.constraint is not None and zlib.crc32(message.encode()) % 2 == 0)
        )
        return json.dumps(target if right else {**target, "urgency": "low", "product": "none"})

    gen = ScriptedGenerator(answer)
    generators = runner.Generators(local=lambda: gen)
    runner.diagnose(
        folder,
        runner.DiagnoseOptions(rungs=PROMPT_RUNGS, limit=20),
        generators=generators,
        embedder=BagOfWords(),
    )
    train_api.train(folder, "quick", FAST, show_progress=False)
    runner.diagnose(
        folder,
        runner.DiagnoseOptions(rungs=["finetuned"], limit=20),
        generators=generators,
        embedder=BagOfWords(),
    )
    out = folder.parent / "report.json"
    proc = run_cli(
        "report", str(folder), "--out", str(folder.parent / "r.html"), "--json", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    return folder, json.loads(out.read_text())


def test_the_report_rests_on_every_rung_of_the_usual_path(
    usual_path: tuple[Path, dict[str, Any]],
) -> None:
    folder, payload = usual_path
    decision = payload["decision"]
    assert sorted(r["rung"] for r in decision["rungs"]) == sorted([*PROMPT_RUNGS, "finetuned"])
    assert len(payload["runs"]["diagnose"]) == 2
    task, folder = load_task(folder)
    with Store(folder) as store:
        ev = collect(task, folder, store)
    assert sorted(r.rung for r in ev.rungs) == sorted([*PROMPT_RUNGS, "finetuned"])
    assert not ev.excluded
    ceiling = prompt_ceiling(ev.rungs, primary_metric(task))
    assert ceiling is not None and ceiling.rung == "few_shot_constrained"
    assert decision["ceiling"] == "few_shot_constrained"
    status = {r["rung"]: r["overall"] for r in decision["rungs"]}
    assert status["few_shot_constrained"] != "fails" and status["finetuned"] != "fails"
    assert status["zero_shot"] == "fails"
    # the report says which prompt the adapter was trained on and is sent (quick: compact), why
    sent = [n for n in payload["notes"] if "was trained on, and is sent, the compact" in n]
    assert len(sent) == 1 and "set by the run's settings (prompt: compact)" in sent[0]
    assert str(escape(sent[0])) in (folder.parent / "r.html").read_text()  # as jinja2 writes it
    headline = decision["headline"]
    assert "no prompt rung meets" not in headline
    assert "both few_shot_constrained and the fine-tuned model" in headline
    with TestClient(create_app(folder.parent)) as client:  # the web UI's task page
        page = client.get(f"/tasks/{folder.name}")
    assert page.status_code == 200 and html.escape(headline, quote=False) in page.text


def test_a_third_run_on_other_items_is_named_and_never_paired(
    usual_path: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(usual_path[0], folder)
    gen = ScriptedGenerator(lambda req: "{}")
    runner.diagnose(
        folder,
        runner.DiagnoseOptions(rungs=["rag"], limit=10),
        generators=runner.Generators(local=lambda: gen),
        embedder=BagOfWords(),
    )
    proc = run_cli("report", str(folder), "--json", str(tmp_path / "again.json"))
    assert proc.returncode == 0, proc.stderr
    payload = json.loads((tmp_path / "again.json").read_text())
    assert "rag" not in [r["rung"] for r in payload["decision"]["rungs"]]
    excluded = payload["evidence"]["excluded"]
    assert [e["rung"] for e in excluded] == ["rag"]
    assert excluded[0]["command"].endswith(f"diagnose {folder} --limit 20 --rungs rag")
    pairs = {(c["a"], c["b"]) for c in payload["evidence"]["comparisons"]}
    assert not any("rag" in p for p in pairs)
