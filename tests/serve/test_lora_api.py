"""vLLM's runtime LoRA API on `tunegate serve` (`POST /v1/load_lora_adapter`), and the openai
engine loading the fine-tuned rung's adapter through it: the adapter's answers over HTTP are the
ones the torch engine gives with the same adapter loaded locally."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from serve_helpers import serving, tiny_table
from tunegate.errors import TunegateError
from tunegate.models.base import GenRequest

PROMPTS = ["Where is my parcel?", "Refund please", "The app crashes on login"]


def reqs(adapter: str | None) -> list[GenRequest]:
    return [
        GenRequest([{"role": "user", "content": p}], max_tokens=12, adapter=adapter)
        for p in PROMPTS
    ]


@pytest.fixture(scope="module")
def expected(tiny_llama: Path, tiny_adapter: Path) -> list[str]:
    from tunegate.models.local import LocalGenerator

    gen = LocalGenerator(tiny_llama, {"ft": tiny_adapter}, batch_size=4)
    with_adapter = [g.text for g in gen.generate(reqs("ft"))]
    assert with_adapter != [g.text for g in gen.generate(reqs(None))]  # the adapter matters
    return with_adapter


def test_load_lora_adapter_serves_the_adapter_under_its_name(
    tiny_llama: Path, tiny_adapter: Path, expected: list[str]
) -> None:
    with serving(tiny_table(tiny_llama), max_tokens_cap=64) as (url, _):
        body = {"lora_name": "ft-live", "lora_path": str(tiny_adapter)}
        r = httpx.post(f"{url}/v1/load_lora_adapter", json=body, timeout=60)
        assert r.status_code == 200 and "ft-live" in r.text
        names = [m["id"] for m in httpx.get(f"{url}/v1/models").json()["data"]]
        assert names == ["tiny", "ft-live"]
        texts = []
        for p in PROMPTS:
            chat = {"model": "ft-live", "messages": [{"role": "user", "content": p}],
                    "max_tokens": 12, "temperature": 0}  # fmt: skip
            got = httpx.post(f"{url}/v1/chat/completions", json=chat, timeout=60).json()
            texts.append(got["choices"][0]["message"]["content"])
        assert texts == expected

        again = httpx.post(f"{url}/v1/load_lora_adapter", json=body, timeout=60)
        assert again.status_code == 400 and "already been loaded" in again.text
        bad = {"lora_name": "nope", "lora_path": str(tiny_llama)}  # a model, not an adapter
        refused = httpx.post(f"{url}/v1/load_lora_adapter", json=bad, timeout=60)
        error = refused.json()["error"]
        assert refused.status_code == 400 and error["param"] == "lora_path"
        assert "adapter_config.json" in error["message"] and "\n" not in error["message"]


def test_the_openai_engine_loads_the_rungs_adapter_through_the_server(
    tiny_llama: Path, tiny_adapter: Path, expected: list[str]
) -> None:
    from tunegate.models.engines import EngineChoice, local_generator
    from tunegate.spec import RemoteSpec

    with serving(tiny_table(tiny_llama), max_tokens_cap=64) as (url, _):
        spec = RemoteSpec(base_url=f"{url}/v1", model="tiny", api_key_env=None)
        adapter = str(tiny_adapter)  # the ladder names an adapter by its path
        gen = local_generator(
            EngineChoice("openai"), None, None, {adapter: adapter}, name="x", batch_size=4,
            remote=spec,
        )  # fmt: skip
        assert [g.text for g in gen.generate(reqs(adapter))] == expected
        assert gen.time_one(reqs(adapter)[0]).text == expected[0]
        # a second client finds the adapter already served and uses it as it is
        again = local_generator(
            EngineChoice("openai"), None, None, {"ft": adapter}, name="x", batch_size=4,
            remote=spec,
        )  # fmt: skip
        assert again.generate(reqs("ft"))[0].text == expected[0]
        with pytest.raises(TunegateError, match="unknown adapter 'other'"):
            again.generate(reqs("other"))


def test_a_server_without_the_lora_api_is_one_clear_error(
    tiny_llama: Path, tiny_adapter: Path
) -> None:
    from tunegate.models.remote import RemoteGenerator
    from tunegate.spec import RemoteSpec

    with serving(tiny_table(tiny_llama), max_tokens_cap=64) as (url, _):
        spec = RemoteSpec(base_url=f"{url}/nowhere", model="tiny", api_key_env=None, retries=1)
        gen = RemoteGenerator(spec, backoff_s=0.01)
        with pytest.raises(TunegateError, match="could not load the adapter: HTTP 404"):
            gen.load_adapter("ft", tiny_adapter)


def test_no_lora_api_refuses_to_load(tiny_llama: Path, tiny_adapter: Path) -> None:
    with serving(tiny_table(tiny_llama), max_tokens_cap=64, lora_api=False) as (url, _):
        body = {"lora_name": "ft", "lora_path": str(tiny_adapter)}
        r = httpx.post(f"{url}/v1/load_lora_adapter", json=body, timeout=60)
        assert r.status_code == 403 and "--no-lora-api" in r.json()["error"]["message"]
        assert [m["id"] for m in httpx.get(f"{url}/v1/models").json()["data"]] == ["tiny"]
