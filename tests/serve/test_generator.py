"""The server's generator on llama.cpp: an adapter llama.cpp cannot take (DoRA) is served by the
torch engine beside it, at start and through /v1/load_lora_adapter, while the base model and the
adapters it can take stay on llama.cpp."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from serve_helpers import make_adapter, serving
from tunegate.models.base import GenRequest
from tunegate.serve import ModelTable

PROMPTS = ["Where is my parcel?", "Refund please", "The app crashes on login"]


def ask(url: str, model: str, prompt: str) -> str:
    chat = {"model": model, "messages": [{"role": "user", "content": prompt}],
            "max_tokens": 8, "temperature": 0}  # fmt: skip
    r = httpx.post(f"{url}/v1/chat/completions", json=chat, timeout=120)
    assert r.status_code == 200, r.text
    return str(r.json()["choices"][0]["message"]["content"])


@pytest.mark.slow
def test_an_adapter_llama_cpp_cannot_take_is_served_by_torch_beside_it(
    embedded_model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("llama_cpp")
    from tunegate.models.local import LocalGenerator
    from tunegate.serve.generator import SplitGenerator

    dora = make_adapter(embedded_model_path, tmp_path / "dora", seed=1, scale=0.02, dora=True)
    lora = make_adapter(embedded_model_path, tmp_path / "lora", seed=2, scale=0.02)
    late = make_adapter(embedded_model_path, tmp_path / "late", seed=3, scale=0.02, dora=True)
    table = ModelTable(base=None, base_name="smol")
    table.add_adapter("dora", dora)
    table.add_adapter("lora", lora)
    with serving(table, engine="llamacpp", max_tokens_cap=32) as (url, loaded):
        gen = loaded.engine.generator
        assert isinstance(gen, SplitGenerator)
        assert [gen.engine_of(a) for a in (None, "lora", "dora")] == ["llamacpp"] * 2 + ["torch"]
        notes = [x for x in capsys.readouterr().err.splitlines() if x.startswith("tunegate:")]
        assert len(notes) == 1 and "'dora'" in notes[0] and "DoRA" in notes[0]
        assert "torch engine serves it" in notes[0]

        body = {"lora_name": "late", "lora_path": str(late)}
        r = httpx.post(f"{url}/v1/load_lora_adapter", json=body, timeout=120)
        assert r.status_code == 200 and gen.engine_of("late") == "torch"
        assert [m["id"] for m in httpx.get(f"{url}/v1/models").json()["data"]] == [
            "smol", "dora", "lora", "late"
        ]  # fmt: skip

        # one at a time, a torch-served adapter answers as the torch engine does with it
        served = {name: [ask(url, name, p) for p in PROMPTS] for name in ("dora", "late")}
        ref = LocalGenerator(embedded_model_path, {"dora": dora, "late": late}, batch_size=1)
        for name, texts in served.items():
            reqs = [
                GenRequest([{"role": "user", "content": p}], max_tokens=8, adapter=name)
                for p in PROMPTS
            ]
            assert texts == [g.text for g in ref.generate(reqs)]
        # requests for both engines at once, split by engine within a batch: every one is
        # answered (200), which each engine's adapters alone could not do (unknown adapter)
        jobs = [(m, p) for m in ("smol", "dora", "lora") for p in PROMPTS]
        with ThreadPoolExecutor(len(jobs)) as pool:
            mixed = list(pool.map(lambda job: ask(url, *job), jobs))
        assert len(mixed) == len(jobs)
