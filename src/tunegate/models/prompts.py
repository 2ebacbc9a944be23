"""What a request becomes before any engine sees it, and what its tokens become after: shared by
the torch engine (models/local.py) and the llama.cpp engine (models/llamacpp.py), so that both
read identical prompt ids, stop at the same tokens, count tokens alike and return the same text.

- `encode_chat`: the messages through the tokenizer's own chat template (ChatML when it has none),
  tokenized without extra special tokens; a prompt that does not fit the context with the
  request's token budget is a per-item error, not an exception.
- `stop_ids`: EOS of the tokenizer and of the generation config, plus the template's end-of-turn
  token (`<|im_end|>` for SmolLM2), found by rendering the template.
- `generation`: a decoded row as a `Generation`: `output_tokens` counts every token produced, the
  final stop token included (as OpenAI-compatible servers count); `text` leaves it out.
- `ChatPrompts`: the same, as methods both engines' generators inherit (prompt ids, rows,
  grammars).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from tunegate.errors import TunegateError
from tunegate.models.base import Constraint, Generation, GenRequest
from tunegate.models.constrain import canonical_label, label_token_cap
from tunegate.models.decode import Row

__all__ = [
    "CHATML",
    "ChatPrompts",
    "encode_chat",
    "generation",
    "new_row",
    "stop_ids",
    "token_budget",
]

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def token_budget(req: GenRequest) -> int:
    """Tokens a request may produce: its max_tokens, raised for a label constraint so that a
    label is never cut short."""
    labels = req.constraint.labels if req.constraint is not None else None
    return max(req.max_tokens, label_token_cap(labels)) if labels else req.max_tokens


def check_request(req: GenRequest, adapters: Collection[str]) -> None:
    """Raise a one-line TunegateError for a request no engine can answer."""
    if req.adapter is not None and req.adapter not in adapters:
        known = ", ".join(sorted(adapters)) or "none loaded"
        raise TunegateError(f"unknown adapter {req.adapter!r} (adapters: {known})")
    if req.max_tokens < 1:
        raise TunegateError(f"max_tokens must be at least 1, got {req.max_tokens}")
    if not req.messages or any("role" not in m or "content" not in m for m in req.messages):
        raise TunegateError("each request needs messages, each with a role and a content")


def over_context(ids: list[int], budget: int, max_positions: int) -> str | None:
    """Why `ids` plus `budget` new tokens do not fit a context of `max_positions` (0: unknown)."""
    if max_positions and len(ids) + budget > max_positions:
        return (
            f"prompt of {len(ids)} tokens + max_tokens {budget} exceeds the "
            f"model's context of {max_positions}"
        )
    return None


def encode_chat(
    tokenizer: Any, req: GenRequest, adapters: Collection[str], max_positions: int
) -> tuple[list[int], str | None]:
    """Prompt token ids (chat template applied), or an error message for this request."""
    check_request(req, adapters)
    template = None if getattr(tokenizer, "chat_template", None) else CHATML
    text = tokenizer.apply_chat_template(
        list(req.messages), tokenize=False, add_generation_prompt=True, chat_template=template
    )
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    return ids, over_context(ids, token_budget(req), max_positions)


def stop_ids(tokenizer: Any, generation_config: Any) -> list[int]:
    """EOS ids of the tokenizer and generation config, plus the template's end-of-turn token."""
    ids: set[int] = set()
    for source in (tokenizer.eos_token_id, getattr(generation_config, "eos_token_id", None)):
        if isinstance(source, int):
            ids.add(source)
        elif isinstance(source, list):
            ids.update(int(x) for x in source)
    mark = "tunegate-end-of-answer"
    template = None if getattr(tokenizer, "chat_template", None) else CHATML
    try:
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": "q"}, {"role": "assistant", "content": mark}],
            tokenize=False,
            chat_template=template,
        )
        after = text.split(mark, 1)[1]
        first = tokenizer(after, add_special_tokens=False)["input_ids"][:1]
        special = set(tokenizer.all_special_ids) | set(tokenizer.added_tokens_decoder)
        ids.update(t for t in first if t in special)
    except (IndexError, ValueError, TypeError):
        pass  # a template that does not echo the answer: EOS alone ends a turn
    return sorted(ids)


def new_row(index: int, req: GenRequest, ids: list[int], grammars: Any) -> Row:
    """The decoding row of a request; `grammars()` builds the grammar compiler on first use."""
    matcher = grammars().matcher(req.constraint) if req.constraint is not None else None
    labels = req.constraint.labels if req.constraint is not None else None
    return Row(
        index,
        ids,
        token_budget(req),
        req.temperature,
        req.top_p,
        req.seed,
        matcher,
        labels=labels,
    )


def generation(row: Row, tokenizer: Any, stops: Collection[int], cached: int) -> Generation:
    """A decoded row as a Generation (`cached`: prompt tokens served from a prefix cache)."""
    body = row.out[:-1] if row.out and row.finish == "stop" and row.out[-1] in stops else row.out
    text = tokenizer.decode(body, skip_special_tokens=True)
    if row.labels:
        text = canonical_label(text, row.labels)
    extra: dict[str, Any] = {"finish": row.finish, "cached_tokens": cached}
    return Generation(text=text, input_tokens=len(row.ids), output_tokens=len(row.out), extra=extra)


class ChatPrompts:
    """What a generator of either engine does with a request before decoding: its prompt ids
    (chat template), its row, and the model's grammar compiler (built on first use)."""

    tokenizer: Any
    adapters: Collection[str]
    max_positions: int
    vocab_size: int
    stop_ids: list[int]
    _grammars: Any = None

    def prompt_ids(self, request: GenRequest) -> list[int]:
        """The token ids the model reads for `request`: its messages through the chat template."""
        return self._encode(request)[0]

    def grammars(self) -> Any:
        """This model's grammar compiler and cache (built on first use)."""
        if self._grammars is None:
            from tunegate.models.constrain import Grammars

            self._grammars = Grammars(self.tokenizer, self.vocab_size, self.stop_ids)
        return self._grammars

    def compile(self, constraint: Constraint) -> None:
        """Compile a constraint ahead of time (raises TunegateError when it is invalid)."""
        self.grammars().compiled(constraint)

    def _encode(self, req: GenRequest) -> tuple[list[int], str | None]:
        """Prompt token ids (chat template applied), or an error message for this request."""
        return encode_chat(self.tokenizer, req, self.adapters, self.max_positions)

    def _row(self, index: int, req: GenRequest, ids: list[int]) -> Row:
        return new_row(index, req, ids, self.grammars)
