"""The prompt an adapter is trained on, recorded with it so it is evaluated with the same prompt.

`full` is the task's own prompt (its system text and user template). `compact` keeps the user
template and replaces the system text by one line: the task's `description`, else the system
text's first sentence. The adapter learns the long instructions from the examples instead of
reading them on every request. (A system turn is kept: without one, chat templates such as
SmolLM2's insert a default system prompt of their own.) Neither form lists a label task's labels. Training writes the form it used
to `tunegate_prompt.json` in the adapter folder; an adapter without that file (trained before the
record existed) was trained on the full prompt, and gets it. `prompt: auto` measures both forms on
the dev split and picks one (train/choose.py); the record then says why.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunegate.data.examples import Example
from tunegate.errors import TunegateError
from tunegate.spec import Task

__all__ = ["FORMS", "PROMPT_FILE", "PromptForm", "describe", "load_prompt", "prompt_form"]

PROMPT_FILE = "tunegate_prompt.json"
FORMS = ("full", "compact")  # `prompt: auto` chooses one of these (train/choose.py)
FIRST_SENTENCE = re.compile(r"(.+?[.!?])(?:\s|$)")


@dataclass(frozen=True)
class PromptForm:
    """One prompt form: its name, the system text (may be empty) and the user template; `why`
    says how `prompt: auto` chose it (not part of the prompt: equal forms compare equal)."""

    form: str
    system: str
    user: str
    why: str = field(default="", compare=False)

    def messages(self, task: Task, ex: Example) -> list[dict[str, str]]:
        """Chat messages for one example, no answer. Chat-shaped examples keep their own turns
        (and their own system turn, when they carry one)."""
        sys_turn = [{"role": "system", "content": self.system}] if self.system else []
        if ex.messages:
            turns = [dict(m) for m in ex.messages]
            return turns if turns[0]["role"] == "system" else sys_turn + turns
        values = {name: ex.inputs.get(name, "") for name in task.inputs}
        try:
            user = self.user.format_map(values)
        except (KeyError, IndexError, ValueError) as exc:
            raise TunegateError(
                f"the adapter's prompt template {self.user!r} does not fit the task's inputs "
                f"({', '.join(task.inputs)}): {exc}"
            ) from exc
        return [*sys_turn, {"role": "user", "content": user}]

    def to_json(self) -> dict[str, str]:
        out = {"form": self.form, "system": self.system, "user": self.user}
        return {**out, "why": self.why} if self.why else out

    def record(self) -> str:
        """The record's text, as `tunegate_prompt.json` holds it."""
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"


def prompt_form(task: Task, form: str) -> PromptForm:
    """The task's prompt in `form` (full or compact)."""
    if form == "full":
        return PromptForm("full", task.prompt.system or "", task.prompt.user)
    if form == "compact":
        line = " ".join((task.description or "").split())
        if not line:
            system = " ".join((task.prompt.system or "").split())
            line = m.group(1) if (m := FIRST_SENTENCE.match(system)) else system
        return PromptForm("compact", line, task.prompt.user)
    if form == "auto":
        raise TunegateError("prompt auto is resolved to full or compact before training starts "
                            "(tunegate.train.choose)")  # fmt: skip
    raise TunegateError(f"prompt: expected full or compact, got {form!r}")


def load_prompt(folder: str | Path, task: Task) -> PromptForm:
    """The prompt recorded with the adapter in `folder`; the task's full prompt when there is no
    record (an adapter trained before prompts were recorded, or made by another tool)."""
    path = Path(folder) / PROMPT_FILE
    if not path.exists():
        return prompt_form(task, "full")
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        return PromptForm(str(data["form"]), str(data["system"]), str(data["user"]),
                          why=str(data.get("why", "")))  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TunegateError(
            "unreadable prompt record (expected JSON with form, system and user)", str(path)
        ) from exc


def describe(run_id: str, prompt: dict[str, str] | None) -> str:
    """One line for the report: which prompt the adapter of training run `run_id` was trained on
    and is sent (its run summary's `prompt`), and why that one."""
    if not prompt:
        return (f"The fine-tuned adapter (training run {run_id}) predates prompt records: it was "
                "trained on, and is sent, the task's full prompt.")  # fmt: skip
    why = prompt.get("why") or f"set by the run's settings (prompt: {prompt.get('form')})"
    return (f"The fine-tuned adapter (training run {run_id}) was trained on, and is sent, the "
            f"{prompt.get('form')} prompt (system text: {prompt.get('system', '')!r}); {why}.")  # fmt: skip
