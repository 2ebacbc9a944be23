"""Helpers for the server tests: LoRA adapters, servers on 127.0.0.1 free ports, the openai
client, /metrics and SSE parsing. Fixtures built on them are in tests/serve/conftest.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tunegate.serve import ModelTable, ServeConfig, load, running
from tunegate.serve.server import Loaded


def make_adapter(
    base: Path, out: Path, seed: int, scale: float = 0.2, *, dora: bool = False
) -> Path:
    """A PEFT LoRA (or DoRA) adapter with random nonzero weights (std `scale`) for `base`."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base)
    config = LoraConfig(
        r=8,
        lora_alpha=16,
        target_modules=["q_proj", "v_proj"],
        init_lora_weights=False,
        use_dora=dora,
    )
    peft_model = get_peft_model(model, config)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_" in name:
                p.normal_(0, scale)
    peft_model.save_pretrained(out)
    return out


def tiny_table(tiny_llama: Path, adapter: Path | None = None) -> ModelTable:
    table = ModelTable(base=str(tiny_llama), base_name="tiny")
    if adapter is not None:
        table.add_adapter("tiny-lora", adapter)
    return table


@contextmanager
def serving(table: ModelTable, **settings: Any) -> Iterator[tuple[str, Loaded]]:
    """Load `table`, serve it on a free 127.0.0.1 port; yield (base URL, the loaded server)."""
    config = ServeConfig(**{"port": 0, "batch_wait_ms": 20.0, **settings})
    loaded = load(table, config)
    with running(loaded) as url:
        yield url, loaded


def client(url: str, key: str = "none", **kw: Any) -> Any:
    """The openai client for a server, with its own retries off (tests see every status)."""
    from openai import OpenAI

    return OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, **kw)


def metrics(url: str) -> dict[str, float]:
    """/metrics as {'name{label="v",...}': value} (labels sorted), via the Prometheus parser."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{url}/metrics").text
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


def chat_body(model: str = "tiny", **kw: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **kw}


def sse_events(text: str) -> list[Any]:
    """The `data:` payloads of an SSE body, JSON-decoded ('[DONE]' kept as is)."""
    out: list[Any] = []
    for line in text.splitlines():
        if line.startswith("data: "):
            data = line[len("data: ") :]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out
