"""`tunegate export-prompt`: the optimized rung's winning prompt as YAML (or JSON), so a user
keeps what the search found.

The `prompt:` block pastes into tunegate.yaml as is; `few_shot` and `constrained` say how to
send it (the examples to place before the question as user/assistant turns, and whether decoding
must be constrained to the schema / label set).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tunegate import atomic
from tunegate.errors import TunegateError
from tunegate.ladder.optimize import RUN_KIND
from tunegate.spec import load_task
from tunegate.store import STORE_DIR, STORE_FILE, Store

HOW = {
    "similar": "retrieved per request: the k training examples nearest the input (MiniLM "
    "cosine), the nearest last",
    "stratified": "the same examples for every request, one per label (most frequent first)",
    "diverse": "the same examples for every request, spread out in MiniLM space",
}


def winning_prompt(task: str | Path = ".") -> dict[str, Any]:
    """The newest finished search's winner as data (raises a one-line error when none)."""
    spec, folder = load_task(task)
    hint = f"run `tunegate diagnose {task} --rungs optimized` first"
    if not (folder / STORE_DIR / STORE_FILE).exists():
        raise TunegateError(f"no optimized run yet; {hint}", str(folder))
    with Store(folder) as store:
        run = store.latest(RUN_KIND)
        summary = store.result(run.id, "summary") if run else None
    if run is None or not isinstance(summary, dict):
        raise TunegateError(f"no finished optimized run in the store; {hint}", str(folder))
    win = summary["winner"]
    few_shot: dict[str, Any] = {"k": win["k"]}
    if win["k"]:
        few_shot["selection"] = win["select"]
        few_shot["how"] = HOW[win["select"]]
        if win["reverse"]:
            few_shot["order"] = "reversed"
        if summary.get("shot_turns"):
            few_shot["examples"] = [
                {"user": t[0]["content"] if len(t) == 2 else t[:-1], "assistant": t[-1]["content"]}
                for t in summary["shot_turns"]
            ]
    return {
        "prompt": {"system": summary["system"], "user": spec.prompt.user},
        "few_shot": few_shot,
        "constrained": bool(win["constrained"]),
        "candidate": summary["winner_id"],
        "dev_score": round(float(summary["dev_score"]), 4),
        "dev_items": summary["dev_items"],
        "search_run": run.id,
    }


def render(payload: dict[str, Any], fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    head = (
        f"# tunegate export-prompt: the optimized rung's winner ({payload['candidate']}), dev "
        f"score {payload['dev_score']} on {payload['dev_items']} dev items (run "
        f"{payload['search_run']}).\n# Paste `prompt:` into tunegate.yaml; `few_shot` and "
        "`constrained` say how to send it.\n"
    )
    return head + yaml.safe_dump(payload, sort_keys=False, allow_unicode=True, width=100)


def export_prompt(task: str | Path = ".", out: str | Path | None = None) -> str:
    """The winning prompt as YAML (JSON when `out` ends in .json), written to `out` if given."""
    fmt = "json" if out is not None and str(out).endswith(".json") else "yaml"
    text = render(winning_prompt(task), fmt)
    if out is not None:
        atomic.write_text(Path(out), text)
    return text
