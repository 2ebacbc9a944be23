"""The example record every stage shares, and how an example becomes chat messages."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tunegate.spec import Task


@dataclass(frozen=True)
class Example:
    """One row of the user's data, normalized whatever its file shape.

    Column-shaped and alpaca rows fill `inputs`; sharegpt and OpenAI-chat rows fill `messages`
    with the turns before the expected answer. `target` is the expected output as text (JSON
    outputs canonicalized when the file held an object). `id` is a content hash, so identical
    rows share it and ids survive reordering the file.
    """

    id: str
    inputs: dict[str, str]
    target: str
    source: str
    messages: tuple[dict[str, str], ...] = ()
    missing: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "inputs": self.inputs,
            "messages": list(self.messages),
            "target": self.target,
            "source": self.source,
        }


def content_id(inputs: dict[str, str], messages: list[dict[str, str]], target: str) -> str:
    """A stable 16-hex-digit id from the example's content."""
    blob = json.dumps([inputs, messages, target], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def input_text(ex: Example) -> str:
    """The example's input as one string (for duplicates, leakage, retrieval and token counts)."""
    if ex.messages:
        return "\n".join(m["content"] for m in ex.messages if m.get("role") != "system")
    return "\n".join(v for v in ex.inputs.values() if v)


def render_user(task: Task, ex: Example) -> str:
    """The task's user template filled with the example's input fields."""
    values = {name: ex.inputs.get(name, "") for name in task.inputs}
    return task.prompt.user.format_map(values)


def to_messages(task: Task, ex: Example, system: str | None = None) -> list[dict[str, str]]:
    """Chat messages for one example: the system prompt, then the user turn(s), no answer.

    `system` overrides the task's system prompt (rungs add labels, examples or documents to it).
    """
    sys_text = task.prompt.system if system is None else system
    if ex.messages:
        turns = [dict(m) for m in ex.messages]
        if turns[0]["role"] == "system":
            if system is not None:
                turns[0]["content"] = f"{system}\n\n{turns[0]['content']}"
            return turns
        return ([{"role": "system", "content": sys_text}] if sys_text else []) + turns
    msgs = [{"role": "system", "content": sys_text}] if sys_text else []
    return [*msgs, {"role": "user", "content": render_user(task, ex)}]


def stratum(task: Task, ex: Example) -> str | None:
    """The value a split is stratified by: the label, or the JSON field named in output.stratify."""
    if task.output.type == "label":
        return ex.target
    if task.output.type == "json" and task.output.stratify:
        try:
            value = json.loads(ex.target).get(task.output.stratify)
        except (ValueError, AttributeError):
            return None
        return None if value is None else str(value)
    return None


def label_set(task: Task, targets: Iterable[str]) -> list[str] | None:
    """The label set of a label task: output.labels, else the training targets by frequency
    (then name). None for other output types."""
    if task.output.type != "label":
        return None
    if task.output.labels:
        return list(task.output.labels)
    counts = Counter(t.strip() for t in targets if t.strip())
    return sorted(counts, key=lambda lab: (-counts[lab], lab))
