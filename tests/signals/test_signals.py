"""The public API: measure, compare, targets_met, primary_metric, on hand-made and real outputs."""

from __future__ import annotations

import csv
import json
import random
import re
import time
from pathlib import Path

import pytest

import tunegate.signals as signals
from conftest import datasets_dir
from tunegate.outputs import ItemOutput, RungOutputs
from tunegate.spec import parse_task

LABELS = ["card_arrival", "lost_or_stolen_card", "refund_not_showing_up", "top_up_failed"]
LABEL_TASK = parse_task(
    {
        "name": "intents",
        "output": {"type": "label", "labels": LABELS},
        "data": {"train": "x.csv"},
        "targets": {
            "min_accuracy": 0.5,
            "min_schema_valid_rate": 0.9,
            "max_p95_latency_ms": 1000,
            "min_similarity": 0.8,
        },
    }
)


def label_rung(rung: str, correct: list[bool], **kw: object) -> RungOutputs:
    items = []
    for i, ok in enumerate(correct):
        gold = LABELS[i % 4]
        items.append(ItemOutput(f"id{i}", gold, gold if ok else LABELS[(i + 1) % 4], 80, 5))
    return RungOutputs(rung, "m", items, **kw)  # type: ignore[arg-type]


def test_primary_metric_per_task_type() -> None:
    assert signals.primary_metric(LABEL_TASK) == "knowledge.accuracy"
    json_task = parse_task(
        {
            "name": "j",
            "output": {"type": "json", "schema": {"type": "object"}},
            "data": {"train": "x"},
        }
    )
    assert signals.primary_metric(json_task) == "knowledge.field_accuracy"
    text_task = parse_task({"name": "t", "data": {"train": "x"}})
    assert signals.primary_metric(text_task) == "knowledge.similarity"


def test_measure_excludes_errors_and_applies_targets() -> None:
    rung = label_rung(
        "zero_shot", [True] * 30 + [False] * 10, latencies_ms=[100.0 + i for i in range(20)]
    )
    rung.items.append(ItemOutput("boom", "card_arrival", "", error="timeout after 60 s"))
    metrics = signals.measure(LABEL_TASK, None, rung)
    m = {x.name: x for x in metrics}
    assert m["errors.rate"].value == pytest.approx(1 / 41) and m["errors.rate"].n == 41
    assert m["knowledge.accuracy"].value == 0.75 and m["knowledge.accuracy"].n == 40
    assert m["format.valid_label"].value == 1.0
    status = signals.targets_met(LABEL_TASK, metrics)
    assert status == {
        "min_accuracy": "meets",  # lo of Wilson(30/40) ~ 0.60 >= 0.5
        "min_schema_valid_rate": "meets",
        "min_similarity": "not measured",  # a text target on a label task
        "max_p95_latency_ms": "meets",
    }
    strict = LABEL_TASK.model_copy(
        update={"targets": LABEL_TASK.targets.model_copy(update={"min_accuracy": 0.7})}
    )
    assert signals.targets_met(strict, metrics)["min_accuracy"] == "may meet"


def test_compare_pairs_items_by_example_id() -> None:
    a = label_rung("zero_shot", [False] * 14 + [True] * 26)
    b = label_rung("finetuned", [True] * 40)
    random.Random(0).shuffle(b.items)  # pairing must not depend on order
    comps = signals.compare(LABEL_TASK, a, b)
    assert comps[0].name == "knowledge.accuracy"  # the primary metric first
    acc = comps[0]
    assert acc.n == 40 and acc.diff == pytest.approx(14 / 40)
    assert acc.real and acc.better == "finetuned" and acc.test == "mcnemar_exact"
    assert acc.p_value == pytest.approx(2 / 2**14)
    same = signals.compare(LABEL_TASK, a, label_rung("other", [False] * 14 + [True] * 26))
    assert not any(c.real for c in same)


def test_compare_latency_unpaired_and_skipped_rungs() -> None:
    fast = label_rung("a", [True] * 10, latencies_ms=[100.0 + i for i in range(20)])
    slow = label_rung("b", [True] * 10, latencies_ms=[400.0 + i for i in range(20)])
    lat = {
        c.name: c for c in signals.compare(LABEL_TASK, fast, slow) if c.name.startswith("latency")
    }
    assert lat["latency.p95_ms"].real and lat["latency.p95_ms"].better == "a"
    skipped = RungOutputs("rag", "m", [], skipped="no docs folder")
    scored = signals.score(LABEL_TASK, None, skipped)
    assert scored.metrics == [] and scored.not_measured == {"rung": "no docs folder"}


def documented_patterns() -> list[re.Pattern[str]]:
    doc = signals.__doc__ or ""
    names = set(re.findall(r"\b(?:errors|format|knowledge|style|cost|latency)\.[\w.<>]+", doc))
    return [
        re.compile(
            re.escape(n.rstrip(".")).replace("<field>", r"\w+").replace("<key>", r"\w+") + "$"
        )
        for n in names
    ]


def test_every_emitted_metric_name_is_documented() -> None:
    schema = {
        "type": "object",
        "properties": {"category": {"enum": ["billing", "bug"]}, "reply": {"type": "string"}},
        "required": ["category", "reply"],
    }
    task = parse_task(
        {"name": "j", "output": {"type": "json", "schema": schema}, "data": {"train": "x"}}
    )
    exp = json.dumps(
        {"category": "billing", "reply": "We refunded the duplicate charge to your card today."}
    )
    items = [
        ItemOutput("1", exp, exp, 50, 20, samples=[exp]),
        ItemOutput("2", exp, '{"kind": "bug", "reply": "hey lol", "mood": "ok"}', 50, 20),
    ]
    rung = RungOutputs(
        "zero_shot", "m", items, latencies_ms=[10.0, 20.0], ttft_ms=[5.0, 6.0], requests_per_s=1.0
    )
    refs = ["We have refunded your card.", "Your account has been updated."]
    metrics = signals.measure(
        task, schema, rung, docs_text="billing", style_refs=refs, inputs={"1": "x", "2": "y"}
    )
    patterns = documented_patterns()
    undocumented = [m.name for m in metrics if not any(p.match(m.name) for p in patterns)]
    assert undocumented == []
    assert {"format.key_extra.kind", "knowledge.similarity.reply", "style.similarity"} <= {
        m.name for m in metrics
    }
    text_task = parse_task({"name": "t", "data": {"train": "x"}})
    gold = "Your refund for the Acme Pro plan was sent today."
    text_rung = RungOutputs(
        "few_shot", "m", [ItemOutput(str(i), gold, f"Refund sent {i}.", 40, 9) for i in range(6)]
    )
    more = signals.measure(
        text_task, None, text_rung, docs_text="Acme Pro", style_refs=refs * 3, inputs={"0": "x"}
    )
    label_metrics = signals.measure(LABEL_TASK, None, label_rung("r", [True, False, True]))
    names = [m.name for m in more + label_metrics]
    assert [n for n in names if not any(p.match(n) for p in patterns)] == []
    assert {"knowledge.token_f1", "style.classifier_auc", "knowledge.macro_f1"} <= set(names)


def test_measure_on_real_model_outputs(embedded_model_path: Path) -> None:
    """Zero-shot SmolLM2 answers on real banking77 rows (one batch), measured end to end."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with (datasets_dir("banking77") / "test.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["category"] in LABELS][:6]
    tok = AutoTokenizer.from_pretrained(embedded_model_path, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(embedded_model_path).eval()
    system = "Classify the banking query. Answer with one label only: " + ", ".join(LABELS)
    prompts = [
        tok.apply_chat_template(
            [{"role": "system", "content": system}, {"role": "user", "content": r["text"]}],
            add_generation_prompt=True,
            tokenize=False,
        )
        for r in rows
    ]
    batch = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # on a shared 2-core machine, 2 threads run several times slower
    try:
        start = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(
                **batch, max_new_tokens=8, do_sample=False, pad_token_id=tok.pad_token_id
            )
        wall = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    width = batch["input_ids"].shape[1]
    items = []
    for i, r in enumerate(rows):
        new = [t for t in out[i, width:].tolist() if t != tok.pad_token_id]
        n_in = int(batch["attention_mask"][i].sum())
        items.append(
            ItemOutput(
                f"r{i}", r["category"], tok.decode(new, skip_special_tokens=True), n_in, len(new)
            )
        )
    rung = RungOutputs("zero_shot", "SmolLM2-135M-Instruct", items, requests_per_s=len(rows) / wall)
    m = {x.name: x for x in signals.measure(LABEL_TASK, None, rung)}
    for name in (
        "format.valid_label",
        "knowledge.accuracy",
        "knowledge.macro_f1",
        "cost.per_month",
    ):
        assert m[name].n == len(rows) and m[name].lo <= m[name].value <= m[name].hi
    assert m["cost.input_tokens"].value > 30  # the label list inflates the prompt
    status = signals.targets_met(LABEL_TASK, list(m.values()))
    assert status["max_p95_latency_ms"] == "not measured"  # latency was not timed here
    assert status["min_accuracy"] in ("meets", "may meet", "fails")
