"""Distillation with real models on both sides (slow): `tunegate serve` with the embedded
SmolLM2 is the teacher, its JSON guaranteed by the schema sent as response_format; the embedded
model with a LoRA adapter is the student."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import copy_example
from serve_helpers import serving
from tunegate.flows.distill import DistillOptions, distill
from tunegate.serve import ModelTable
from tunegate.store import Store


@pytest.mark.slow
def test_embedded_teacher_served_by_tunegate_labels_for_the_embedded_student(
    tmp_path: Path, embedded_model_path: Path
) -> None:
    folder = copy_example("support-tickets", tmp_path)
    spec = yaml.safe_load((folder / "tunegate.yaml").read_text(encoding="utf-8"))
    spec["data"]["test_limit"] = 8
    spec["ladder"] = {"latency_samples": 1, "batch_size": 8}
    spec["train"] = {"batch_size": 4, "layers": 2, "val_fraction": 0.2, "eval_every": 4}
    (folder / "tunegate.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    rows = (folder / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()[:22]
    inputs = tmp_path / "unlabeled.jsonl"
    inputs.write_text("".join(json.dumps({"message": json.loads(r)["message"]}) + "\n"
                              for r in rows))  # fmt: skip
    table = ModelTable(base=str(embedded_model_path), base_name="smollm2")
    with serving(table, max_tokens_cap=256, timeout_s=1800) as (url, _):
        # the task names the endpoint as its remote: distill takes its timeout and concurrency
        spec["remote"] = {"base_url": f"{url}/v1", "model": "smollm2", "api_key_env": None,
                          "timeout_s": 1800, "concurrency": 8}  # fmt: skip
        task_file = folder / "tunegate.yaml"
        task_file.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
        res = distill(
            folder,
            DistillOptions(
                teacher=f"{url}/v1", inputs=inputs, steps=4, limit=4, show_progress=False
            ),  # fmt: skip
        )
    schema = json.loads((folder / "schema.json").read_text())
    labelled = [json.loads(r) for r in res.train_file.read_text().splitlines()]
    assert len(labelled) == res.labelled >= 21  # the schema is enforced: (almost) all valid
    for r in labelled:
        jsonschema.validate(r["ticket"], schema)
    c = res.comparison
    assert c.items == 4 and c.gold
    assert c.teacher.model.endswith(":smollm2") and c.teacher.accuracy is not None
    assert c.student.accuracy is not None and c.agreement is not None
    assert c.teacher.valid is not None and c.teacher.valid.value == 1.0
    assert c.student.cost_per_month and c.teacher.cost_per_month
    store = Store(res.folder)
    assert store.result(res.run_id, "comparison")["student"]["p95_ms"] is not None
    store.close()
