"""What a rung produced on the held-out split: the records that flow from rungs to signals.

The ladder fills these from the run store's cached generations; the signal modules read them
and return `Metric`s. Nothing here runs a model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ItemOutput:
    """One test example's expected output beside what the rung answered."""

    example_id: str
    expected: str
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    error: str | None = None
    samples: list[str] = field(default_factory=list)  # extra answers at temperature > 0


@dataclass
class RungOutputs:
    """Everything one rung produced, plus how it was priced and timed.

    `latencies_ms`/`ttft_ms` come from requests timed one at a time (as a user sees them);
    `throughput_tok_s` is output tokens per second in batch mode (for self-hosted cost).
    """

    rung: str
    model: str
    items: list[ItemOutput]
    remote: bool = False
    latencies_ms: list[float] = field(default_factory=list)
    ttft_ms: list[float] = field(default_factory=list)
    throughput_tok_s: float | None = None
    requests_per_s: float | None = None
    wall_s: float = 0.0
    skipped: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RungOutputs:
        items = [ItemOutput(**i) for i in d.get("items", [])]
        return cls(**{**d, "items": items})


# the format figure of each output type (json, label, text), in that order: a table or section
# shows the first one a rung measured
FORMAT_METRICS = ("format.schema_valid", "format.valid_label", "format.nonempty")


@dataclass(frozen=True)
class Metric:
    """One measured figure with its sample size and 95% confidence interval.

    `name` is dotted by signal (`format.schema_valid`, `knowledge.field_accuracy.category`,
    `cost.per_month`, `latency.p95_ms`); `higher_is_better` orients comparisons and targets.
    """

    name: str
    value: float
    lo: float
    hi: float
    n: int
    higher_is_better: bool = True
    unit: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def format(self, n: bool = False) -> str:
        """`value [lo, hi]` in the metric's unit (dollars to the cent, milliseconds whole, else
        three decimals); `n` adds the sample size to a figure without a unit."""
        if self.unit == "$":
            return f"${self.value:,.2f} [{self.lo:,.2f}, {self.hi:,.2f}]"
        if self.unit == "ms":
            return f"{self.value:,.0f} ms [{self.lo:,.0f}, {self.hi:,.0f}]"
        return f"{self.value:.3f} [{self.lo:.3f}, {self.hi:.3f}]" + (f" (n={self.n})" if n else "")
