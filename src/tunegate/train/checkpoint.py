"""Resumable checkpoints: adapter, optimizer, scheduler, RNG states and data position, atomically.

A checkpoint is one folder written through `atomic.directory`: a crash or a full disk while
writing leaves the previous checkpoint whole. The data position is just the step count, because
the batch plan is a function of (seed, epoch).
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from tunegate import atomic
from tunegate.errors import TunegateError

STATE_FILE = "trainer.pt"
ADAPTER_DIR = "adapter"
RECORD_FILE = "run.json"


@dataclass
class Progress:
    """Where a run is, in numbers that survive a restart."""

    step: int = 0
    tokens: int = 0
    seconds: float = 0.0
    best_eval: float | None = None
    best_step: int | None = None
    bad_evals: int = 0
    last_loss: float | None = None


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_adapter(
    peft_model: Any,
    path: Path,
    state_dict: dict[str, Any] | None = None,
    files: dict[str, str] | None = None,
) -> None:
    """The adapter alone in PEFT format (loads with PeftModel.from_pretrained), atomically.

    `state_dict`: the model's full state gathered from all processes, when sharded (FSDP).
    `files`: more text files (name -> content) written into the same folder, such as the prompt
    record.
    """
    try:
        with atomic.directory(path) as tmp:
            peft_model.save_pretrained(tmp, state_dict=state_dict)
            for name, text in (files or {}).items():
                (tmp / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise TunegateError(f"could not write the adapter ({exc.strerror or exc}); the previous one is kept",
                            str(path)) from exc  # fmt: skip


def save_checkpoint(
    path: Path,
    peft_model: Any,
    optimizer: Any,
    scheduler: Any,
    progress: Progress,
    record: dict[str, Any],
    rng_states: list[dict[str, Any]],
    state_dict: dict[str, Any] | None = None,
    sharded: bool = False,
) -> None:
    """Write the whole resumable state; on any failure the previous checkpoint is untouched.

    `sharded` (FSDP): each process holds only part of the optimizer state, which is not saved;
    a resumed FSDP run restarts the optimizer's moments (adapter, schedule and data position are kept).
    """
    try:
        with atomic.directory(path) as tmp:
            peft_model.save_pretrained(tmp / ADAPTER_DIR, state_dict=state_dict)
            torch.save(
                {
                    "optimizer": None if sharded else optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "progress": asdict(progress),
                    "rng": rng_states,
                },
                tmp / STATE_FILE,
            )
            (tmp / RECORD_FILE).write_text(
                json.dumps(record, indent=1, default=str), encoding="utf-8"
            )
    except OSError as exc:
        raise TunegateError(
            f"could not write the checkpoint ({exc.strerror or exc}); the previous one is intact",
            str(path),
        ) from exc


def find_checkpoint(path: Path) -> Path | None:
    """The checkpoint folder, or the previous one left beside it by a crash mid-replace."""
    if (path / STATE_FILE).exists():
        return path
    old = path.with_name(f".{path.name}.old")
    if (old / STATE_FILE).exists():
        return old
    return None


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The saved state (optimizer, scheduler, progress, rng) plus `adapter` and `record`."""
    found = find_checkpoint(path)
    if found is None:
        raise TunegateError("no checkpoint to resume from", str(path))
    try:
        state = torch.load(found / STATE_FILE, weights_only=False)
        record = json.loads((found / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, RuntimeError, ValueError) as exc:
        raise TunegateError(
            f"unreadable checkpoint: {str(exc).splitlines()[0]}", str(found)
        ) from exc
    state["adapter"] = found / ADAPTER_DIR
    state["record"] = record
    state["progress"] = Progress(**state["progress"])
    return state
