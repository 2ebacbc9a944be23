"""The playground: one input through chosen rungs, and the loaded model kept between tries."""

from __future__ import annotations

from pathlib import Path

import yaml

from conftest import copy_example
from tunegate.web import playground


def _task(tmp_path: Path, tiny_llama: Path) -> Path:
    folder = copy_example("support-tickets", tmp_path)
    spec = yaml.safe_load((folder / "tunegate.yaml").read_text())
    spec.update(model=str(tiny_llama), engine="torch")
    spec["output"]["max_tokens"] = 8
    (folder / "tunegate.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


def test_a_second_try_reuses_the_loaded_model(tmp_path: Path, tiny_llama: Path) -> None:
    folder = _task(tmp_path, tiny_llama)
    first = playground.play(folder, {"message": "My router blinks red."}, ["zero_shot"])
    assert [a.rung for a in first] == ["zero_shot"] and first[0].error is None
    assert first[0].output_tokens > 0 and first[0].latency_ms is not None
    (gens,) = playground._KEPT.values()
    local = gens.get("local")
    again = playground.play(folder, {"message": "Billing question."}, ["zero_shot", "finetuned"])
    assert playground._KEPT[next(iter(playground._KEPT))].get("local") is local
    skipped = {a.rung: a.error for a in again if a.text == ""}
    assert "finetuned" in skipped and "no trained adapter" in (skipped["finetuned"] or "")


def test_an_edited_task_loads_afresh(tmp_path: Path, tiny_llama: Path) -> None:
    folder = _task(tmp_path, tiny_llama)
    playground.play(folder, {"message": "Hello"}, ["zero_shot"])
    (before,) = playground._KEPT.values()
    spec = yaml.safe_load((folder / "tunegate.yaml").read_text())
    spec["engine"] = None  # the default engine now: a different key
    (folder / "tunegate.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    playground.play(folder, {"message": "Hello"}, ["zero_shot"])
    assert list(playground._KEPT.values()) != [before] and len(playground._KEPT) == 1
