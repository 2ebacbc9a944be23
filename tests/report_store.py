"""Helpers for the report tests: a run store filled as check, train (a learning curve) and diagnose fill it, for the report tests.

The demo task (Kestrel Home tickets) is copied with its test file cut to 40 rows, the first of
which carries a planted `<script>`. `tunegate check` runs for real. Training and diagnose
records are written in the shapes `tunegate.train` and `tunegate.ladder` store (run config,
per-step losses, adapter artifact, summary; one `rung.<name>` result per rung and a `summary`),
with each rung's answers made from the expected tickets by the failure modes seen on the
embedded model (prompt-only invents fields; constrained gets the format right and the content
wrong; the adapter mostly right), and every figure measured by the real signals code.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import yaml

from conftest import copy_example
from tunegate import signals
from tunegate.check.run import run_check
from tunegate.data.split import load_dataset
from tunegate.fingerprint import task_fingerprint
from tunegate.ladder.evaluate import compare_rungs
from tunegate.ladder.result import DiagnoseResult, RungResult, save_rung, save_summary
from tunegate.outputs import ItemOutput, RungOutputs
from tunegate.spec import Task, load_task, output_schema
from tunegate.store import Store

N_ITEMS = 40
PLANTED = '<script>alert("pwned")</script> my router is down'
CATEGORIES = [
    "outage",
    "hardware",
    "setup",
    "billing",
    "account",
    "security",
    "shipping",
    "feedback",
]
URGENCIES = ["low", "normal", "high", "critical"]

# rung -> (P(category right), P(urgency right), P(product right), P(summary exact))
QUALITY = {
    "constrained": (0.55, 0.35, 0.5, 0.1),
    "few_shot_constrained": (0.75, 0.5, 0.75, 0.3),
    "rag": (0.7, 0.7, 0.8, 0.3),
    "remote": (0.97, 0.9, 0.97, 0.6),
}
TUNED = {0.25: (0.8, 0.6, 0.8, 0.4), 0.5: (0.9, 0.75, 0.9, 0.5), 1.0: (0.97, 0.9, 0.97, 0.7)}
# rung -> (input tokens, median latency ms, batch requests/s; None = remote)
SHAPE: dict[str, tuple[int, float, float | None]] = {
    "zero_shot": (170, 900.0, 1.6),
    "few_shot": (720, 1900.0, 0.7),
    "constrained": (170, 1000.0, 1.5),
    "few_shot_constrained": (720, 2000.0, 0.65),
    "rag": (560, 1700.0, 0.8),
    "finetuned": (170, 1050.0, 1.45),
    "remote": (150, 650.0, None),
}


def _answer(rung: str, target: dict[str, Any], rnd: random.Random, q: tuple[float, ...]) -> str:
    if rung in ("zero_shot", "few_shot"):
        if rnd.random() < 0.4:
            return f"Sure! Category: {target['category'].title()}. This looks urgent."
        return json.dumps(
            {
                "issue_type": target["category"].title(),
                "priority": rnd.choice(["High", "Medium"]),
                "device": target["product"],
                "summary": target["summary"],
            }
        )
    pc, pu, pp, ps = q
    out = {
        "category": target["category"] if rnd.random() < pc else rnd.choice(CATEGORIES),
        "urgency": target["urgency"] if rnd.random() < pu else "normal",
        "product": target["product"] if rnd.random() < pp else "none",
        "summary": target["summary"] if rnd.random() < ps else f"{target['product']}: problem",
    }
    return json.dumps(out)


def rung_outputs(
    rung: str, examples: list[Any], quality: tuple[float, ...] | None, seed: int
) -> RungOutputs:
    rnd = random.Random(f"{rung}-{seed}")
    n_in, median, rps = SHAPE[rung]
    items = []
    for ex in examples:
        text = _answer(rung, json.loads(ex.target), rnd, quality or (0, 0, 0, 0))
        items.append(
            ItemOutput(
                example_id=ex.id,
                expected=ex.target,
                text=text,
                input_tokens=n_in + len(ex.inputs["message"].split()),
                output_tokens=len(text.split()) * 2,
            )
        )
    timed = N_ITEMS // 2
    lat = [median * rnd.lognormvariate(0, 0.25) for _ in range(timed)]
    return RungOutputs(
        rung=rung,
        model="remote:http://127.0.0.1:9/v1:teacher" if rps is None else "SmolLM2-135M-Instruct",
        items=items,
        remote=rps is None,
        latencies_ms=lat,
        ttft_ms=[x * 0.2 for x in lat],
        throughput_tok_s=None if rps is None else rps * 40,
        requests_per_s=rps,
        wall_s=N_ITEMS / (rps or 5.0),
    )


def write_diagnose(
    store: Store,
    task: Task,
    schema: dict[str, Any] | None,
    outputs: list[RungOutputs],
    embedder: Any,
    skipped: dict[str, str] | None = None,
    *,
    folder: Path | None = None,
    limit: int | None = N_ITEMS,
    adapter_run: str | None = None,
) -> str:
    """Store a finished diagnose through the ladder's own writer (`save_rung`, `save_summary`),
    every figure and paired test measured by the real signals code."""
    ids = [it.example_id for it in outputs[0].items]
    config = {"task": task.name, "rungs": [o.rung for o in outputs], "skipped": skipped or {}}
    run_id = store.start_run("diagnose", {**config, "limit": limit, "items": len(ids)})
    fingerprint = task_fingerprint(task, folder or store.root.parent)
    results = []
    for o in outputs:
        s = signals.score(task, schema, o, embedder=embedder)
        kind = "remote" if o.remote else ("finetuned" if o.rung == "finetuned" else "prompt")
        res = RungResult(
            o.rung, f"the {o.rung} rung", o, [{"role": "user", "content": "…"}], o.wall_s,
            metrics=s.metrics, targets=dict(signals.targets_met(task, s.metrics)),
            not_measured=s.not_measured, kind=kind, run_id=run_id, created=time.time(),
            item_ids=ids, limit=limit, fingerprint=fingerprint, model=o.model,
            adapter_run=adapter_run if kind == "finetuned" else None,
            item_scores=dict(s.scores),
        )  # fmt: skip
        save_rung(store, run_id, res)
        results.append(res)
    primary = signals.primary_metric(task)
    result = DiagnoseResult(run_id, task.name, ids, results, skipped or {})
    result.primary = primary
    result.comparisons = [c.to_json() for c in compare_rungs(task, schema, results, primary)]
    result.wall_s = sum(o.wall_s for o in outputs)
    save_summary(store, result)
    time.sleep(0.01)  # what follows is strictly newer
    return run_id


def write_train(
    store: Store, folder: Path, fraction: float, curve: str | None, steps: int = 60
) -> str:
    """Store a finished training run as `tunegate.train.train` does."""
    examples = int(800 * fraction)
    record = {"preset": "quick", "task": "support-tickets", "examples": examples,
              "val_examples": 100, "fraction": fraction, "curve": curve}  # fmt: skip
    run_id = store.start_run("train", record)
    rnd = random.Random(f"loss-{fraction}")
    best = None
    for step in range(1, steps + 1):
        values = {"loss": 2.6 * (step**-0.45) + rnd.uniform(-0.05, 0.05), "lr": 2e-4,
                  "tokens_per_s": 900 + rnd.uniform(-40, 40)}  # fmt: skip
        if step % 10 == 0:
            values["eval_loss"] = 2.5 * (step**-0.4) + 0.3 / fraction**0.5
            best = values["eval_loss"] if best is None else min(best, values["eval_loss"])
        store.log_metrics(run_id, step, values)
    adapter = store.root / "train" / run_id / "adapter"
    adapter.mkdir(parents=True)
    store.put_artifact(run_id, "adapter", adapter)
    seconds = 240.0 * fraction + 30
    summary = {"run_id": run_id, "steps": steps, "total_steps": steps, "train_examples": examples,
               "val_examples": 100, "final_loss": values["loss"], "best_eval_loss": best,
               "best_step": steps, "stopped_early": False, "seconds": seconds,
               "tokens_per_s": 900.0, "fraction": fraction}  # fmt: skip
    store.put_result(run_id, "summary", summary)
    store.set_status(run_id, "done")
    time.sleep(0.01)  # the diagnose that follows starts strictly after this run finished
    return run_id


def demo_task_folder(dest: Path) -> Path:
    """The demo task with a 40-row test file whose first message carries a planted script."""
    folder = copy_example("support-tickets", dest)
    test = folder / "data" / "test.jsonl"
    rows = [json.loads(line) for line in test.read_text().splitlines()[:N_ITEMS]]
    rows[0]["message"] = PLANTED
    test.write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = yaml.safe_load((folder / "tunegate.yaml").read_text())
    spec["data"].pop("test_limit", None)
    (folder / "tunegate.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


def fill_store(folder: Path, embedder: Any, *, curve: bool = True) -> dict[str, Any]:
    """check, a learning curve (3 runs, each measured by a fine-tuned-only diagnose), then the
    full ladder on the last adapter. Returns the run ids."""
    task, folder = load_task(folder)
    schema = output_schema(task, folder)
    examples = load_dataset(task, folder).test
    store = Store(folder)
    ids: dict[str, Any] = {"check": run_check(task, folder, store).run_id, "curve": []}
    fractions = (0.25, 0.5, 1.0) if curve else (1.0,)
    for f in fractions:
        train = write_train(store, folder, f, "curve-test" if curve else None)
        ids["curve"].append(train)
        if f < 1.0:
            tuned = rung_outputs("finetuned", examples, TUNED[f], seed=int(f * 100))
            write_diagnose(store, task, schema, [tuned], embedder)
    ids["train"] = train
    outs = [
        rung_outputs(r, examples, QUALITY.get(r, TUNED[1.0]), seed=1)
        for r in (
            "zero_shot",
            "few_shot",
            "constrained",
            "few_shot_constrained",
            "rag",
            "finetuned",
            "remote",
        )  # fmt: skip
    ]
    ids["diagnose"] = write_diagnose(store, task, schema, outs, embedder)
    store.close()
    return ids


MODEL_MODULES = ("torch", "transformers", "tunegate.models.local", "tunegate.models.embed")


def tiny_demo_task(dest: Path, model: Path) -> tuple[Task, Path, dict[str, Any]]:
    """The demo task (see demo_task_folder) on `model` with the torch engine and two latency
    samples, checked; returns it with each test message's expected ticket."""
    folder = demo_task_folder(dest)
    spec = yaml.safe_load((folder / "tunegate.yaml").read_text())
    spec.update(model=str(model), engine="torch", ladder={"latency_samples": 2, "batch_size": 4})
    (folder / "tunegate.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    task, folder = load_task(folder)
    run_check(task, folder)
    rows = [json.loads(line) for line in (folder / "data" / "test.jsonl").read_text().splitlines()]
    return task, folder, {row["message"]: row["ticket"] for row in rows}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`tunegate ARGS` in a fresh interpreter that then lists the model modules it imported."""
    code = textwrap.dedent(
        f"""
        import sys
        sys.argv = ["tunegate", *{list(args)!r}]
        from tunegate.cli import main
        try:
            main()
        except SystemExit as exc:
            code = exc.code
        else:
            code = 0
        print("LOADED", [m for m in {MODEL_MODULES!r} if m in sys.modules])
        sys.exit(code)
        """
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def assert_svg(p: Any) -> str:
    """The SVG text of a report `Plot`, checked to be a bare inline <svg> element."""
    assert p is not None
    assert p.svg.startswith("<svg") and p.svg.rstrip().endswith("</svg>")
    assert "<?xml" not in p.svg and "DOCTYPE" not in p.svg
    return p.svg
