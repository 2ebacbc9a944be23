"""Every run in the task's store, whoever started it (CLI, demo, UI): kind, settings, status and
figures, read from the store alone. A training run's loss and validation-loss curves come from
the metrics the training loop logs at each step, so a run started from a terminal is followed
live here too."""

from __future__ import annotations

import time
from typing import Any

from tunegate.store import Run, Store

LIVE_RUN = ("running", "queued")
# settings of a training run shown in the list (the detail page shows them all)
TRAIN_KEYS = ("rank", "layers", "lr", "steps", "epochs", "minutes", "batch_size", "prompt")


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def settings(run: Run) -> str:
    """The settings that tell runs of a kind apart, as one short line."""
    c = run.config
    if run.kind == "train":
        cfg = c.get("train") or {}
        parts = [f"preset {c.get('preset', '?')}"]
        parts += [f"{k} {cfg[k]}" for k in TRAIN_KEYS if cfg.get(k) is not None]
        if c.get("fraction", 1.0) != 1.0:
            parts.append(f"fraction {c['fraction']}")
        return ", ".join(parts)
    if run.kind == "diagnose":
        rungs = c.get("rungs") or []
        items = c.get("items") or c.get("limit")
        return f"rungs {', '.join(rungs) or 'all that apply'}" + (
            f"; {items} items" if items else ""
        )
    if run.kind == "check":
        return f"model {c.get('model', '?')}"
    return ", ".join(f"{k} {v}" for k, v in c.items() if isinstance(v, str | int | float))[:160]


def figures(store: Store, run: Run) -> str:
    """The run's headline figures, as one line (what it produced, or how far it got)."""
    if run.kind == "train":
        return _train_figures(store, run)
    if run.kind == "check":
        ck = store.result(run.id, "check") or {}
        rows = ck.get("rows") or {}
        return f"{ck.get('verdict', '?')}; " + ", ".join(f"{k} {v:,}" for k, v in rows.items())
    if run.kind == "diagnose":
        summary = store.result(run.id, "summary") or {}
        primary = summary.get("primary")
        parts = []
        for name, payload in store.results(run.id).items():
            if not name.startswith("rung."):
                continue
            m = next((m for m in payload.get("metrics", []) if m["name"] == primary), None)
            value = "—" if m is None else f"{m['value']:.3f}"
            parts.append(f"{name[5:]} {value}")
        head = f"{primary} per rung: " if primary and parts else ""
        return head + "; ".join(parts) if parts else ""
    return ""


def _train_figures(store: Store, run: Run) -> str:
    summary = store.result(run.id, "summary") if run.status == "done" else None
    if summary:
        parts = [f"{summary.get('steps')} steps", f"final loss {summary.get('final_loss', 0):.4f}"]
        if summary.get("best_eval_loss") is not None:
            parts.append(f"best validation loss {summary['best_eval_loss']:.4f}")
        if summary.get("tokens_per_s"):
            parts.append(f"{summary['tokens_per_s']:,.0f} tokens/s")
        return ", ".join(parts)
    loss = store.metrics(run.id, "loss")
    if not loss:
        return "no step yet"
    total = run.config.get("planned_steps") or (run.config.get("train") or {}).get("steps")
    step = f"step {loss[-1][0]}" + (f"/{total}" if total else "")
    return f"{step}, loss {loss[-1][2]:.4f}"


def run_rows(store: Store) -> list[dict[str, Any]]:
    """Every run, newest first, as rows for the Runs table."""
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "status": r.status,
            "live": r.status in LIVE_RUN,
            "when": _when(r.created),
            "settings": settings(r),
            "figures": figures(store, r),
            "note": r.note,
        }
        for r in store.runs()
    ]


def curve(store: Store, run_id: str) -> dict[str, Any]:
    """A training run's curves: loss per step, validation loss per evaluation, tokens/s."""
    loss = [(s, v) for s, _, v in store.metrics(run_id, "loss")]
    evals = [(s, v) for s, _, v in store.metrics(run_id, "eval_loss")]
    tps = [v for _, _, v in store.metrics(run_id, "tokens_per_s")]
    return {
        "points": len(loss),
        "step": loss[-1][0] if loss else 0,
        "loss": loss[-1][1] if loss else None,
        "eval_loss": evals[-1][1] if evals else None,
        "tps": tps[-1] if tps else None,
        "svg": curve_svg(loss, evals),
    }


def curve_svg(
    loss: list[tuple[int, float]],
    evals: list[tuple[int, float]] | None = None,
    width: int = 560,
    height: int = 200,
) -> str:
    """Training loss per step (blue line) and validation loss (red dots) as an inline SVG."""
    evals = evals or []
    every = loss + evals
    if not every:
        return ""
    steps = [p[0] for p in every]
    values = [p[1] for p in every]
    x0, x1 = min(steps), max(max(steps), min(steps) + 1)
    y0, y1 = min(values), max(values)
    y1 = y1 if y1 > y0 else y0 + 1.0
    pad = 30

    def xy(step: int, v: float) -> tuple[float, float]:
        x = pad + (step - x0) / (x1 - x0) * (width - 2 * pad)
        y = height - pad - (v - y0) / (y1 - y0) * (height - 2 * pad)
        return x, y

    line = " ".join("{:.1f},{:.1f}".format(*xy(s, v)) for s, v in loss)
    dots = "".join(
        '<circle class="eval" cx="{:.1f}" cy="{:.1f}" r="3.5" fill="#c44e52"/>'.format(*xy(s, v))
        for s, v in evals
    )
    label = "training loss per step" + (" and validation loss" if evals else "")
    return (
        f'<svg class="curve" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{label}">'
        + (
            f'<polyline fill="none" stroke="#2563eb" stroke-width="2" points="{line}"/>'
            if loss
            else ""
        )
        + dots
        + f'<text x="{pad}" y="14" font-size="11">loss {y1:.3f}</text>'
        f'<text x="{pad}" y="{height - 8}" font-size="11">loss {y0:.3f} · step {x0}–{x1}'
        + (" · red: validation" if evals else "")
        + "</text></svg>"
    )
