"""Instruction rewrites by the remote model, when the task has a usable `remote:` endpoint.

Each rewrite request is cached in the run store like any answer, so a resumed search asks once.
A failed or empty rewrite is left out (the built-in rewrites still stand).
"""

from __future__ import annotations

from typing import Any

from tunegate.ladder import cache
from tunegate.ladder.context import Context
from tunegate.models.base import GenRequest

REWRITES = {
    "remote-clear": "Make it clearer and more explicit, so that nothing is left to guess.",
    "remote-short": "Make it shorter and more direct.",
}
ASK = (
    "Rewrite this task instruction for a small language model so that it follows it more "
    "accurately. {how} Keep every fact, label, field name and output rule. Reply with the new "
    "instruction only.\n\nInstruction:\n{instruction}"
)
SYSTEM = "You improve instructions (system prompts) for small language models."


def remote_rewrites(ctx: Context, generators: Any) -> dict[str, str]:
    """name -> instruction rewritten by the remote model (empty without a usable endpoint)."""
    from tunegate.ladder.remote_rung import skip

    base = ctx.task.prompt.system.strip() or ctx.task.description.strip()
    if generators is None or not base or skip(ctx) is not None:
        return {}
    assert ctx.task.remote is not None
    model = f"remote:{ctx.task.remote.base_url}:{ctx.task.remote.model}"
    reqs = {
        name: GenRequest(
            messages=[
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": ASK.format(how=how, instruction=base)},
            ],
            max_tokens=400,
        )
        for name, how in REWRITES.items()
    }
    keys = {name: cache.request_key(model, "optimized:rewrite", r) for name, r in reqs.items()}
    found = cache.cached(ctx.store, list(keys.values()))
    todo = [(keys[n], n, r) for n, r in reqs.items() if keys[n] not in found]
    if todo:
        found.update(
            cache.generate_missing(
                ctx.store, None, "optimized:rewrite", lambda: generators.get("remote"), todo, 8
            )
        )
    out = {}
    for name, key in keys.items():
        g = found.get(key)
        if g is not None and g.error is None and g.text.strip():
            out[name] = g.text.strip()
    return out
