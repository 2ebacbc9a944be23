"""Build what a training loop needs: the examples split and encoded, the model, the optimizer.

Shared by `train` (api.py) and `estimate` (estimate.py), so an estimate times the very step
a run will take.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tunegate.data.examples import Example, stratum
from tunegate.data.split import sample, split
from tunegate.spec import Task
from tunegate.threads import set_threads
from tunegate.train.bf16 import cast_frozen_linears, use_train_attention
from tunegate.train.config import TrainConfig
from tunegate.train.data import (
    Encoded,
    EncodeReport,
    check_not_empty,
    encode_examples,
    shared_prefix_len,
)
from tunegate.train.loop import Loop, steps_per_epoch, total_steps
from tunegate.train.model import CompletionLM, PrefixCache, load_with_lora
from tunegate.train.prompt import prompt_form

log = logging.getLogger(__name__)
MIN_FOR_VALIDATION = 10  # fewer train examples than this: no validation split


@dataclass(frozen=True)
class RunData:
    """The examples a run trains and validates on, and a fingerprint to detect changes on resume."""

    train: list[Example]
    val: list[Example]
    fingerprint: str


def carve(task: Task, examples: Sequence[Example], cfg: TrainConfig) -> RunData:
    """Hold out a stratified validation split, then keep the nested `fraction` of the rest.

    The validation split does not depend on `fraction`, so a learning curve's runs are compared on
    the same held-out examples; fractions are nested because `sample` ranks by one seeded hash.
    """
    rest: list[Example] = list(examples)
    val: list[Example] = []
    if cfg.val_fraction > 0 and len(rest) >= MIN_FOR_VALIDATION:
        held = split(rest, cfg.val_fraction, cfg.seed, lambda ex: stratum(task, ex))[1]
        val = sample(held, cfg.val_max, cfg.seed)  # held-out rows over val_max go back to training
        chosen = {id(e) for e in val}
        rest = [e for e in rest if id(e) not in chosen]
    if cfg.fraction < 1:
        rest = sample(rest, max(1, math.ceil(cfg.fraction * len(rest))), cfg.seed)
    blob = "\n".join(e.id for e in rest) + "|" + "\n".join(e.id for e in val)
    return RunData(rest, val, hashlib.sha256(blob.encode()).hexdigest()[:16])


def use_bf16(cfg: TrainConfig, device: torch.device) -> bool:
    """bf16 autocast: asked for, or `auto` on hardware with native bf16 math (else it is slower)."""
    if cfg.precision != "auto":
        return cfg.precision == "bf16"
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def make_accelerator() -> Any:
    """accelerate's Accelerator; without a GPU, `cpu=True` so that processes started by
    `accelerate launch --multi_gpu` / torchrun join one gloo process group (DDP on CPUs)."""
    from accelerate import Accelerator

    gpu = torch.cuda.is_available() or (hasattr(torch, "xpu") and torch.xpu.is_available())
    return Accelerator(cpu=not gpu)


def make_scheduler(optimizer: Any, cfg: TrainConfig, total: int) -> Any:
    """The learning-rate schedule over `total` optimizer steps, warm-up included."""
    from transformers import get_scheduler

    warmup = int(cfg.warmup * total) if cfg.warmup < 1 else int(cfg.warmup)
    name = {"constant": "constant_with_warmup"}.get(cfg.schedule, cfg.schedule)
    inner = getattr(optimizer, "optimizer", optimizer)  # accelerate's wrapper holds the torch one
    return get_scheduler(name, inner, num_warmup_steps=warmup, num_training_steps=total)


@dataclass
class Built:
    loop: Loop
    tokenizer: Any
    report: EncodeReport
    layers: list[int]


def build(
    task: Task,
    model_path: Path,
    data: RunData,
    cfg: TrainConfig,
    accelerator: Any,
    where: str,
    adapter: Path | None = None,
) -> Built:
    """Model with LoRA, encoded examples, optimizer and schedule, prepared by accelerate."""
    peft_model, tok, layers = load_with_lora(model_path, cfg, adapter)
    bf16 = use_bf16(cfg, accelerator.device)
    cpu_bf16 = cfg.attention == "auto" and bf16 and accelerator.device.type == "cpu"
    if cpu_bf16:
        use_train_attention(peft_model.get_base_model())
    set_threads(cfg.threads, peft_model.config.hidden_size)
    prompt = prompt_form(task, cfg.prompt)
    train, report = encode_examples(task, data.train, tok, cfg.max_length, cfg.overlong, prompt)
    warning = report.warning(cfg.max_length)
    if warning and accelerator.is_main_process:
        log.warning("%s: %s", where, warning)
    check_not_empty(len(train), len(data.train), where)
    val: list[Encoded] = encode_examples(task, data.val, tok, cfg.max_length, cfg.overlong, prompt)[
        0
    ]
    core = CompletionLM(peft_model, split=layers[0], completion_logits=cfg.completion_logits)
    if cpu_bf16 and accelerator.num_processes == 1:  # after CompletionLM's float32 self-check
        cast_frozen_linears(peft_model)
    batching = cfg.batching
    if batching == "packed" and not core.packing_ok:
        log.info("this model's forward cannot isolate packed examples; using grouped batches")
        batching = "grouped"
    params = [p for p in core.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    world = accelerator.num_processes
    total = total_steps(len(train), cfg, world)
    scheduler = make_scheduler(optimizer, cfg, total)
    module, optimizer = accelerator.prepare(core, optimizer)
    loop = Loop(
        accelerator=accelerator,
        module=module,
        core=core,
        optimizer=optimizer,
        scheduler=scheduler,
        cfg=cfg,
        train=train,
        val=val,
        pad_id=tok.pad_token_id if tok.pad_token_id is not None else 0,
        steps_per_epoch=steps_per_epoch(len(train), cfg, world),
        total_steps=total,
        bf16=bf16,
        batching=batching,
        shared=shared_prefix_len(train + val)
        if batching == "packed" and cfg.share_prefix and core.sharing_ok
        else 0,
        caches=(PrefixCache(cfg.cache_mb), PrefixCache(cfg.cache_mb)),
        hidden=int(peft_model.config.hidden_size),
        prompt=prompt,
    )
    return Built(loop, tok, report, layers)
