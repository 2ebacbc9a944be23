"""Export a trained adapter: a copy of it (PEFT format), or a merged Hugging Face model folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tunegate import atomic
from tunegate.errors import TunegateError
from tunegate.models.resolve import load_causal_lm, resolve_model
from tunegate.runs import latest_adapter
from tunegate.spec import load_task
from tunegate.train.model import quiet_loading


def export(
    task: str | Path, out: str | Path, run_id: str | None = None, merge: bool = False
) -> Path:
    """Write the run's adapter (default: the latest finished run) to `out`, merged into the base
    model when `merge` (a standalone HF folder that loads with AutoModelForCausalLM)."""
    spec, folder = load_task(task)
    rid, adapter = latest_adapter(spec, folder, run_id)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise TunegateError(
            "output folder exists and is not empty; choose another or remove it", str(out)
        )
    if not merge:
        with atomic.directory(out) as tmp:
            shutil.copytree(adapter, tmp, dirs_exist_ok=True)
        return out
    from peft import PeftModel

    base = resolve_model(spec.model, folder)
    quiet_loading()
    model, tok = load_causal_lm(base)
    merged = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    try:
        with atomic.directory(out) as tmp:
            merged.save_pretrained(tmp, safe_serialization=True)
            tok.save_pretrained(tmp)
            (tmp / "tunegate-source.json").write_text(
                json.dumps({"base": str(base), "adapter": str(adapter), "run": rid}),
                encoding="utf-8",
            )
    except OSError as exc:
        raise TunegateError(
            f"could not write the merged model ({exc.strerror or exc})", str(out)
        ) from exc
    return out
