"""`tunegate diagnose --engine`: the ladder on llama.cpp and on torch, each labelled as such in
the stored outputs, neither answering from the other's cache; a bad engine name is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import cli
from conftest import copy_example


@pytest.mark.slow
def test_diagnose_runs_the_rung_on_the_named_engine_and_labels_its_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("llama_cpp")
    folder = copy_example("support-tickets", tmp_path)
    models = {}
    for engine in ("llamacpp", "torch"):
        out = tmp_path / f"{engine}.json"
        args = ["diagnose", str(folder), "--rungs", "constrained", "--limit", "3"]
        code, _, err = cli(monkeypatch, capsys, *args, "--engine", engine, "--json", str(out))
        assert code == 0, err
        result = json.loads(out.read_text())
        rung = result["results"]["constrained"]
        models[engine] = rung["outputs"]["model"]
        items = rung["outputs"]["items"]
        assert len(items) == 3 and all(json.loads(i["text"]) for i in items)
        assert all(i["input_tokens"] > 0 and i["output_tokens"] > 0 for i in items)
    assert models == {"llamacpp": "smollm2-135m@llamacpp:f16", "torch": "smollm2-135m"}


def test_an_unknown_engine_is_one_line_and_a_nonzero_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = copy_example("support-tickets", tmp_path)
    args = ["diagnose", str(folder), "--rungs", "constrained", "--limit", "2", "--engine", "gpu"]
    code, _, err = cli(monkeypatch, capsys, *args)
    assert code != 0
    assert (
        err.strip()
        .splitlines()[-1]
        .endswith("engine must be one of llamacpp, torch, openai; got 'gpu'")
    )
    assert "Traceback" not in err
