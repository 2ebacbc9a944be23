"""`prompt: auto`: choose the prompt an adapter trains on by measuring both forms on the dev split.

Before the run, each form (full, compact; train/prompt.py) trains `probe_steps` optimizer steps from
the same LoRA init on the same batches, on the run's own schedule squeezed into those steps; then
the loss on the run's validation (dev) split is computed for each. Both losses are the mean
cross-entropy of the same answer tokens, so they compare directly. The lower loss wins, except
that a form within `TOLERANCE` of the best and cheaper per request (fewer input tokens) wins
instead: equal learning, fewer tokens on every request. The probes are thrown away: the run then
starts afresh with the chosen form (the same init, batches and schedule as a run that set that
form itself), and a time budget (`minutes`) is charged the probes' time.

No probe runs when there is nothing to measure: when the two forms are the same text (a one-line
system prompt and no description), or when the run has no dev split (`val_fraction: 0`, or too few
examples); compact is then taken, as the benchmarks favour (docs/benchmarks.md). The choice and its
reason travel with the adapter (`tunegate_prompt.json`'s `why`), the run's config
(`prompt_choice`) and the report.
"""

from __future__ import annotations

import gc
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tunegate.spec import Task
from tunegate.train.config import TrainConfig
from tunegate.train.prompt import FORMS, PromptForm, prompt_form

__all__ = ["TOLERANCE", "Choice", "Probe", "choose_prompt"]

TOLERANCE = 0.02  # a dev loss within 2% of the best counts as learning as well


@dataclass(frozen=True)
class Probe:
    """One form's short run: its dev-split loss and what it costs."""

    form: str
    dev_loss: float
    steps: int
    seconds: float
    tokens_per_example: float  # mean real tokens of a training example (prompt + answer)
    input_tokens: float  # mean prompt tokens of a dev example: what a request reads


@dataclass(frozen=True)
class Choice:
    """The form chosen, in words, with the probes behind it (empty when nothing was measured)."""

    form: str
    why: str
    probes: list[Probe] = field(default_factory=list)
    seconds: float = 0.0
    dev_examples: int = 0

    def prompt(self, task: Task) -> PromptForm:
        """The chosen prompt form, carrying the reason it was chosen."""
        chosen = prompt_form(task, self.form)
        return PromptForm(chosen.form, chosen.system, chosen.user, why=self.why)

    def record(self) -> dict[str, Any]:
        """What the run's config keeps (`prompt_choice`)."""
        return {"asked": "auto", **asdict(self)}

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> Choice | None:
        """The choice a run recorded (a resumed run keeps it), or None."""
        if not record:
            return None
        probes = [Probe(**p) for p in record.get("probes", [])]
        return cls(record["form"], record["why"], probes, float(record.get("seconds", 0.0)),
                   int(record.get("dev_examples", 0)))  # fmt: skip


def _probe(
    task: Task,
    model_path: Path,
    data: Any,
    cfg: TrainConfig,
    accelerator: Any,
    where: str,
    form: str,
) -> Probe:
    from tunegate.train.loop import evaluate, train_step
    from tunegate.train.session import build

    short = cfg.model_copy(update={"prompt": form, "steps": cfg.probe_steps, "minutes": None})
    loop = build(task, model_path, data, short, accelerator, where).loop
    t0 = time.perf_counter()
    for step in range(loop.total_steps):
        train_step(loop, step)
    dev = evaluate(loop)
    seconds = time.perf_counter() - t0
    assert dev is not None  # _probe runs only with a dev split
    probe = Probe(
        form=form,
        dev_loss=dev,
        steps=loop.total_steps,
        seconds=seconds,
        tokens_per_example=sum(len(e.ids) for e in loop.train) / max(1, len(loop.train)),
        input_tokens=sum(e.prompt_len for e in loop.val) / max(1, len(loop.val)),
    )
    del loop
    gc.collect()
    return probe


def decide(probes: list[Probe], dev_examples: int) -> Choice:
    """The rule, on measured probes: the lowest dev loss, unless a cheaper form is within
    TOLERANCE of it."""
    best = min(probes, key=lambda p: p.dev_loss)
    near = [p for p in probes if p.dev_loss <= best.dev_loss * (1 + TOLERANCE)]
    chosen = min(near, key=lambda p: (p.input_tokens, p.dev_loss))
    losses = ", ".join(f"{p.form} {p.dev_loss:.4f}" for p in probes)
    tokens = ", ".join(f"{p.form} {p.input_tokens:.0f}" for p in probes)
    why = (
        f"prompt auto: dev-split loss after {probes[0].steps} steps of each form on "
        f"{dev_examples} dev examples: {losses}; input tokens per request: {tokens}; "
    )
    if chosen is best:
        why += f"{chosen.form} learns best"
        if len(near) > 1:
            why += " and is the cheapest within 2% of it"
    else:
        why += (
            f"{chosen.form} is within {TOLERANCE:.0%} of {best.form}'s loss and reads "
            f"{best.input_tokens - chosen.input_tokens:.0f} fewer input tokens per request"
        )
    seconds = sum(p.seconds for p in probes)
    return Choice(chosen.form, why, probes, seconds, dev_examples)


def choose_prompt(
    task: Task, model_path: Path, data: Any, cfg: TrainConfig, accelerator: Any, where: str
) -> Choice:
    """The prompt form for a `prompt: auto` run on `data` (a RunData: train and dev examples)."""
    full, compact = (prompt_form(task, f) for f in FORMS)
    if (full.system, full.user) == (compact.system, compact.user):
        return Choice("compact", "prompt auto: the full and compact prompts are the same text")
    if not data.val:
        return Choice(
            "compact",
            "prompt auto: no dev split to measure on (val_fraction 0, or too few examples); "
            "compact, the form the benchmarks favour, with fewer tokens per request",
        )
    probes = [_probe(task, model_path, data, cfg, accelerator, where, f) for f in FORMS]
    return decide(probes, len(data.val))
