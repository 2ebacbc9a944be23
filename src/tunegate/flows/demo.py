"""`tunegate demo`: the whole pipeline on the demo task, on this machine, resumable.

check -> diagnose (the prompt rungs) -> train (quick preset) -> diagnose (the fine-tuned rung, on
the same held-out items) -> report: the README's usual path, so the report is the same whichever
of the two produced the runs. Every stage writes to the task's run store, so running the demo
again after an interruption continues: a diagnose reuses every answer already stored (and a
finished one is not run again), training resumes its checkpoint or reuses a finished run with
the same settings; check is cheap and always runs. At the end: the punchline, which is decide's
verdict on the evidence (whatever it is) with the prompt ceiling set beside the fine-tuned rung
(paired test, cost, latency), then where the report is, the wall time and the peak RSS.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from tunegate.errors import TunegateError
from tunegate.runs import newest
from tunegate.spec import Task
from tunegate.store import Run, Store

DEMO = Path(__file__).resolve().parents[3] / "examples" / "support-tickets"
# The default prompt-only rungs: every local rung that runs by default except few_shot_fixed and
# few_shot (few_shot_constrained adds the constraint to the same retrieved examples). If the demo
# must get faster, it cuts items (--limit), never rungs.
PROMPT_RUNGS = ("zero_shot", "constrained", "few_shot_constrained", "rag")
TUNED = "finetuned"
PRESET = "quick"


@dataclass
class DemoOptions:
    """Settings of one demo (shared by the CLI and the Python API)."""

    folder: Path | None = field(
        default=None, metadata={"help": "The demo task folder (default examples/support-tickets)."}
    )
    limit: int | None = field(
        default=60, metadata={"help": "Held-out items every rung answers (a seeded subset)."}
    )
    rungs: tuple[str, ...] = field(
        default=PROMPT_RUNGS, metadata={"help": "The prompt-only rungs of the first diagnose."}
    )
    steps: int | None = field(
        default=None,
        metadata={"help": "Training steps (default: the quick preset's time budget)."},
    )
    estimate: bool = field(default=True, metadata={"help": "check times a few training steps."})


@dataclass
class DemoResult:
    """What a demo produced: run ids per stage, which stages were reused, the report, the figures."""

    folder: Path
    check_run: str | None = None
    prompt_run: str | None = None
    train_run: str | None = None
    final_run: str | None = None
    reused: list[str] = field(default_factory=list)
    report: Path | None = None
    punchline: str = ""
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mib: float = 0.0


def demo_folder(folder: Path | None = None) -> Path:
    """The demo task folder: given, else examples/support-tickets in this checkout."""
    path = folder or DEMO
    if not (path / "tunegate.yaml").exists():
        raise TunegateError(
            "demo task not found (no tunegate.yaml); run from a clone of the tunegate "
            "repository or pass --folder",
            str(path),
        )
    return path


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (robust to a busy
    machine, unlike wall time)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + child.ru_utime + child.ru_stime


def peak_rss_mib() -> float:
    """Peak resident memory of this process and of its largest finished child, in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    scale = 1 / 2**20 if sys.platform == "darwin" else 1 / 1024  # bytes on macOS, KiB on Linux
    return max(own, child) * scale


def run_demo(options: DemoOptions | Path | None, console: Console) -> DemoResult:
    """Run (or continue) the demo; print each stage, the punchline, the report path, time, RSS."""
    from tunegate.spec import load_task

    opts = options if isinstance(options, DemoOptions) else DemoOptions(folder=options)
    if not opts.rungs or TUNED in opts.rungs or "remote" in opts.rungs:
        raise TunegateError("--rungs: the demo's first diagnose takes local prompt-only rungs")
    start, cpu_start = time.perf_counter(), cpu_seconds()
    task, path = load_task(demo_folder(opts.folder))
    out = DemoResult(path)

    console.rule(f"[bold]1/5 check[/] {path}")
    out.check_run = _check(task, path, opts, console)

    _settle()
    console.rule(f"[bold]2/5 diagnose[/] prompt-only rungs: {', '.join(opts.rungs)}")
    rungs = list(opts.rungs)
    out.prompt_run = _diagnose(path, opts, rungs, None, console, out)
    _settle()

    console.rule(f"[bold]3/5 train[/] LoRA, preset {PRESET}")
    out.train_run = _train(task, path, opts, console, out)
    _settle()

    console.rule(
        f"[bold]4/5 diagnose[/] the fine-tuned rung on the same {opts.limit or 'all'} items"
    )
    out.final_run = _diagnose(path, opts, [TUNED], out.train_run, console, out)
    _settle()

    console.rule("[bold]5/5 report[/]")
    from tunegate.report import build_report
    from tunegate.report.terminal import print_summary

    built = build_report(path)
    print_summary(built.gathered, built.decision, console, built.path)
    out.report = built.path
    out.punchline = punchline(built.gathered, built.decision)
    out.wall_s = time.perf_counter() - start
    out.cpu_s = cpu_seconds() - cpu_start
    out.peak_rss_mib = peak_rss_mib()
    console.rule("[bold]demo done[/]")
    console.print(out.punchline, highlight=False)
    console.print(f"report: {out.report}", highlight=False, soft_wrap=True)
    reused = f" (reused: {', '.join(out.reused)})" if out.reused else ""
    console.print(
        f"wall time {out.wall_s / 60:.1f} min ({out.wall_s:.0f} s, CPU {out.cpu_s:.0f} s){reused}; "
        f"peak RSS {out.peak_rss_mib / 1024:.2f} GiB (this process and its children)",
        highlight=False,
    )
    return out


def _settle() -> None:
    """Free what the finished stage left behind (reference cycles too) and hand it back to the
    OS: the stages share one process, whose peak RSS the demo reports."""
    import gc

    from tunegate.train.loop import release_freed_memory

    gc.collect()
    release_freed_memory()


def _check(task: Task, path: Path, opts: DemoOptions, console: Console) -> str | None:
    from tunegate.check.run import print_report, run_check

    report = run_check(task, path, estimate=opts.estimate)
    print_report(report, console)
    if report.verdict == "fail":
        console.print("[yellow]check failed on some items; the demo continues to show the rest[/]")
    return report.run_id


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def finished_diagnose(
    store: Store, rungs: list[str], limit: int | None, adapter_run: str | None
) -> Run | None:
    """The newest finished diagnose of exactly these rungs on the same items (and adapter)."""
    return newest(
        store,
        "diagnose",
        where=lambda run: (
            sorted(run.config.get("rungs") or []) == sorted(rungs)
            and run.config.get("limit") == limit
            and run.config.get("adapter_run") == adapter_run
            and store.result(run.id, "summary") is not None
        ),
    )


def _diagnose(
    path: Path,
    opts: DemoOptions,
    rungs: list[str],
    adapter_run: str | None,
    console: Console,
    out: DemoResult,
) -> str:
    """A diagnose of `rungs`, or the finished one already in the store."""
    from tunegate.ladder import DiagnoseOptions, diagnose, load
    from tunegate.ladder.table import render

    with Store(path) as store:
        done = finished_diagnose(store, rungs, opts.limit, adapter_run)
        result = load(store, done.id) if done else None
    if result is None:
        options = DiagnoseOptions(rungs=rungs, limit=opts.limit, adapter=adapter_run)
        result = diagnose(path, options, console=console)
    else:
        out.reused.append(f"diagnose {result.run_id}")
        console.print(f"already done: diagnose run {result.run_id} (answers from the store)")
    summary = result.summary_json()
    console.print(render(summary["table"], title=f"{summary['items']} held-out items"))
    console.print(f"diagnose wall time {result.wall_s:.1f} s (run {result.run_id})")
    if TUNED in rungs and TUNED in result.skipped:
        raise TunegateError(f"the fine-tuned rung was skipped: {result.skipped[TUNED]}", str(path))
    return result.run_id


def _train(task: Task, path: Path, opts: DemoOptions, console: Console, out: DemoResult) -> str:
    """Train with the quick preset; resume an interrupted run or reuse a finished one with the
    same settings, model and data."""
    from tunegate.train.api import train

    overrides = {"steps": opts.steps} if opts.steps else {}
    found = _previous_run(task, path, overrides)
    if found is not None and found.status == "done":
        out.reused.append(f"train {found.id}")
        console.print(f"already done: training run {found.id} with the same settings")
        return found.id
    if found is not None:
        console.print(f"resuming training run {found.id} from its checkpoint")
        result = train(path, PRESET, overrides, resume=True, run_id=found.id)
    else:
        result = train(path, PRESET, overrides)
    console.print(
        f"run {result.run_id}: {result.steps} steps on {result.train_examples} examples in "
        f"{result.seconds:.0f} s, {result.tokens_per_s:.0f} tokens/s, "
        f"best eval loss {result.best_eval_loss if result.best_eval_loss is not None else '-'}",
        highlight=False,
    )
    return result.run_id


def _previous_run(task: Task, path: Path, overrides: dict[str, Any]) -> Run | None:
    """The newest training run with these settings, model and data that finished or can resume."""
    from tunegate.data.split import load_dataset
    from tunegate.models.resolve import resolve_model
    from tunegate.runs import RESUMABLE, adapter_path
    from tunegate.spec import task_path
    from tunegate.train.api import run_dir
    from tunegate.train.checkpoint import find_checkpoint
    from tunegate.train.config import resolve_config
    from tunegate.train.session import carve

    cfg = resolve_config(PRESET, task.train, overrides, task_source=str(task_path(path)))
    model = str(resolve_model(task.model, path))
    data = carve(task, load_dataset(task, path).train, cfg).fingerprint
    with Store(path) as store:
        for run in store.runs("train"):
            c = run.config
            if c.get("curve") or c.get("model") != model or c.get("data") != data:
                continue
            if not _same(c.get("train"), cfg.model_dump()):
                continue
            if run.status == "done" and adapter_path(store, run) is not None:
                return run
            if run.status in RESUMABLE and find_checkpoint(run_dir(store, run.id) / "checkpoint"):
                return run
        return None


def punchline(g: Any, d: Any) -> str:
    """decide's verdict on the evidence, with the prompt ceiling beside the fine-tuned rung: the
    paired test on the primary metric, and what each costs per month and how fast it answers."""
    from rich.markup import escape

    from tunegate.report.terminal import VERDICT_STYLE

    style = VERDICT_STYLE.get(d.verdict, "white")
    lines = [f"[bold {style}]{escape(d.verdict)}[/]: {escape(d.headline)}"]
    status = {s.rung: s for s in d.rungs}
    top = status.get(d.ceiling or "")
    tuned = next((s for s in d.rungs if s.kind == "finetuned"), None)
    if top is None or tuned is None:
        return "\n".join(lines)
    pair = next((r for r in d.reasons if r.startswith("prompt ceiling vs fine-tuned:")), None)
    if pair:
        lines.append(escape(pair))
    money = []
    if top.cost_per_month and tuned.cost_per_month:
        money.append(
            f"per month the fine-tuned rung costs {tuned.cost_per_month / top.cost_per_month:.2f}x "
            f"what {top.rung} costs (${tuned.cost_per_month:,.2f} vs ${top.cost_per_month:,.2f})"
        )
    if top.p95_ms and tuned.p95_ms:
        money.append(
            f"its p95 latency is {tuned.p95_ms / top.p95_ms:.2f}x ({tuned.p95_ms:,.0f} vs "
            f"{top.p95_ms:,.0f} ms, {_engine(g)})"
        )
    if money:
        lines.append(escape("; ".join(money)))
    return "\n".join(lines)


def _engine(g: Any) -> str:
    """Where latency was measured (the fine-tuned rung's model label)."""
    tuned = next((r for r in g.evidence.rungs if r.kind == "finetuned"), None)
    return f"measured on {tuned.model}" if tuned is not None else "measured here"
