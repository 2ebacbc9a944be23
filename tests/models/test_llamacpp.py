"""The llama.cpp engine on the embedded GGUF: its cached re-quantized weights, the shared-prefix
reuse, a PEFT adapter converted to a GGUF LoRA against the torch engine, and the fallback to
torch when llama-cpp-python cannot be imported."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tunegate.errors import TunegateError
from tunegate.models.base import GenRequest

SYSTEM = "You are a helpful assistant for a shop. Answer in one short sentence. " * 3


def ask(text: str, adapter: str | None = None, max_tokens: int = 16) -> GenRequest:
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]
    return GenRequest(messages=messages, max_tokens=max_tokens, adapter=adapter)


@pytest.fixture(scope="module")
def llama() -> Any:
    pytest.importorskip("llama_cpp")
    from tunegate.models.llamacpp import LlamaCppGenerator

    return LlamaCppGenerator(None)


@pytest.mark.slow
def test_requantized_weights_are_cached_beside_the_dequantized_model(llama: Any) -> None:
    from tunegate.models.resolve import embedded_gguf, gguf_cache_dir

    assert llama.path.name.endswith(".f16.gguf") and llama.path.exists()
    assert llama.path.parent == gguf_cache_dir(embedded_gguf()).parent
    assert llama.label() == "llamacpp:f16"


@pytest.mark.slow
def test_the_previous_prompt_prefix_is_reused_and_changes_no_answer(llama: Any) -> None:
    first, second = ask("Do you sell shoes?"), ask("When do you open?")
    llama.clear_cache()
    cold = llama.generate([second])[0]
    assert cold.extra["cached_tokens"] == 0
    llama.generate([first])
    warm = llama.time_one(second)
    system_tokens = len(llama.prompt_ids(GenRequest(messages=[first.messages[0]])))
    assert warm.extra["cached_tokens"] >= system_tokens - 4  # all but the template's last marks
    assert warm.text == cold.text and warm.output_tokens == cold.output_tokens


@pytest.mark.slow
def test_generation_is_the_torch_engines_on_most_items(llama: Any, embedded_gen: Any) -> None:
    prompts = ["Do you sell shoes?", "When do you open?", "Can I pay by card?", "Where are you?"]
    reqs = [ask(p, max_tokens=12) for p in prompts]
    ours = [g.text for g in llama.generate(reqs)]
    torch = [g.text for g in embedded_gen.generate(reqs)]
    same = sum(a == b for a, b in zip(ours, torch, strict=True))
    assert same >= 3, list(zip(ours, torch, strict=True))


def test_without_llama_cpp_the_engine_falls_back_to_torch_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tiny_llama: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tunegate.models.engines import choose_engine, local_generator
    from tunegate.models.local import LocalGenerator

    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # `import llama_cpp` now fails
    choice = choose_engine("llamacpp", None)
    assert (choice.engine, choice.label()) == ("torch", "torch:fp32")
    assert "llama-cpp-python is not usable" in (choice.note or "")
    gen = local_generator(choice, str(tiny_llama), None, None, name="tiny", batch_size=2)
    assert isinstance(gen, LocalGenerator)
    ours = [x for x in capsys.readouterr().err.splitlines() if x.startswith("tunegate:")]
    assert len(ours) == 1 and "falling back to the torch engine" in ours[0]


def test_an_unknown_engine_is_one_clear_error() -> None:
    from tunegate.models.engines import choose_engine

    with pytest.raises(TunegateError, match="engine must be one of llamacpp, torch, openai"):
        choose_engine("vllm", None)


def test_a_hugging_face_folder_runs_on_torch(tiny_llama: Path) -> None:
    from tunegate.models.engines import choose_engine

    choice = choose_engine("llamacpp", str(tiny_llama))
    assert choice.engine == "torch" and "needs a .gguf model" in (choice.note or "")


def lora(base: Path, out: Path, *, std: float, dora: bool = False) -> Path:
    """A PEFT LoRA on every linear layer of `base` (rsLoRA scale), random nonzero weights."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    modules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    config = LoraConfig(
        r=8,
        lora_alpha=16,
        target_modules=modules,
        init_lora_weights=False,
        use_rslora=True,
        use_dora=dora,
    )
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base), config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.normal_(0, std)
    model.save_pretrained(out)
    return out


@pytest.mark.slow
def test_a_peft_adapter_converted_to_gguf_answers_like_the_torch_engine(
    llama: Any, embedded_model_path: Path, tmp_path: Path
) -> None:
    import numpy as np
    import torch

    from tunegate.models.gguf_lora import LORA_GGUF
    from tunegate.models.local import LocalGenerator

    folder = lora(embedded_model_path, tmp_path / "adapter", std=0.03)
    ref = LocalGenerator(embedded_model_path, {"a": folder}, batch_size=4)
    llama.load_adapter("a", folder)
    converted = folder / LORA_GGUF
    assert converted.exists()
    # the change the adapter makes to the next-token logits is the same on both engines
    ids = ref.prompt_ids(ask("Name three colours."))
    with torch.inference_mode():
        with ref._using(None):
            base = ref.model(torch.tensor([ids])).logits[0, -1].numpy()
        with ref._using("a"):
            adapted = ref.model(torch.tensor([ids])).logits[0, -1].numpy()
    deltas = []
    for name in (None, "a"):
        llama._use(name)
        llama._prefill(ids)
        deltas.append(llama._logits()[0].numpy())
    ours, theirs = deltas[1] - deltas[0], adapted - base
    cosine = float(ours @ theirs / np.linalg.norm(ours) / np.linalg.norm(theirs))
    assert np.abs(theirs).mean() > 0.3 and cosine > 0.99
    # and greedy answers through the public interface
    prompts = ["Name three colours.", "What is 2+2?", "Say hello.", "Where is Paris?"]
    with_adapter = [ask(p, adapter="a", max_tokens=12) for p in prompts]
    ours_text = [g.text for g in llama.generate(with_adapter)]
    torch_text = [g.text for g in ref.generate(with_adapter)]
    base_text = [g.text for g in llama.generate([ask(p, max_tokens=12) for p in prompts])]
    assert sum(a == b for a, b in zip(ours_text, torch_text, strict=True)) >= 3
    assert ours_text != base_text  # the adapter is applied
    mtime = converted.stat().st_mtime_ns
    from tunegate.models.gguf_lora import lora_gguf

    assert lora_gguf(folder, embedded_model_path) == converted  # cached: not written again
    assert converted.stat().st_mtime_ns == mtime


@pytest.mark.slow
def test_an_adapter_llama_cpp_cannot_take_falls_back_to_torch_with_one_line(
    embedded_model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("llama_cpp")
    from tunegate.models.engines import choose_engine, local_generator
    from tunegate.models.local import LocalGenerator

    folder = lora(embedded_model_path, tmp_path / "dora", std=0.01, dora=True)
    gen = local_generator(
        choose_engine("llamacpp", None), None, None, {"d": str(folder)}, name="s", batch_size=2
    )
    assert isinstance(gen, LocalGenerator)
    ours = [x for x in capsys.readouterr().err.splitlines() if x.startswith("tunegate:")]
    assert len(ours) == 1 and "DoRA" in ours[0] and "torch engine" in ours[0]
    assert gen.generate([ask("Hello", adapter="d", max_tokens=4)])[0].output_tokens >= 1
