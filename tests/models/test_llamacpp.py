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
