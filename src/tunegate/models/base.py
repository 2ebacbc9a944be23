"""What every generator (local model, remote endpoint, server) takes and returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Constraint:
    """Restrict decoding: to a JSON Schema, to any JSON object, or to one label of a set."""

    json_schema: dict[str, Any] | None = None
    labels: tuple[str, ...] | None = None
    any_json: bool = False

    def key(self) -> str:
        """What decides a constrained answer: the constraint, and how labels are decoded."""
        import json

        fields = asdict(self)
        if self.labels is not None:
            fields["spelling"] = 2  # labels may start with either case (models/constrain.py)
        return json.dumps(fields, sort_keys=True)


@dataclass(frozen=True)
class GenRequest:
    """One chat request: messages in, at most `max_tokens` out, optionally constrained."""

    messages: list[dict[str, str]]
    max_tokens: int = 128
    constraint: Constraint | None = None
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    adapter: str | None = None


@dataclass
class Generation:
    """The answer to one request, with what it cost.

    `latency_ms` and `ttft_ms` are set only when the request was timed alone (single-request
    mode); in batch mode the batch's wall time is shared out in `batch_ms`.
    """

    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float | None = None
    ttft_ms: float | None = None
    batch_ms: float | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Generation:
        return cls(**d)


Progress = Callable[[int, int], None]
"""Called as progress(items_done_now, output_tokens_now) after each batch."""


class Generator(Protocol):
    """A model that answers requests: `generate` for throughput, `time_one` for latency."""

    name: str

    def generate(
        self, requests: Sequence[GenRequest], progress: Progress | None = None
    ) -> list[Generation]:
        """Answer all requests (batched as the backend sees fit), in input order."""
        ...

    def time_one(self, request: GenRequest) -> Generation:
        """Answer one request alone and measure its latency and time to first token."""
        ...
