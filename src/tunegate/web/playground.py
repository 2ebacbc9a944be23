"""The playground: one input through chosen rungs, side by side, with latency and tokens.

Each rung builds its request exactly as diagnose does (`Rung.build` on a one-example list) and
its generator answers it alone (`time_one`, the latency a user of `serve` sees). No answer is
cached or stored: it is a look, not a measurement. The loaded model is kept for the next try
(one task's generators at a time), so a second question does not reload it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunegate.data.examples import Example, content_id
from tunegate.data.split import load_dataset
from tunegate.errors import TunegateError
from tunegate.spec import load_task
from tunegate.store import Store


@dataclass(frozen=True)
class Answer:
    rung: str
    text: str
    latency_ms: float | None
    input_tokens: int
    output_tokens: int
    error: str | None


def rung_choices(folder: Path) -> tuple[list[str], dict[str, str]]:
    """The rungs that apply to the task now (names) and the others with their reasons."""
    from tunegate.ladder import select
    from tunegate.ladder.context import Context

    task, folder = load_task(folder)
    store = Store(folder)
    try:
        ctx = Context(task, folder, load_dataset(task, folder), store)
        chosen, skipped = select(ctx, list(_all()))
        return [r.name for r in chosen], skipped
    finally:
        store.close()


_LOCK = threading.Lock()  # one playground answer at a time: the engines are not thread-safe
_KEPT: dict[tuple[str, ...], Any] = {}  # the last task's Generators, by what they were bound to


def _generators(key: tuple[str, ...], bind: Any) -> Any:
    """The Generators bound to `key`, built (and the previous ones dropped) when it changed."""
    from tunegate.ladder import Generators

    if key not in _KEPT:
        _KEPT.clear()
        gens = Generators()
        bind(gens)
        _KEPT[key] = gens
    return _KEPT[key]


def _all() -> tuple[str, ...]:
    from tunegate.spec import RUNG_NAMES

    return RUNG_NAMES


def play(folder: Path, inputs: dict[str, str], rungs: list[str]) -> list[Answer]:
    """Answer one example (its input fields) with each named rung, in ladder order."""
    from tunegate.ladder import select
    from tunegate.ladder.context import Context

    if not rungs:
        raise TunegateError("choose at least one rung", "rungs")
    task, folder = load_task(folder)
    if not any(v.strip() for v in inputs.values()):
        raise TunegateError("type an input first", "input")
    values = {k: inputs.get(k, "") for k in task.inputs}
    ex = Example(content_id(values, [], ""), values, "", "playground")
    with Store(folder) as store, _LOCK:
        ctx = Context(task, folder, load_dataset(task, folder), store)
        chosen, skipped = select(ctx, rungs)
        needs_adapter = any(r.name == "finetuned" for r in chosen)
        adapter = ctx.adapter if needs_adapter else None
        key = (str(folder), str(adapter), str(task.model), str(task.engine), str(task.remote))
        gens = _generators(key, lambda g: g.bind(task, folder, adapter))
        out = [Answer(name, "", None, 0, 0, reason) for name, reason in skipped.items()]
        for rung in chosen:
            (req,) = rung.build(ctx, [ex])
            gen = gens.get(rung.backend).time_one(req)
            out.append(
                Answer(
                    rung.name,
                    gen.text,
                    gen.latency_ms,
                    gen.input_tokens,
                    gen.output_tokens,
                    gen.error,
                )  # fmt: skip
            )
    order = {name: i for i, name in enumerate(_all())}
    return sorted(out, key=lambda a: order.get(a.rung, 99))
