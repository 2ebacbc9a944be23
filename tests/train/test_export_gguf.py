"""`tunegate export --gguf`: an adapter trained for a few steps on the embedded model, exported as
base GGUF + GGUF LoRA + Modelfile, loads in plain llama-cpp-python (as llama-server loads it) and
answers demo items as the torch engine (the engine of `tunegate serve`) does."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_helpers import cli
from conftest import copy_example


@pytest.mark.slow
def test_export_gguf_round_trip(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    llama_cpp = pytest.importorskip("llama_cpp")
    from tunegate.data.examples import to_messages
    from tunegate.data.split import load_dataset
    from tunegate.models.base import GenRequest
    from tunegate.models.local import LocalGenerator
    from tunegate.runs import latest_adapter
    from tunegate.spec import load_task

    folder = copy_example("support-tickets", tmp_path)
    code, out, err = cli(monkeypatch, capsys, "train", str(folder), "--preset", "quick", "--steps", "3",
                         "--batch", "2", "--layers", "2", "--lr", "0.01", "--no-progress")  # fmt: skip
    assert code == 0, err
    target = tmp_path / "gguf"
    code, out, err = cli(monkeypatch, capsys, "export", str(folder), str(target), "--gguf")
    assert code == 0, err
    base, lora = target / "model-f16.gguf", target / "adapter-lora.gguf"
    assert base.exists() and lora.exists() and (target / "Modelfile").exists()
    assert f"llama-server -m {base} --lora {lora}" in out and "ADAPTER ./adapter-lora.gguf" in out

    task, _ = load_task(folder)
    items = load_dataset(task, folder).test[:3]
    _, adapter = latest_adapter(task, folder)
    torch_gen = LocalGenerator(None, {"ft": adapter})
    reqs = [GenRequest(to_messages(task, ex), max_tokens=24, adapter="ft") for ex in items]
    expected = [g.text for g in torch_gen.generate(reqs)]
    llm = llama_cpp.Llama(model_path=str(base), lora_path=str(lora), n_ctx=2048, verbose=False)
    answers = []
    for req in reqs:
        ids = torch_gen.prompt_ids(req)
        got = llm.create_completion(ids, max_tokens=24, temperature=0.0, stop=["<|im_end|>"])
        answers.append(got["choices"][0]["text"])
    same = sum(a.strip() == b.strip() for a, b in zip(answers, expected, strict=True))
    assert same >= 2, list(zip(answers, expected, strict=True))


@pytest.mark.slow
def test_export_gguf_merge_answers_like_the_base_with_its_lora(
    tmp_path: Path, monkeypatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    """--merge: one GGUF (the LoRA added into the f16 weights), served without --lora, whose
    greedy answers are those of the base GGUF with the adapter's GGUF LoRA."""
    llama_cpp = pytest.importorskip("llama_cpp")
    from tunegate.data.examples import to_messages
    from tunegate.data.split import load_dataset
    from tunegate.models.base import GenRequest
    from tunegate.models.llamacpp import LlamaCppGenerator
    from tunegate.spec import load_task
    from tunegate.train.api import latest_adapter

    folder = copy_example("support-tickets", tmp_path)
    code, out, err = cli(monkeypatch, capsys, "train", str(folder), "--preset", "quick", "--steps", "3",
                         "--batch", "2", "--layers", "2", "--lr", "0.01", "--no-progress")  # fmt: skip
    assert code == 0, err
    target = tmp_path / "merged"
    code, out, err = cli(
        monkeypatch, capsys, "export", str(folder), str(target), "--gguf", "--merge"
    )
    assert code == 0, err
    merged = target / "model-f16-merged.gguf"
    assert merged.exists() and sorted(p.name for p in target.iterdir()) == [
        "Modelfile",
        merged.name,
    ]
    assert f"llama-server -m {merged} --host" in out and "--lora" not in out
    assert "ADAPTER" not in (target / "Modelfile").read_text()

    task, _ = load_task(folder)
    _, adapter = latest_adapter(task, folder)
    with_lora = LlamaCppGenerator(None, {"ft": adapter})
    reqs = [
        GenRequest(to_messages(task, ex), max_tokens=24, adapter="ft")
        for ex in load_dataset(task, folder).test[:3]
    ]
    expected = [g.text for g in with_lora.generate(reqs)]
    llm = llama_cpp.Llama(model_path=str(merged), n_ctx=2048, verbose=False)
    answers = []
    for req in reqs:
        got = llm.create_completion(
            with_lora.prompt_ids(req), max_tokens=24, temperature=0.0, stop=["<|im_end|>"]
        )
        answers.append(got["choices"][0]["text"])
    same = sum(a.strip() == b.strip() for a, b in zip(answers, expected, strict=True))
    assert same >= 2, list(zip(answers, expected, strict=True))
