"""The engine contract, run against every engine: torch (the reference loop), llamacpp (llama.cpp
in-process, the embedded GGUF) and openai (the `RemoteGenerator` against `tunegate serve` on
127.0.0.1, serving on torch and on llama.cpp). Each answers real requests with the embedded
SmolLM2-135M."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tunegate.models.base import Constraint, GenRequest

pytestmark = pytest.mark.slow

SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"type": "string", "enum": ["billing", "bug", "account"]},
        "urgent": {"type": "boolean"},
    },
    "required": ["category", "urgent"],
    "additionalProperties": False,
}
SYSTEM = "You sort support messages. Answer with a JSON ticket: category and urgency."


def ask(text: str, **kw: Any) -> GenRequest:
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]
    return GenRequest(messages=messages, **kw)


@pytest.fixture(scope="module", params=["torch", "llamacpp", "openai", "openai-llamacpp"])
def engine(request: pytest.FixtureRequest, embedded_model_path: Path) -> Iterator[Any]:
    if request.param == "torch":
        from tunegate.models.local import LocalGenerator

        yield LocalGenerator(embedded_model_path, name="smollm2-135m", batch_size=4)
    elif request.param == "llamacpp":
        pytest.importorskip("llama_cpp")
        from tunegate.models.llamacpp import LlamaCppGenerator

        yield LlamaCppGenerator(None)
    else:
        from tunegate.models.remote import RemoteGenerator
        from tunegate.serve import ModelTable, ServeConfig, load, running
        from tunegate.spec import RemoteSpec

        if request.param == "openai-llamacpp":
            pytest.importorskip("llama_cpp")
            table, config = ModelTable(base=None, base_name="smollm2"), {"engine": "llamacpp"}
        else:
            table, config = ModelTable(base=str(embedded_model_path), base_name="smollm2"), {}
        loaded = load(table, ServeConfig(port=0, batch_wait_ms=20.0, **config))
        with running(loaded) as url:
            spec = RemoteSpec(base_url=f"{url}/v1", model="smollm2", api_key_env=None)
            yield RemoteGenerator(spec)


def test_greedy_answers_are_deterministic_and_in_input_order(engine: Any) -> None:
    reqs = [ask(t, max_tokens=12) for t in ("I was charged twice", "The app crashes", "hi")]
    first = engine.generate(reqs)
    again = engine.generate(list(reversed(reqs)))[::-1]
    alone = [engine.time_one(r) for r in reqs]
    assert [g.text for g in first] == [g.text for g in again] == [g.text for g in alone]
    assert all(g.error is None and g.text for g in first)


def prompt_tokens(model: Path, req: GenRequest) -> int:
    """Tokens of the request's messages through the model's own chat template."""
    from tunegate.models.resolve import load_tokenizer

    tok = load_tokenizer(model)
    text = tok.apply_chat_template(req.messages, tokenize=False, add_generation_prompt=True)
    return len(tok(text, add_special_tokens=False)["input_ids"])


def test_max_tokens_and_usage_counts(engine: Any, embedded_model_path: Path) -> None:
    long, short = ask("Write a long story about a dragon.", max_tokens=5), ask("Say yes.")
    gens = engine.generate([long, short])
    assert gens[0].output_tokens == 5 and gens[0].extra.get("finish", "length") == "length"
    assert 1 <= gens[1].output_tokens <= short.max_tokens
    expected = [prompt_tokens(embedded_model_path, r) for r in (long, short)]
    assert [g.input_tokens for g in gens] == expected


def test_json_schema_constraint_holds(engine: Any) -> None:
    c = Constraint(json_schema=SCHEMA)
    texts = ["I was charged twice this month!", "Login fails with error 500", "Change my email"]
    gens = engine.generate([ask(t, max_tokens=40, constraint=c) for t in texts])
    assert len(gens) == len(texts)
    for g in gens:
        jsonschema.validate(json.loads(g.text), SCHEMA)


def test_label_constraint_answers_one_label(engine: Any) -> None:
    labels = ("billing", "bug", "account")
    gens = engine.generate(
        [ask("My card was declined", max_tokens=8, constraint=Constraint(labels=labels))]
    )
    assert gens[0].text in labels


def test_time_one_measures_latency_and_first_token(engine: Any) -> None:
    gen = engine.time_one(ask("Hello there", max_tokens=8))
    assert gen.latency_ms is not None and gen.ttft_ms is not None
    assert 0 < gen.ttft_ms <= gen.latency_ms
    assert gen.output_tokens >= 1
