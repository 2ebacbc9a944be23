"""Fixtures shared by every test module: the embedded model, a tiny random Llama, task folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DATASETS = ROOT.parent / "shared" / "datasets"
ARTIFACTS = ROOT / "tests" / "artifacts"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def datasets_dir(name: str) -> Path:
    """Path of a shared real data set; skip the test cleanly when it is absent."""
    path = Path(os.environ.get("TUNEGATE_DATASETS", DATASETS)) / name
    if not path.exists():
        pytest.skip(f"shared data set {name!r} not found at {path}")
    return path


@pytest.fixture(scope="session")
def embedded_model_path() -> Path:
    """The embedded SmolLM2-135M-Instruct as a cached safetensors folder (de-quantized once)."""
    from tunegate.models.resolve import resolve_model

    return resolve_model()


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory, embedded_model_path: Path) -> Path:
    """A tiny random Llama (2 layers, hidden 64) with the embedded model's tokenizer and template.

    Built from a config, never downloaded; fast enough for training tests of a few steps.
    """
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    out = tmp_path_factory.mktemp("tiny-llama")
    tok = AutoTokenizer.from_pretrained(embedded_model_path)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty TUNEGATE_HOME for tests that must not touch the user's cache."""
    monkeypatch.setenv("TUNEGATE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def copy_example(name: str, dest: Path) -> Path:
    """Copy an example task folder (without its run store) so a test can write beside it."""
    src = EXAMPLES / name
    if not src.exists():
        pytest.skip(f"example {name!r} not present")
    target = dest / name
    shutil.copytree(src, target, ignore=shutil.ignore_patterns(".tunegate"))
    return target
