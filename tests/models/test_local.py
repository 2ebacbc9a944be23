"""LocalGenerator: batched generation agrees with HF `generate` one at a time, token for token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from tunegate.errors import TunegateError
from tunegate.models.base import GenRequest
from tunegate.models.local import LocalGenerator

SYSTEM = (
    "You are the support desk of a small bank. Read the customer's message and answer in one "
    "short sentence, politely, without inventing account details."
)
QUESTIONS = [
    "My card has not arrived yet.",
    "How do I change my PIN?",
    "Why was I charged twice for the same coffee this morning at the station?",
    "hi",
    "Can I top up my account by bank transfer, and how long does it take to show?",
]


def chat(text: str, system: str = SYSTEM) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": text}]


def hf_reference(gen: LocalGenerator, req: GenRequest, adapter_model: Any = None) -> list[int]:
    """Greedy new tokens from transformers' own `generate`, one request alone, unpadded."""
    tok = gen.tokenizer
    ids = tok.apply_chat_template(req.messages, tokenize=False, add_generation_prompt=True)
    ids = tok(ids, add_special_tokens=False, return_tensors="pt")["input_ids"]
    model = adapter_model if adapter_model is not None else gen.model
    with torch.inference_mode():
        out = model.generate(
            ids,
            max_new_tokens=req.max_tokens,
            do_sample=False,
            eos_token_id=gen.stop_ids,
            pad_token_id=gen.tokenizer.pad_token_id,
        )
    return out[0, ids.shape[1] :].tolist()


@pytest.fixture(scope="module")
def plain(tiny_llama: Path) -> Any:
    """The tiny model with no adapters, loaded separately as transformers would."""
    from tunegate.models.resolve import load_causal_lm

    model, _ = load_causal_lm(tiny_llama)
    return model


def test_batched_equals_hf_generate_one_at_a_time(tiny_gen: LocalGenerator, plain: Any) -> None:
    reqs = [GenRequest(chat(q), max_tokens=6 + i) for i, q in enumerate(QUESTIONS)]
    gens = tiny_gen.generate(reqs)  # batch_size 3: two batches, rows of unequal length
    tok = tiny_gen.tokenizer
    for req, gen in zip(reqs, gens, strict=True):
        ref = hf_reference(tiny_gen, req, plain)
        assert gen.error is None
        assert gen.output_tokens == len(ref) == req.max_tokens  # a random model never says EOS
        assert gen.text == tok.decode(ref, skip_special_tokens=True)
        assert gen.extra["finish"] == "length"


def test_token_counts_and_order(tiny_gen: LocalGenerator) -> None:
    reqs = [GenRequest(chat(q), max_tokens=3) for q in reversed(QUESTIONS)]
    gens = tiny_gen.generate(reqs)
    alone = [tiny_gen.generate([r])[0] for r in reqs]
    tok = tiny_gen.tokenizer
    for req, gen, one in zip(reqs, gens, alone, strict=True):
        text = tok.apply_chat_template(req.messages, tokenize=False, add_generation_prompt=True)
        assert gen.input_tokens == len(tok(text, add_special_tokens=False)["input_ids"])
        assert (gen.text, gen.output_tokens) == (one.text, one.output_tokens)
        assert gen.batch_ms is not None and gen.latency_ms is None


def test_shared_prefix_cache_changes_nothing(tiny_llama: Path) -> None:
    long_system = SYSTEM + " " + " ".join(f"Rule {i}: be kind." for i in range(40))
    reqs = [GenRequest(chat(q, long_system), max_tokens=5) for q in QUESTIONS]
    cached = LocalGenerator(tiny_llama, batch_size=2, min_prefix=8)
    bare = LocalGenerator(tiny_llama, batch_size=2, prefix_cache=False)
    with_cache, without = cached.generate(reqs), bare.generate(reqs)
    assert [g.text for g in with_cache] == [g.text for g in without]
    assert all(g.extra["cached_tokens"] > 100 for g in with_cache)
    assert all(g.extra["cached_tokens"] == 0 for g in without)


def test_max_tokens_per_request_in_one_batch(tiny_gen: LocalGenerator) -> None:
    reqs = [
        GenRequest(chat(q), max_tokens=n) for q, n in zip(QUESTIONS[:3], (1, 4, 9), strict=True)
    ]
    assert [g.output_tokens for g in tiny_gen.generate(reqs)] == [1, 4, 9]


def test_adapters_selected_per_request(
    tiny_gen: LocalGenerator, tiny_adapters: dict[str, Path], tiny_llama: Path
) -> None:
    from peft import PeftModel

    from tunegate.models.resolve import load_causal_lm

    names = [None, "alpha", "beta"]
    reqs = [
        GenRequest(chat(q), max_tokens=6, adapter=names[i % 3]) for i, q in enumerate(QUESTIONS)
    ]
    gens = tiny_gen.generate(reqs)
    tok = tiny_gen.tokenizer
    by_adapter = {}
    for name in names:
        by_adapter[name] = [
            g.text
            for g in tiny_gen.generate([GenRequest(chat(QUESTIONS[0]), max_tokens=6, adapter=name)])
        ]
    assert len({by_adapter[n][0] for n in names}) == 3  # each adapter changes the outputs
    for name in ("alpha", "beta"):  # each matches PEFT's own model running that adapter alone
        base, _ = load_causal_lm(tiny_llama)
        peft_model = PeftModel.from_pretrained(base, tiny_adapters[name]).eval()
        for req, gen in zip(reqs, gens, strict=True):
            if req.adapter == name:
                assert gen.text == tok.decode(
                    hf_reference(tiny_gen, req, peft_model), skip_special_tokens=True
                )


def test_unknown_adapter_and_bad_folder(
    tiny_gen: LocalGenerator, tiny_llama: Path, tmp_path: Path
) -> None:
    with pytest.raises(TunegateError, match="unknown adapter 'gamma'"):
        tiny_gen.generate([GenRequest(chat("hi"), adapter="gamma")])
    with pytest.raises(TunegateError, match="not a PEFT adapter folder"):
        LocalGenerator(tiny_llama, {"x": tmp_path})


def test_adapter_loaded_later_and_adapter_for_another_model(
    tiny_gen: LocalGenerator,
    tiny_adapters: dict[str, Path],
    tiny_llama: Path,
    tmp_path: Path,
    adapter_maker: Any,
) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    gen = LocalGenerator(tiny_llama)
    gen.load_adapter("alpha", tiny_adapters["alpha"])
    req = GenRequest(chat(QUESTIONS[2]), max_tokens=6, adapter="alpha")
    assert gen.generate([req])[0].text == tiny_gen.generate([req])[0].text
    with pytest.raises(TunegateError, match="already loaded"):
        gen.load_adapter("alpha", tiny_adapters["beta"])
    config = LlamaConfig.from_pretrained(tiny_llama)
    config.hidden_size, config.intermediate_size = 32, 64  # another model, same layer names
    LlamaForCausalLM(config).save_pretrained(tmp_path / "other")
    adapter_maker(tmp_path / "other", tmp_path / "other-adapter", 3)
    with pytest.raises(TunegateError, match="does not fit this model"):
        LocalGenerator(tiny_llama, {"other": tmp_path / "other-adapter"})


def test_sampling_is_seeded(tiny_gen: LocalGenerator) -> None:
    def sample(seed: int) -> str:
        req = GenRequest(chat(QUESTIONS[1]), max_tokens=8, temperature=1.5, top_p=0.95, seed=seed)
        return tiny_gen.generate([req])[0].text

    assert sample(7) == sample(7)
    assert len({sample(s) for s in range(4)}) > 1
    greedy = tiny_gen.generate([GenRequest(chat(QUESTIONS[1]), max_tokens=8)])[0].text
    assert sample(7) != greedy


def test_time_one_measures_latency(tiny_gen: LocalGenerator) -> None:
    req = GenRequest(chat(QUESTIONS[2]), max_tokens=5)
    one = tiny_gen.time_one(req)
    assert one.ttft_ms is not None and one.latency_ms is not None
    assert 0 < one.ttft_ms <= one.latency_ms
    assert one.text == tiny_gen.generate([req])[0].text


def test_prompt_over_context_is_a_per_item_error(tiny_gen: LocalGenerator) -> None:
    reqs = [GenRequest(chat("word " * 1200), max_tokens=4), GenRequest(chat("hi"), max_tokens=2)]
    gens = tiny_gen.generate(reqs)
    assert gens[0].error is not None and "exceeds the model's context of 1024" in gens[0].error
    assert gens[1].error is None and gens[1].output_tokens == 2


def test_progress_and_cancel(tiny_gen: LocalGenerator) -> None:
    seen: list[tuple[int, int]] = []
    reqs = [GenRequest(chat(q), max_tokens=4) for q in QUESTIONS]
    gens = tiny_gen.generate(
        reqs, progress=lambda n, t: seen.append((n, t)), on_token=lambda i, tok: i != 1
    )
    assert sum(n for n, _ in seen) == len(reqs)
    assert sum(t for _, t in seen) == sum(g.output_tokens for g in gens)
    assert gens[1].output_tokens == 1 and gens[1].extra["finish"] == "cancelled"


def test_embedded_model_stops_at_end_of_turn(embedded_gen: LocalGenerator) -> None:
    reqs = [
        GenRequest([{"role": "user", "content": "What is the capital of France?"}], max_tokens=24)
    ]
    gen = embedded_gen.generate(reqs)[0]
    assert gen.extra["finish"] == "stop" and gen.output_tokens < 24
    assert "<|im_end|>" not in gen.text and "Paris" in gen.text
    ref = hf_reference(embedded_gen, reqs[0])
    assert ref[-1] in embedded_gen.stop_ids and len(ref) == gen.output_tokens


def test_ignore_eos_runs_to_max_tokens(embedded_model_path: Path) -> None:
    gen = LocalGenerator(embedded_model_path, ignore_eos=True)
    req = GenRequest([{"role": "user", "content": "What is the capital of France?"}], max_tokens=24)
    out = gen.generate([req])[0]
    assert out.output_tokens == 24 and out.extra["finish"] == "length"


def test_adapter_named_by_its_path_with_dots(
    tiny_gen: LocalGenerator, tiny_adapters: dict[str, Path], tiny_llama: Path, tmp_path: Path
) -> None:
    """The fine-tuned rung names an adapter by its folder (`<task>/.tunegate/train/<run>/adapter`);
    PEFT refuses "." in its own names, so the generator keeps one of its own."""
    import shutil

    folder = tmp_path / ".tunegate" / "train" / "run.1" / "adapter"
    shutil.copytree(tiny_adapters["alpha"], folder)
    gen = LocalGenerator(tiny_llama, {str(folder): folder})
    req = GenRequest(chat(QUESTIONS[2]), max_tokens=6, adapter=str(folder))
    alpha = GenRequest(chat(QUESTIONS[2]), max_tokens=6, adapter="alpha")
    assert gen.generate([req])[0].text == tiny_gen.generate([alpha])[0].text
    assert gen.time_one(req).text == gen.generate([req])[0].text


def test_default_threads_measured_or_overridden(monkeypatch) -> None:
    import os

    from tunegate.models.local import default_threads

    cores = len(os.sched_getaffinity(0))
    monkeypatch.delenv("TUNEGATE_THREADS", raising=False)
    assert default_threads() in {1, cores}
    monkeypatch.setenv("TUNEGATE_THREADS", "3")
    assert default_threads() == 3
