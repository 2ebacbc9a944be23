"""Fixtures for the model tests: LoRA adapters on the tiny Llama, generators built once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


def make_adapter(base: Path, out: Path, seed: int) -> Path:
    """A PEFT LoRA adapter with random nonzero weights, so it changes the base model's outputs."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base)
    config = LoraConfig(
        r=8,
        lora_alpha=64,
        target_modules=["q_proj", "v_proj", "down_proj"],
        init_lora_weights=False,
    )
    peft_model = get_peft_model(model, config)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_" in name:
                p.normal_(0, 0.2)
    peft_model.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def adapter_maker() -> Callable[[Path, Path, int], Path]:
    """`make_adapter` itself, for tests that need an adapter of their own."""
    return make_adapter


@pytest.fixture(scope="session")
def tiny_adapters(tiny_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("adapters")
    return {
        name: make_adapter(tiny_llama, root / name, seed)
        for name, seed in (("alpha", 1), ("beta", 2))
    }


@pytest.fixture(scope="session")
def tiny_gen(tiny_llama: Path, tiny_adapters: dict[str, Path]):  # type: ignore[no-untyped-def]
    from tunegate.models.local import LocalGenerator

    # prefill_tokens small: prompts in a batch are prefilled in several groups, then decoded together
    return LocalGenerator(tiny_llama, tiny_adapters, batch_size=3, min_prefix=4, prefill_tokens=40)


@pytest.fixture(scope="session")
def embedded_gen(embedded_model_path: Path):  # type: ignore[no-untyped-def]
    from tunegate.models.local import LocalGenerator

    return LocalGenerator(embedded_model_path, name="smollm2-135m", batch_size=8)
