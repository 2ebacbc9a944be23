"""Constrained decoding with xgrammar: a `Constraint` becomes a compiled grammar, applied batched.

Three kinds: a JSON Schema (`compile_json_schema`), any JSON object, or exactly one label from a
set (an EBNF choice over the raw label texts, not JSON-quoted). A label may also start with its
first letter's other case and is mapped back to its canonical spelling (`canonical_label`):
otherwise a model that likes to open with a capital picks whichever label happens to have one.
Grammars compile once per (tokenizer, constraint) in a `Grammars`; at each decode step a
`BatchMasker` fills one token bitmask row per constrained sequence and masks the logits in place.
A sequence whose grammar is complete and admits only a stop token next is ended without another
forward pass.

JSON is compact (no free whitespace): a small model given the freedom emits newlines forever.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import torch

from tunegate.errors import TunegateError
from tunegate.models.base import Constraint

__all__ = ["BatchMasker", "Grammars", "canonical_label", "label_ebnf", "label_token_cap"]


def _ebnf_string(text: str) -> str:
    """`text` as an EBNF string literal, escaped for xgrammar's parser."""
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def label_spellings(labels: Iterable[str]) -> dict[str, str]:
    """Every text a label constraint accepts, mapped to its canonical label.

    Each label as written, and with its first letter's case swapped unless that spelling is
    itself a label.
    """
    unique = list(dict.fromkeys(labels))
    if not unique or any(not lab for lab in unique):
        raise TunegateError("a label constraint needs at least one label, none of them empty")
    spellings = {lab: lab for lab in unique}
    for lab in unique:
        other = lab[0].swapcase() + lab[1:]
        spellings.setdefault(other, lab)
    return spellings


def label_ebnf(labels: Iterable[str]) -> str:
    """An EBNF grammar matching exactly one of `labels` (either case of its first letter)."""
    return "root ::= " + " | ".join(_ebnf_string(s) for s in label_spellings(labels))


@lru_cache(maxsize=64)
def _spellings(labels: tuple[str, ...]) -> dict[str, str]:
    return label_spellings(labels)


def canonical_label(text: str, labels: Sequence[str]) -> str:
    """The label `text` spells (see `label_spellings`), or `text` unchanged if it spells none."""
    return _spellings(tuple(labels)).get(text, text)


def label_token_cap(labels: Sequence[str]) -> int:
    """Tokens that always suffice to finish any label (a token is at least one byte) plus a stop."""
    return max(len(lab.encode("utf-8")) for lab in labels) + 1


def constraint_kind(c: Constraint) -> str | None:
    """'json_schema', 'labels', 'any_json', or None for a constraint that restricts nothing."""
    kinds = [
        k
        for k, on in (
            ("json_schema", c.json_schema is not None),
            ("labels", c.labels is not None),
            ("any_json", c.any_json),
        )
        if on
    ]
    if len(kinds) > 1:
        raise TunegateError(f"a constraint takes one of json_schema, labels, any_json; got {kinds}")
    return kinds[0] if kinds else None


class Grammars:
    """Compiled grammars for one tokenizer and model vocabulary, each compiled once."""

    def __init__(self, tokenizer: Any, vocab_size: int, stop_ids: Sequence[int]) -> None:
        import xgrammar as xgr

        self.vocab_size = vocab_size  # the model's (config.vocab_size), may exceed the tokenizer's
        self.stop_ids = sorted(set(stop_ids))
        info = xgr.TokenizerInfo.from_huggingface(
            tokenizer, vocab_size=vocab_size, stop_token_ids=self.stop_ids
        )
        self._compiler = xgr.GrammarCompiler(info, max_threads=1)
        self._compiled: dict[str, Any] = {}

    def compiled(self, constraint: Constraint) -> Any | None:
        """The compiled grammar of `constraint` (None when it restricts nothing)."""
        kind = constraint_kind(constraint)
        if kind is None:
            return None
        key = constraint.key()
        if key not in self._compiled:
            self._compiled[key] = self._compile(constraint, kind)
        return self._compiled[key]

    def _compile(self, c: Constraint, kind: str) -> Any:
        import xgrammar as xgr

        from tunegate.models.schema_support import unsupported_feature

        feature = unsupported_feature(c.json_schema) if kind == "json_schema" else None
        if feature is not None:
            raise TunegateError(
                f"the JSON Schema uses {feature}, which constrained decoding (xgrammar) cannot "
                "enforce; remove it or express it with enum, anyOf or pattern"
            )
        try:
            if kind == "labels":
                assert c.labels is not None
                return self._compiler.compile_grammar(xgr.Grammar.from_ebnf(label_ebnf(c.labels)))
            schema = c.json_schema if kind == "json_schema" else {"type": "object"}
            return self._compiler.compile_json_schema(json.dumps(schema), any_whitespace=False)
        except (RuntimeError, ValueError) as exc:
            what = "JSON Schema" if kind == "json_schema" else "constraint"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TunegateError(
                f"cannot compile the {what} for constrained decoding: {first}"
            ) from exc

    def matcher(self, constraint: Constraint | None) -> Any | None:
        """A fresh matcher for one sequence, or None when unconstrained."""
        import xgrammar as xgr

        compiled = None if constraint is None else self.compiled(constraint)
        return None if compiled is None else xgr.GrammarMatcher(compiled)


class BatchMasker:
    """One batch's token bitmask: filled per constrained row each step, applied to the logits."""

    def __init__(self, grammars: Grammars, rows: int) -> None:
        import xgrammar as xgr

        self._xgr = xgr
        self.bitmask = xgr.allocate_token_bitmask(rows, grammars.vocab_size)
        self._batch = xgr.BatchGrammarMatcher(max_threads=1)
        nonstop = torch.ones(grammars.vocab_size, dtype=torch.bool)
        nonstop[grammars.stop_ids] = False
        self._nonstop = _pack_bits(nonstop)  # bit set for every token that is not a stop token
        self._filled: list[int] = []

    def fill(self, rows: Sequence[Any]) -> None:
        """Fill the bitmask rows of unfinished constrained rows; end rows that can only stop."""
        idx = [j for j, r in enumerate(rows) if r.matcher is not None and r.finish is None]
        self._filled = idx
        if not idx:
            return
        self._batch.batch_fill_next_token_bitmask([rows[j].matcher for j in idx], self.bitmask, idx)
        for j in idx:
            if rows[j].matcher.is_completed() and not (self.bitmask[j] & self._nonstop).any():
                rows[j].finish = "stop"

    def apply(self, logits: torch.Tensor) -> None:
        """Mask (in place) the logits of the rows filled last, to their grammar's next tokens."""
        if self._filled:
            self._xgr.apply_token_bitmask_inplace(logits, self.bitmask, indices=self._filled)

    def select(self, keep: torch.Tensor) -> None:
        """Keep only the batch rows in `keep` (after finished rows leave the batch)."""
        kept, filled = keep.tolist(), set(self._filled)
        self._filled = [new for new, old in enumerate(kept) if old in filled]
        self.bitmask = self.bitmask.index_select(0, keep).contiguous()


def _pack_bits(allowed: torch.Tensor) -> torch.Tensor:
    """A bool vector as xgrammar's int32 bitmask layout (bit k of word w is token 32*w + k)."""
    words = (allowed.numel() + 31) // 32
    padded = torch.zeros(words * 32, dtype=torch.int64)
    padded[: allowed.numel()] = allowed.to(torch.int64)
    weights = torch.ones(32, dtype=torch.int64) << torch.arange(32, dtype=torch.int64)
    packed = (padded.view(words, 32) * weights).sum(dim=1)
    return torch.where(packed >= 2**31, packed - 2**32, packed).to(torch.int32)
