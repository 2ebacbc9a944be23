"""Token counts with the task model's own tokenizer and chat template.

A row's prompt is what the model really reads: the system prompt and the user turn(s) through
the tokenizer's chat template, with the generation prompt. A training sequence is that prompt,
the target, and the template's end-of-turn tokens.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunegate.data.examples import Example, to_messages
from tunegate.spec import Task


@dataclass(frozen=True)
class TokenCounts:
    """Per-row token counts, in the order of the rows given; `context` is the model's window."""

    prompt: list[int]
    target: list[int]
    end_of_turn: int
    context: int | None

    def sequence(self, i: int) -> int:
        """Tokens of row i as a training sequence: prompt + target + end of turn."""
        return self.prompt[i] + self.target[i] + self.end_of_turn


def context_length(model_path: Path, tokenizer: Any) -> int | None:
    """The model's context window: config's max_position_embeddings, else the tokenizer's limit."""
    try:
        config = json.loads((model_path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        if isinstance(config.get(key), int):
            return int(config[key])
    limit = getattr(tokenizer, "model_max_length", None)
    return int(limit) if isinstance(limit, int) and limit < 1_000_000 else None


def _render(tokenizer: Any, conversations: list[list[dict[str, str]]]) -> list[str]:
    if getattr(tokenizer, "chat_template", None):
        out = tokenizer.apply_chat_template(
            conversations, add_generation_prompt=True, tokenize=False
        )
        return [str(s) for s in out]
    return ["\n\n".join(m["content"] for m in conv) + "\n\n" for conv in conversations]


def _end_of_turn(tokenizer: Any) -> int:
    """Tokens the template adds after an answer (e.g. `<|im_end|>\\n`), measured on one turn."""
    if not getattr(tokenizer, "chat_template", None):
        return 1 if tokenizer.eos_token else 0
    conv = [{"role": "user", "content": "hi"}]
    prompt = tokenizer.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template(
        [*conv, {"role": "assistant", "content": "ok"}], tokenize=False
    )
    if not str(full).startswith(str(prompt)):
        return 1
    tail = str(full)[len(str(prompt)) :]
    n_tail = len(tokenizer(tail, add_special_tokens=False)["input_ids"])
    return max(n_tail - len(tokenizer("ok", add_special_tokens=False)["input_ids"]), 0)


def count_tokens(
    task: Task, examples: Sequence[Example], tokenizer: Any, model_path: Path
) -> TokenCounts:
    """Prompt and target token counts of every example, tokenized in batches (fast tokenizer)."""
    prompts = _render(tokenizer, [to_messages(task, ex) for ex in examples])
    prompt_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"] if prompts else []
    target_ids = (
        tokenizer([ex.target for ex in examples], add_special_tokens=False)["input_ids"]
        if examples
        else []
    )
    return TokenCounts(
        prompt=[len(x) for x in prompt_ids],
        target=[len(x) for x in target_ids],
        end_of_turn=_end_of_turn(tokenizer),
        context=context_length(model_path, tokenizer),
    )


def summarize(values: Sequence[int]) -> dict[str, float]:
    """p50, p95, max, mean and total of a list of counts (nearest-rank percentiles)."""
    if not values:
        return {"p50": 0, "p95": 0, "max": 0, "mean": 0.0, "total": 0}
    ordered = sorted(values)

    def rank(q: float) -> int:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return {
        "p50": rank(0.5),
        "p95": rank(0.95),
        "max": ordered[-1],
        "mean": round(sum(ordered) / len(ordered), 1),
        "total": sum(ordered),
    }
