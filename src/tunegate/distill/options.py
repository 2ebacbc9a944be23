"""The settings of one distillation, shared by the CLI (whose option help is read from here) and
the Python API (`tunegate.flows.distill`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEFAULT_PRESET", "DistillOptions"]

DEFAULT_PRESET = "quick"


@dataclass
class DistillOptions:
    """Settings of one distillation (shared by the CLI and the Python API)."""

    teacher: str = field(metadata={"help": "The teacher's OpenAI-compatible base URL (…/v1)."})
    inputs: Path = field(metadata={"help": "JSONL/JSON/CSV of unlabeled inputs (task fields)."})
    model: str | None = field(
        default=None, metadata={"help": "Teacher model name (default: the endpoint's only one)."}
    )
    api_key_env: str | None = field(
        default=None, metadata={"help": "Environment variable holding the teacher's API key."}
    )
    preset: str | None = field(
        default=DEFAULT_PRESET, metadata={"help": "Training preset (or a .yaml file)."}
    )
    steps: int | None = field(default=None, metadata={"help": "Training steps (overrides epochs)."})
    limit: int | None = field(
        default=None, metadata={"help": "Compare on a seeded subset of N held-out items."}
    )
    out: Path | None = field(
        default=None, metadata={"help": "The distilled task's folder (default <task>/distilled)."}
    )
    concurrency: int | None = field(
        default=None, metadata={"help": "Teacher requests in flight (default: task's remote, 4)."}
    )
    max_bad_share: float = field(
        default=0.05,
        metadata={"help": "Stop when more than this share of inputs got no valid label."},
    )
    show_progress: bool = True
