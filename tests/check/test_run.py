"""`tunegate check` on small planted task folders, and on the demo task and its dirty copy."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from conftest import copy_example
from tunegate.check.run import CheckReport, run_check
from tunegate.cli import app, main
from tunegate.spec import load_task
from tunegate.store import Store
from tunegate.train.config import resolve_config

SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"type": "string", "enum": ["billing", "outage", "setup"]},
        "urgency": {"type": "string", "enum": ["low", "high"]},
    },
    "required": ["category", "urgency"],
    "additionalProperties": False,
}
WORDS = [
    f"{a}{b}" for a in ("bla", "cro", "dwi", "fen", "gol", "hux", "jor", "kep") for b in "aeiouyw"
]


def message(rng: random.Random, n: int = 12) -> str:
    """A message of n random words: two of them share almost no word bigram."""
    return " ".join(rng.choice(WORDS) for _ in range(n))


def ticket(i: int) -> dict[str, str]:
    return {"category": ("billing", "outage", "setup")[i % 3], "urgency": ("low", "high")[i % 2]}


def rows(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"message": message(rng), "ticket": ticket(i)} for i in range(n)]


def make_task(
    tmp_path: Path, train_rows: list[Any], test_rows: list[Any], **overrides: Any
) -> Path:
    """A task folder with a JSON-output task (overrides replace top-level keys) and its data."""
    folder = tmp_path / "task"
    folder.mkdir(parents=True, exist_ok=True)
    task: dict[str, Any] = {
        "name": "planted",
        "inputs": ["message"],
        "prompt": {"system": "Answer with a JSON ticket.", "user": "{message}"},
        "output": {"type": "json", "field": "ticket", "schema": SCHEMA, "stratify": "category"},
        "data": {"train": "train.jsonl", "test": "test.jsonl"},
    }
    task.update(overrides)
    (folder / "tunegate.yaml").write_text(yaml.safe_dump(task), encoding="utf-8")
    for name, data in (("train.jsonl", train_rows), ("test.jsonl", test_rows)):
        lines = [r if isinstance(r, str) else json.dumps(r) for r in data]
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def check(folder: Path, estimate: bool = False) -> CheckReport:
    """check without timing training steps (tested on its own below: it loads the model)."""
    task, path = load_task(folder)
    return run_check(task, path, estimate=estimate)


def test_clean_rows_pass_and_the_report_is_stored(tmp_path: Path) -> None:
    folder = make_task(tmp_path, rows(120, 1), rows(60, 2))
    report = check(folder)
    assert report.verdict == "ok", [(i.name, i.reason) for i in report.items if i.status != "ok"]
    assert report.rows == {"train": 120, "test": 60, "test_file": 60}
    assert report.item("labels.imbalance").value == 1.0
    # the training cutoff is the one `tunegate train` resolves (preset + task's train:)
    assert report.tokens["max_length"] == resolve_config(None, {}).max_length
    assert report.item("train.time").reason == "not measured: --no-estimate"
    store = Store(folder)
    run = store.latest("check")
    assert run is not None and run.id == report.run_id and run.note == "ok"
    assert store.result(run.id, "check") == json.loads(json.dumps(report.to_json()))


def test_missing_blank_and_empty_rows(tmp_path: Path) -> None:
    train = rows(120, 1)
    del train[4]["message"]  # line 5: no input column at all
    train[6]["message"] = "   "  # line 7: blank input
    train[8]["ticket"] = None  # line 9: null target
    train[9]["ticket"] = ""  # line 10: blank target
    del train[10]["ticket"]  # line 11: absent target
    report = check(make_task(tmp_path, train, rows(60, 2)))
    assert report.item("rows.missing_fields").rows == ["train.jsonl:5"]
    assert report.item("rows.empty_inputs").rows == ["train.jsonl:7"]
    assert report.item("rows.empty_targets").rows == [
        "train.jsonl:9",
        "train.jsonl:10",
        "train.jsonl:11",
    ]
    # 3 of 180 rows is over the 1% share: fail; 1 of 180 is under it: warn
    assert report.item("rows.empty_targets").status == "fail"
    assert report.item("rows.missing_fields").status == "warn"
    assert report.verdict == "fail"


def test_duplicates_conflicts_near_duplicates_and_leakage(tmp_path: Path) -> None:
    rng = random.Random(3)
    train, test = rows(120, 1), rows(60, 2)
    long_text = message(rng, 20)
    train[20] = {"message": long_text, "ticket": ticket(0)}
    train[30] = dict(train[3])  # exact duplicate of line 4
    train[31] = {"message": train[5]["message"], "ticket": {"category": "setup", "urgency": "low"}}
    if train[31]["ticket"] == train[5]["ticket"]:
        train[31]["ticket"] = {"category": "billing", "urgency": "high"}
    train[40] = {"message": long_text.upper() + " again!", "ticket": ticket(1)}  # near line 21
    half = long_text.split()[:10] + message(rng, 6).split()
    train[41] = {"message": " ".join(half), "ticket": ticket(2)}  # shares half: not near
    test[7] = {"message": train[50]["message"], "ticket": train[50]["ticket"]}  # exact leak
    test[9] = {"message": train[60]["message"] + " thanks", "ticket": ticket(0)}  # near leak
    report = check(make_task(tmp_path, train, test))

    def pairs(name: str) -> list[tuple[str, str]]:
        return [(p["row"], p["of"]) for p in report.item(name).details["pairs"]]

    assert pairs("duplicates.train_exact") == [("train.jsonl:31", "train.jsonl:4")]
    assert pairs("duplicates.train_conflicting") == [("train.jsonl:32", "train.jsonl:6")]
    assert pairs("duplicates.train_near") == [("train.jsonl:41", "train.jsonl:21")]
    assert pairs("leakage.exact") == [("test.jsonl:8", "train.jsonl:51")]
    assert pairs("leakage.near") == [("test.jsonl:10", "train.jsonl:61")]
    assert report.item("leakage.exact").status == "fail"  # any exact leak fails
    assert report.item("duplicates.train_near").status == "warn"


def test_json_parse_errors_schema_violations_and_key_drift(tmp_path: Path) -> None:
    train = rows(150, 1)
    train[2]["ticket"] = '{"category": "billing", "urgency": '  # line 3: not JSON
    train[3]["ticket"] = {"category": "refunds", "urgency": "low"}  # wrong enum value
    train[4]["ticket"] = {"category": "billing"}  # missing urgency
    train[5]["ticket"] = {"category": "setup", "urgency": "low", "note": "x"}  # extra key
    train[6]["ticket"] = {"categroy": "setup", "urgency": "low"}  # renamed by a typo
    train[7]["ticket"] = {"category": "outage", "priority": "high"}  # renamed by elimination
    report = check(make_task(tmp_path, train, rows(60, 2)))
    assert report.item("json.parse_errors").rows == ["train.jsonl:3"]
    violations = report.item("json.schema_violations")
    assert violations.value == 5
    assert violations.details["by_rule"] == {"additionalProperties": 3, "enum": 1, "required": 3}
    drift = report.item("json.key_drift")
    assert drift.rows == [f"train.jsonl:{n}" for n in (5, 6, 7, 8)]
    assert drift.details == {
        "missing": {"urgency": 1},
        "extra": {"note": 1},
        "renamed": {"categroy->category": 1, "priority->urgency": 1},
    }
    assert violations.status == "fail"  # 5 of 210 rows is over 1%


def test_targets_that_mix_types_at_one_key_are_counted_with_lines(tmp_path: Path) -> None:
    train = rows(150, 1)
    for i in (4, 9):  # lines 5 and 10: urgency an object, not a string
        train[i]["ticket"] = {"category": "billing", "urgency": {"level": "high"}}
    train[11]["ticket"] = {"category": 3, "urgency": "low"}  # line 12: a number
    test = rows(60, 2)
    test[0]["ticket"] = {"category": "setup", "urgency": None}  # null is not a type clash
    report = check(make_task(tmp_path, train, test))
    mixed = report.item("json.mixed_types")
    assert mixed.rows == ["train.jsonl:5", "train.jsonl:10", "train.jsonl:12"]
    assert mixed.details == {
        "keys": {"category": {"string": 209, "number": 1}, "urgency": {"string": 207, "object": 2}}
    }
    assert mixed.status == "fail"  # 3 of 210 rows is over 1%
    assert mixed.reason.startswith(
        "3 of 210 rows hold a value whose JSON type differs from the other rows' at the same key; "
        "category: string in 209 rows (train.jsonl:1, train.jsonl:2, train.jsonl:3, ...), "
        "number in 1 row (train.jsonl:12); urgency: string in 207 rows"
    )
    clean = check(make_task(tmp_path / "clean", rows(150, 1), rows(60, 2)))
    assert clean.item("json.mixed_types").status == "ok"


def test_label_balance_singletons_unseen_and_invalid_labels(tmp_path: Path) -> None:
    rng = random.Random(5)
    labels = ["common"] * 60 + ["rare"] * 2 + ["once"] + ["other"] * 40
    train = [{"text": message(rng), "label": lab} for lab in labels]
    test = [{"text": message(rng), "label": lab} for lab in ["common"] * 55 + ["never_seen"]]
    folder = make_task(
        tmp_path,
        train,
        test,
        inputs=["text"],
        prompt={"user": "{text}"},
        output={"type": "label", "field": "label", "labels": ["common", "rare", "once", "other"]},
    )
    report = check(folder)
    balance = report.item("labels.imbalance")
    assert (balance.value, balance.status) == (60.0, "warn")
    single = report.item("labels.singletons")
    assert (single.value, single.details["labels"], single.rows) == (
        1,
        ["once"],
        ["train.jsonl:63"],
    )
    assert report.item("labels.unseen_in_test").rows == ["test.jsonl:56"]
    assert report.item("labels.invalid").rows == ["test.jsonl:56"]


def test_lengths_against_cutoff_max_tokens_and_context(tmp_path: Path, tiny_llama: Path) -> None:
    rng = random.Random(7)
    train, test = rows(120, 1), rows(60, 2)
    train[3]["message"] = message(rng, 60)  # over a 100-token training cutoff
    train[4]["message"] = " ".join(["word"] * 1100)  # over tiny_llama's 1,024-token context
    train[5]["ticket"] = {
        "category": "setup",
        "urgency": "low",
        "note": message(rng, 30),
    }  # long target
    folder = make_task(
        tmp_path,
        train,
        test,
        model=str(tiny_llama),
        train={"max_length": 100},
        output={"type": "json", "field": "ticket", "schema": SCHEMA, "max_tokens": 48},
    )
    report = check(folder)
    assert report.item("length.over_train_cutoff").rows == [f"train.jsonl:{n}" for n in (4, 5, 6)]
    assert report.item("length.over_context").rows == ["train.jsonl:5"]
    assert report.item("length.over_context").status == "fail"
    assert report.item("length.target_over_max_tokens").rows == ["train.jsonl:6"]
    assert report.tokens["context"] == 1024 and report.tokens["max_length"] == 100
    assert report.item("tokens.input").details["max"] > 1100


def test_too_little_data_fails(tmp_path: Path) -> None:
    report = check(make_task(tmp_path, rows(12, 1), rows(10, 2)))
    assert report.item("rows.train").status == "fail"
    assert report.item("rows.test").status == "warn"


def test_cli_exit_codes_json_and_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = CliRunner()
    ok = make_task(tmp_path / "ok", rows(120, 1), rows(60, 2))
    out = tmp_path / "report.json"
    result = runner.invoke(app, ["check", str(ok), "--json", str(out), "--no-estimate"])
    assert result.exit_code == 0, result.output
    assert "tunegate check: planted" in result.output and "verdict" in result.output
    assert json.loads(out.read_text())["verdict"] == "ok"

    leaky = rows(60, 2)
    leaky[0] = rows(120, 1)[0]
    bad = make_task(tmp_path / "bad", rows(120, 1), leaky)
    assert runner.invoke(app, ["check", str(bad), "--no-estimate"]).exit_code == 1

    monkeypatch.setattr(sys, "argv", ["tunegate", "check", str(tmp_path / "nowhere")])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "no task file found" in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_dirty_demo_reports_every_planted_problem(tmp_path: Path) -> None:
    """Acceptance: on the dirty copy, each manifest count and row list equals what check reports."""
    folder = copy_example("support-tickets-dirty", tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    out = tmp_path / "check.json"
    result = CliRunner().invoke(app, ["check", str(folder), "--json", str(out), "--no-estimate"])
    assert result.exit_code == 1, result.output  # exact leakage fails the verdict
    report = json.loads(out.read_text(encoding="utf-8"))
    items = {it["name"]: it for it in report["items"]}
    assert report["rows"]["train"] == manifest["rows"]["train"]
    assert report["rows"]["test"] == manifest["rows"]["test"]
    for name, planted in manifest["planted"].items():
        item = items[name]
        assert item["value"] == planted["count"], name
        assert item["status"] != "ok", name
        found = item["details"]["labels"] if name == "labels.singletons" else item["rows"]
        assert sorted(found) == sorted(planted["rows"]), name
    assert items["json.key_drift"]["details"] == manifest["key_drift"]
    assert report["verdict"] == "fail"


def test_clean_demo_passes(tmp_path: Path) -> None:
    report = check(copy_example("support-tickets", tmp_path))
    assert report.verdict == "ok", [(i.name, i.reason) for i in report.items if i.status != "ok"]
    assert report.rows == {"train": 1000, "test": 200, "test_file": 240}


def test_chat_shaped_text_task(tmp_path: Path) -> None:
    """OpenAI-chat rows with free-text answers: no JSON or label items; a missing answer counts."""
    rng = random.Random(9)
    chats = [
        {
            "messages": [
                {"role": "user", "content": message(rng)},
                {"role": "assistant", "content": message(rng, 6)},
            ]
        }
        for _ in range(120)
    ]
    chats[3]["messages"] = chats[3]["messages"][:1]  # no assistant turn: empty target
    folder = make_task(
        tmp_path,
        chats,
        chats[100:],
        inputs=[],
        prompt={"user": "{input}"},
        output={"type": "text"},
        data={"train": "train.jsonl", "test": "test.jsonl", "shape": "openai"},
    )
    report = check(folder)
    names = {it.name for it in report.items}
    assert not any(n.startswith(("json.", "labels.")) for n in names)
    assert report.item("rows.empty_targets").rows == ["train.jsonl:4"]
    assert report.item("leakage.exact").value == 20


def test_training_time_is_measured_priced_and_held_to_the_budget(
    tmp_path: Path, tiny_llama: Path
) -> None:
    """A few real steps on this machine give seconds per epoch; the run's cost at the training
    price; over `budget` it warns, and the report's training gate reads the same estimate."""
    from tunegate.decide import Evidence, judge_gates
    from tunegate.report.gather import CheckRecord, readiness

    folder = make_task(
        tmp_path, rows(120, 1), rows(60, 2), model=str(tiny_llama),
        prices={"train_per_hour": 3.6}, budget={"max_train_minutes": 0.0001},
        train={"max_length": 128, "epochs": 2, "minutes": None},
        prompt={"system": "Answer with a JSON ticket. Its category names the problem; its "
                "urgency follows the support policy, high when the customer cannot work.",
                "user": "{message}"},
    )  # fmt: skip
    report = check(folder, estimate=True)
    item = report.item("train.time")
    d = item.details
    assert item.status == "warn" and report.verdict != "ok"
    assert "over budget.max_train_minutes 0.0001" in item.reason and "min per epoch" in item.reason
    assert d["steps_measured"] >= 1 and d["tokens_per_s"] > 0
    assert item.value == d["seconds_per_epoch"] > 0
    assert d["seconds_total"] > d["seconds_per_epoch"]  # two epochs
    assert d["cost"] == pytest.approx(d["seconds_total"] / 3600 * 3.6)
    assert report.tokens["train_estimate"] == d and report.tokens["max_length"] == 128
    # both prompt forms, measured: the compact one (the first sentence) reads fewer tokens
    full, compact = d["prompts"]["full"], d["prompts"]["compact"]
    assert d["prompt"] == "compact" and compact["total_steps"] == d["total_steps"]  # the preset's
    assert compact["input_tokens"] < full["input_tokens"] and compact["tokens_per_s"] > 0
    assert full["tokens_per_example"] - compact["tokens_per_example"] == pytest.approx(
        full["input_tokens"] - compact["input_tokens"]
    )
    # the preset's prompt is auto: both forms shown, and the probes' time before the choice
    assert "compact prompt: " in item.reason and "full prompt: " in item.reason
    assert "prompt auto: 16 steps of each form first (about " in item.reason
    task, _ = load_task(folder)
    record = CheckRecord("c", report.verdict, report.rows, [i.__dict__ for i in report.items])
    (gate,) = [g for g in judge_gates(task, Evidence([], readiness=readiness(record)))
               if g.name == "training cycle"]  # fmt: skip
    assert gate.ok is False and "check's estimate" in gate.detail


def test_training_time_is_skipped_without_the_training_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tunegate.train.timing", None)  # import fails
    report = check(make_task(tmp_path, rows(120, 1), rows(60, 2)), estimate=True)
    item = report.item("train.time")
    assert item.status == "ok" and item.reason.startswith("not measured: training backend")
