"""The settings of one diagnose, shared by the CLI (whose option help is read from here) and the
Python API; a module of its own so the CLI reads them without loading the ladder."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DiagnoseOptions"]


@dataclass
class DiagnoseOptions:
    """Settings of one diagnose (shared by the CLI and the Python API)."""

    rungs: list[str] | None = field(
        default=None,
        metadata={"help": "Rungs to run; default task.ladder.rungs, else all that apply."},
    )
    limit: int | None = field(
        default=None, metadata={"help": "Evaluate on a seeded subset of this many test items."}
    )
    chunk_batches: int = field(
        default=1,
        metadata={"help": "Batches generated (and stored) together; the resume granularity."},
    )
    adapter: str | None = field(
        default=None,
        metadata={
            "help": "Fine-tuned rung: this training run id or adapter folder (default: newest)."
        },
    )
    curve: str | None = field(
        default=None,
        metadata={"help": "A learning curve's id: this run measures one of its adapters."},
    )
    engine: str | None = field(
        default=None,
        metadata={"help": "llamacpp, torch or openai: overrides the task's `engine`."},
    )
