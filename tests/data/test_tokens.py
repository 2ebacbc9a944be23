"""Token counts agree with the model's own chat template; percentiles are nearest-rank."""

from __future__ import annotations

from pathlib import Path

from tunegate.data.examples import Example, to_messages
from tunegate.data.tokens import count_tokens, summarize
from tunegate.models.resolve import load_tokenizer
from tunegate.spec import parse_task


def test_counts_match_the_chat_template(embedded_model_path: Path) -> None:
    task = parse_task(
        {
            "name": "t",
            "inputs": ["q"],
            "prompt": {"system": "Be brief.", "user": "{q}"},
            "output": {"field": "a"},
            "data": {"train": "x.jsonl"},
        }
    )
    rows = [
        Example("1", {"q": "Where is my card?"}, '{"a": 1}', "x.jsonl:1"),
        Example("2", {"q": "Bonjour, ma carte ne marche plus."}, "card_not_working", "x.jsonl:2"),
    ]
    tok = load_tokenizer(embedded_model_path)
    counts = count_tokens(task, rows, tok, embedded_model_path)
    assert counts.context == 8192
    for i, ex in enumerate(rows):
        msgs = to_messages(task, ex)
        prompt = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        full = tok.apply_chat_template(
            [*msgs, {"role": "assistant", "content": ex.target}], tokenize=False
        )
        assert counts.prompt[i] == len(tok(prompt, add_special_tokens=False)["input_ids"])
        assert counts.sequence(i) == len(tok(full, add_special_tokens=False)["input_ids"])


def test_summarize_uses_nearest_rank() -> None:
    assert summarize(list(range(1, 101))) == {
        "p50": 50,
        "p95": 95,
        "max": 100,
        "mean": 50.5,
        "total": 5050,
    }
    assert summarize([7]) == {"p50": 7, "p95": 7, "max": 7, "mean": 7.0, "total": 7}
    assert summarize([])["total"] == 0
