"""The training forward equals the model's own loss, whatever the batching, cache or logits path."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tunegate.train.config import resolve_config
from tunegate.train.data import Encoded, collate, encode_one, shared_prefix_len
from tunegate.train.model import CompletionLM, PrefixCache, load_with_lora, lora_layers


@pytest.fixture(scope="module")
def setup(tiny_llama: Path):
    cfg = resolve_config("quick", None, {"layers": 1, "rank": 4})
    peft_model, tok, layers = load_with_lora(tiny_llama, cfg)
    for name, p in peft_model.named_parameters():  # a non-zero adapter, so LoRA is in the path
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.05)
    peft_model.eval()
    encs = [encode_one(tok, [{"role": "user", "content": q}], a)
            for q, a in [("one?", "1"), ("two, please?", "two"), ("x", "a longer answer")]]  # fmt: skip
    return peft_model, tok, layers, encs


def reference_loss(peft_model, encs) -> float:
    """Sum of answer-token losses from the model's own forward, one example at a time."""
    total = 0.0
    for e in encs:
        ids = torch.tensor([e.ids])
        labels = ids.clone()
        labels[0, : e.prompt_len] = -100
        with torch.no_grad():
            out = peft_model(input_ids=ids, labels=labels)
        total += float(out.loss) * e.n_answer
    return total


def test_only_the_top_layers_are_adapted_and_trainable(setup) -> None:
    peft_model, _, layers, _ = setup
    assert layers == [1] and lora_layers(30, 8) == list(range(22, 30))
    trainable = {n for n, p in peft_model.named_parameters() if p.requires_grad}
    assert trainable and all(".layers.1." in n and "lora_" in n for n in trainable)


@pytest.mark.parametrize(
    ("packed", "share", "completion_logits"),
    [
        (True, True, True),
        (True, False, True),
        (False, False, True),
        (True, True, False),
        (False, False, False),
    ],
)
def test_loss_matches_the_models_own_forward(
    setup, packed: bool, share: bool, completion_logits: bool
) -> None:
    peft_model, tok, layers, encs = setup
    core = CompletionLM(peft_model, split=layers[0], completion_logits=completion_logits)
    assert core.layout == "split" and core.sharing_ok
    shared = shared_prefix_len(encs) if share else 0
    assert shared > 4 or not share  # the template's system header is common to all three
    b = collate(encs, [0, 1, 2], packed=packed, pad_id=tok.pad_token_id, shared=shared)
    with torch.no_grad():
        loss, prefix = core(b.input_ids, b.position_ids, b.attention_mask, b.select, b.labels)
    assert float(loss) == pytest.approx(reference_loss(peft_model, encs), rel=1e-4)
    # a second pass from the cached prefix gives the same loss
    cache = PrefixCache(64)
    cache.put(b, prefix)
    cached = cache.get(b)
    assert cached is not None and cached.shape == prefix.shape
    with torch.no_grad():
        again, _ = core(
            b.input_ids, b.position_ids, b.attention_mask, b.select, b.labels, prefix=cached
        )
    assert float(again) == pytest.approx(float(loss), rel=1e-5)


def test_backward_reaches_only_the_adapted_layers(setup) -> None:
    peft_model, tok, layers, encs = setup
    core = CompletionLM(peft_model, split=layers[0])
    b = collate(encs, [0, 1, 2], packed=True, pad_id=tok.pad_token_id)
    loss, prefix = core(b.input_ids, b.position_ids, b.attention_mask, b.select, b.labels)
    assert prefix is not None and not prefix.requires_grad  # the frozen layers kept no graph
    loss.backward()
    grads = [p.grad for p in peft_model.parameters() if p.requires_grad]
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)
    peft_model.zero_grad()


def test_cache_respects_its_budget() -> None:
    cache = PrefixCache(0)
    b = collate([Encoded((1, 2, 3), 2)], [0], packed=True, pad_id=0)
    cache.put(b, torch.zeros(1, 3, 8))
    assert cache.get(b) is None
