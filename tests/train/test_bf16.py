"""Training attention: eager matrix products for short rows under bf16 on CPU, the same loss."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers.models.llama import modeling_llama

from tunegate.train import bf16 as attention
from tunegate.train.api import train
from tunegate.train.config import resolve_config
from tunegate.train.data import collate, encode_one, shared_prefix_len
from tunegate.train.model import CompletionLM, load_with_lora


@pytest.fixture
def eager_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the calls that reach the Llama modeling file's own eager attention."""
    calls: list[int] = []
    real = modeling_llama.eager_attention_forward

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(modeling_llama, "eager_attention_forward", counted)
    return calls


def lora_and_examples(tiny_llama: Path):
    """The tiny Llama with a non-zero LoRA on every layer (so LoRA is in the path), and three
    encoded examples."""
    cfg = resolve_config("quick", None, {"layers": "all", "rank": 4})
    peft_model, tok, layers = load_with_lora(tiny_llama, cfg)
    for name, p in peft_model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.05)
    encs = [encode_one(tok, [{"role": "user", "content": q}], a)
            for q, a in [("one?", "1"), ("two, please?", "two"), ("x", "a longer answer")]]  # fmt: skip
    return peft_model, tok, layers, encs


@pytest.fixture(scope="module")
def model_and_batches(tiny_llama: Path):
    peft_model, tok, layers, encs = lora_and_examples(tiny_llama)
    batches = {
        "packed, shared prefix": collate(
            encs, [0, 1, 2], True, tok.pad_token_id, shared_prefix_len(encs)
        ),
        "packed": collate(encs, [0, 1, 2], True, tok.pad_token_id),
        "padded": collate(encs, [0, 1, 2], False, tok.pad_token_id),
    }
    return peft_model, layers, batches


def _loss_and_grads(core: CompletionLM, b, bf16: bool) -> tuple[float, list[torch.Tensor]]:
    core.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss, _ = core(b.input_ids, b.position_ids, b.attention_mask, b.select, b.labels)
    loss.backward()
    grads = [p.grad.clone() for p in core.parameters() if p.requires_grad]
    core.zero_grad()
    return float(loss.detach()), grads


@pytest.mark.parametrize("kind", ["packed, shared prefix", "packed", "padded"])
def test_bf16_rows_take_eager_attention_with_the_same_loss_and_gradients(
    model_and_batches, eager_calls: list[int], kind: str
) -> None:
    peft_model, layers, batches = model_and_batches
    b = batches[kind]
    base = peft_model.get_base_model()
    core = CompletionLM(peft_model, split=layers[0])
    fp32_loss, fp32_grads = _loss_and_grads(core, b, bf16=False)
    sdpa_loss, sdpa_grads = _loss_and_grads(core, b, bf16=True)
    assert not eager_calls  # the model still runs SDPA
    assert attention.use_train_attention(base)
    try:
        loss, grads = _loss_and_grads(core, b, bf16=True)
        assert len(eager_calls) == base.config.num_hidden_layers  # every layer, one call each
        assert loss == pytest.approx(sdpa_loss, rel=2e-2)
        assert loss == pytest.approx(fp32_loss, rel=2e-2)
        for g, ref, g32 in zip(grads, sdpa_grads, fp32_grads, strict=True):
            scale = float(g32.abs().max())
            assert float((g - ref).abs().max()) <= 0.1 * scale
            assert float((g - g32).abs().max()) <= 0.1 * scale
        eager_calls.clear()
        assert _loss_and_grads(core, b, bf16=False)[0] == pytest.approx(fp32_loss, rel=1e-5)
        assert not eager_calls  # fp32 stays on SDPA, exactly as before
    finally:
        base.set_attn_implementation("sdpa")


def test_rows_longer_than_the_limit_stay_on_sdpa(
    model_and_batches, eager_calls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    peft_model, layers, batches = model_and_batches
    b = batches["packed"]
    base = peft_model.get_base_model()
    core = CompletionLM(peft_model, split=layers[0])
    monkeypatch.setattr(attention, "EAGER_MAX_KEYS", b.input_ids.shape[1] - 1)
    assert attention.use_train_attention(base)
    try:
        _loss_and_grads(core, b, bf16=True)
        assert not eager_calls
    finally:
        base.set_attn_implementation("sdpa")


def test_only_a_model_on_sdpa_is_switched(tiny_llama: Path) -> None:
    from tunegate.models.resolve import load_causal_lm

    model, _ = load_causal_lm(tiny_llama)
    model.set_attn_implementation("eager")
    assert not attention.use_train_attention(model)
    assert model.config._attn_implementation == "eager"


@pytest.mark.parametrize(("settings", "eager"), [({}, True), ({"attention": "sdpa"}, False)])
def test_train_under_bf16_uses_it_unless_told_sdpa(
    tiny_llama: Path, task_writer, fast: dict, home: Path, tmp_path: Path,
    eager_calls: list[int], settings: dict, eager: bool,
) -> None:  # fmt: skip
    folder = task_writer(tmp_path / "task", tiny_llama)
    r = train(folder, "quick", {**fast, "steps": 2, "precision": "bf16", **settings},
              show_progress=False)  # fmt: skip
    assert r.steps == 2
    assert bool(eager_calls) is eager


def test_frozen_weights_cast_once_give_the_same_bf16_forward(tiny_llama: Path) -> None:
    peft_model, tok, layers, encs = lora_and_examples(tiny_llama)  # its own: the test casts it
    b = collate(encs, [0, 1, 2], True, tok.pad_token_id, shared_prefix_len(encs))
    core = CompletionLM(peft_model, split=layers[0])
    before, grads_before = _loss_and_grads(core, b, bf16=True)
    base = peft_model.get_base_model()
    embedding = base.get_input_embeddings().weight
    assert base.get_output_embeddings().weight is embedding  # tied, as in SmolLM2
    linears = sum(
        1 for m in peft_model.modules() if type(m) is torch.nn.Linear and not m.weight.requires_grad
    )
    assert attention.cast_frozen_linears(peft_model) == linears > 0
    assert all(
        m.weight.dtype == (torch.float32 if m.weight.requires_grad else torch.bfloat16)
        for m in peft_model.modules()
        if type(m) is torch.nn.Linear
    )
    assert embedding.dtype == torch.float32  # the head got its own bf16 copy
    assert base.get_output_embeddings().weight.dtype == torch.bfloat16
    assert base.get_input_embeddings().weight is embedding
    after, grads_after = _loss_and_grads(core, b, bf16=True)
    assert after == before  # autocast rounds the weights exactly as the stored copies are
    for g, ref in zip(grads_after, grads_before, strict=True):
        assert torch.equal(g, ref)
    assert attention.cast_frozen_linears(peft_model) == 0  # nothing float32 left to cast


@pytest.mark.parametrize(
    ("settings", "dtype"),
    [({}, torch.bfloat16), ({"attention": "sdpa"}, torch.float32),
     ({"precision": "fp32"}, torch.float32)],
)  # fmt: skip
def test_build_casts_frozen_weights_only_under_cpu_bf16(
    tiny_llama: Path, task_writer, fast: dict, tmp_path: Path, settings: dict, dtype: torch.dtype
) -> None:
    from tunegate.data.split import load_dataset
    from tunegate.spec import load_task
    from tunegate.train.session import build, carve, make_accelerator

    folder = task_writer(tmp_path / "task", tiny_llama)
    task, folder = load_task(folder)
    cfg = resolve_config("quick", None, {**fast, "precision": "bf16", **settings})
    data = carve(task, load_dataset(task, folder).train, cfg)
    loop = build(task, tiny_llama, data, cfg, make_accelerator(), str(folder)).loop
    q = loop.core.peft.get_base_model().model.layers[1].self_attn.q_proj
    assert q.base_layer.weight.dtype == dtype and q.lora_A["default"].weight.dtype == torch.float32
