"""`tunegate train` as a Python function: resolve settings, train, record the run, resume it.

A run lives in the task's run store (kind "train", its resolved settings as config, per-step
metrics) and in `<task>/.tunegate/train/<run_id>/`: `adapter/` (the best adapter by validation
loss, PEFT format, with the prompt it was trained on in `tunegate_prompt.json`; the store's
artifact "adapter") and `checkpoint/` (everything needed to resume).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunegate.data.split import load_dataset
from tunegate.errors import TunegateError
from tunegate.models.resolve import resolve_model
from tunegate.spec import Task, load_task, task_path
from tunegate.store import Run, Store
from tunegate.train.config import DEFAULT_PRESET, TrainConfig, config_diff, resolve_config
from tunegate.train.prompt import prompt_form

if TYPE_CHECKING:
    from tunegate.train.loop import StepInfo

# torch loads only when a run starts: `latest_adapter` serves the ladder, the report and the server.

log = logging.getLogger(__name__)
RESUMABLE = ("running", "interrupted", "failed")


@dataclass(frozen=True)
class TrainResult:
    """What a finished run produced."""

    run_id: str
    adapter: Path
    steps: int
    total_steps: int
    train_examples: int
    val_examples: int
    final_loss: float | None
    best_eval_loss: float | None
    best_step: int | None
    stopped_early: bool
    seconds: float
    tokens_per_s: float
    fraction: float
    # the prompt form the adapter was trained on (form, system, user), as its folder records it
    prompt: dict[str, str] = field(default_factory=dict)
    main_process: bool = True  # under accelerate launch, every process returns a result


def run_dir(store: Store, run_id: str) -> Path:
    return store.root / "train" / run_id


def _resumable(store: Store, run_id: str | None) -> Any:
    from tunegate.train.checkpoint import find_checkpoint

    if run_id:
        run_ = store.run(run_id)
        if run_.kind != "train":
            raise TunegateError(
                f"run {run_id!r} is a {run_.kind} run, not a training run", str(store.path)
            )
        if run_.status == "done":
            raise TunegateError(
                f"run {run_id!r} already finished; nothing to resume", str(store.path)
            )
        return run_
    for r in store.runs("train"):
        if r.status in RESUMABLE and find_checkpoint(run_dir(store, r.id) / "checkpoint"):
            return r
    raise TunegateError("no interrupted training run with a checkpoint to resume; run without --resume",
                        str(store.path))  # fmt: skip


def _same_settings(saved: dict[str, Any], now: dict[str, Any], run_id: str, source: str) -> None:
    """Refuse to resume a run whose settings, data, base model or process count changed."""
    # a setting the checkpoint predates ran as that setting's default (a speed lever, say)
    defaults = {
        k: f.default for k, f in TrainConfig.model_fields.items() if k not in saved["train"]
    }
    differ = config_diff({**defaults, **saved["train"]}, now["train"])
    differ += [f"{k} {saved.get(k)!r} -> {now[k]!r}" for k in ("model", "data", "processes")
               if saved.get(k) != now[k]]  # fmt: skip
    if "prompt" in saved and saved["prompt"] != now["prompt"]:  # the task's prompt text changed
        differ.append(f"prompt {saved['prompt']!r} -> {now['prompt']!r}")
    if differ:
        raise TunegateError(
            f"cannot resume {run_id}: settings differ from its checkpoint: {'; '.join(differ)} "
            "(undo the change, or start a new run without --resume)",
            source,
        )


def _plan_budget(
    loop: Any, cfg: Any, saved: dict[str, Any] | None, accelerator: Any, spent: float = 0.0
) -> int:
    """Steps for a time budget less `spent` seconds: timed now (about 5% of the budget), or the
    resumed run's own."""
    from tunegate.train.timing import fit_steps, measure

    planned = saved.get("planned_steps") if saved else None
    if planned is None:
        speed = measure(loop, max_steps=6, max_seconds=min(30.0, max(6.0, cfg.minutes * 3)))
        budget = max(cfg.minutes * 60 - spent, cfg.minutes * 6)  # probes take at most 90%
        planned = fit_steps(speed, loop.steps_per_epoch, loop.total_steps, budget)
        planned = _broadcast(accelerator, planned)
    return int(planned)


def _broadcast(accelerator: Any, value: Any) -> Any:
    if accelerator.num_processes == 1:
        return value
    from accelerate.utils import broadcast_object_list

    return broadcast_object_list([value])[0]


def train(
    task: str | Path = ".",
    preset: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    resume: bool = False,
    run_id: str | None = None,
    show_progress: bool = True,
    callback: Callable[[StepInfo], None] | None = None,
    curve: str | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Fine-tune the task's model with LoRA on its train split; resume a stopped run with `resume`.

    `overrides` are training settings (TrainConfig fields) on top of the preset and the task
    file's `train:` section. Raises TrainInterrupted (a KeyboardInterrupt) after Ctrl-C, once the
    checkpoint is saved, or once `should_stop()` (polled after each step) returns True.
    """
    from tunegate.train.checkpoint import Progress, load_checkpoint, set_rng_state
    from tunegate.train.loop import Output, TrainInterrupted, run, save_best
    from tunegate.train.session import build, carve, make_accelerator, make_scheduler

    spec, folder = load_task(task)
    source = str(task_path(task))
    if run_id and not resume:
        raise TunegateError("--run names a run to continue: use it with --resume")
    accelerator = make_accelerator()
    with accelerator.main_process_first():  # two processes creating the store at once collide
        store = Store(folder)
    saved: dict[str, Any] | None = None
    ckpt: dict[str, Any] | None = None
    if resume:
        previous = _resumable(store, run_id)
        ckpt = load_checkpoint(run_dir(store, previous.id) / "checkpoint")
        saved = ckpt["record"]
        run_id = previous.id
        preset = preset or saved["preset"]
        # the run's own options, then any given now: a resume without options changes nothing
        overrides = {
            **saved.get("options", {}),
            **{k: v for k, v in (overrides or {}).items() if v is not None},
        }
        saved["train"].setdefault("prompt", "full")  # checkpointed before prompt forms: full
        if overrides.get("prompt", "auto") == "auto":  # the form it trains on, not a new choice
            overrides["prompt"] = saved["train"]["prompt"]
    options = {k: v for k, v in (overrides or {}).items() if v is not None}
    cfg = resolve_config(preset, spec.train, options, task_source=source)
    model_path = resolve_model(spec.model, folder)
    data = carve(spec, load_dataset(spec, folder).train, cfg)
    from tunegate.train.choose import Choice, choose_prompt

    choice = Choice.from_record(saved.get("prompt_choice") if saved else None)  # a resumed run's
    if cfg.prompt == "auto":  # measure both forms on the dev split (train/choose.py)
        choice = choose_prompt(spec, model_path, data, cfg, accelerator, source)
        cfg = cfg.model_copy(update={"prompt": choice.form})
    record = {
        "preset": str(preset or DEFAULT_PRESET),
        "options": options,
        "train": cfg.model_dump(),
        "task": spec.name,
        "model": str(model_path),
        "data": data.fingerprint,
        "examples": len(data.train),
        "val_examples": len(data.val),
        "processes": accelerator.num_processes,
        "fraction": cfg.fraction,
        "curve": curve,
        "prompt": (choice.prompt(spec) if choice else prompt_form(spec, cfg.prompt)).to_json(),
        "prompt_choice": choice.record() if choice else None,
    }
    if saved is not None:
        _same_settings(saved, record, str(run_id), source)
    built = build(
        spec, model_path, data, cfg, accelerator, source, ckpt["adapter"] if ckpt else None
    )
    loop = built.loop
    loop.prompt = choice.prompt(spec) if choice else loop.prompt  # with why it was chosen
    if cfg.minutes and not cfg.steps:  # a time budget: as many steps as fit, kept on resume
        spent = choice.seconds if choice else 0.0  # the prompt probes' time
        loop.total_steps = _plan_budget(loop, cfg, saved, accelerator, spent)
        loop.scheduler = make_scheduler(loop.optimizer, cfg, loop.total_steps)
        record["planned_steps"] = loop.total_steps
    if accelerator.is_main_process:
        if run_id is None:
            run_id = store.start_run("train", record)
        else:
            store.set_status(run_id, "running")
    run_id = _broadcast(accelerator, run_id)
    assert run_id is not None
    prog = Progress()
    if ckpt is not None:
        if ckpt["optimizer"] is not None:
            loop.optimizer.load_state_dict(ckpt["optimizer"])
        else:
            log.warning(
                "%s: the checkpoint has no optimizer state (sharded run); its moments restart",
                source,
            )
        loop.scheduler.load_state_dict(ckpt["scheduler"])
        set_rng_state(ckpt["rng"][accelerator.process_index])
        prog = ckpt["progress"]
        if accelerator.is_main_process:
            store.truncate_metrics(run_id, prog.step)
    out = Output(
        run_id=run_id,
        run_dir=run_dir(store, run_id),
        record=record,
        log_metrics=lambda step, values: store.log_metrics(run_id, step, values),
        callback=callback,
        show_progress=show_progress,
        should_stop=should_stop,
    )
    try:
        prog, stopped = run(loop, out, prog)
    except TrainInterrupted:
        if accelerator.is_main_process:
            store.set_status(run_id, "interrupted", f"stopped at step {prog.step}")
        raise
    except BaseException as exc:
        if accelerator.is_main_process:
            store.set_status(
                run_id, "failed", str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            )
        raise
    adapter = out.run_dir / "adapter"
    if prog.best_step is None:  # no validation: the final adapter is the one kept
        save_best(loop, adapter)
    if accelerator.is_main_process:
        store.put_artifact(run_id, "adapter", adapter)
        store.put_artifact(run_id, "checkpoint", out.run_dir / "checkpoint")
    result = TrainResult(
        run_id=run_id,
        adapter=adapter,
        steps=prog.step,
        total_steps=loop.total_steps,
        train_examples=len(loop.train),
        val_examples=len(loop.val),
        final_loss=prog.last_loss,
        best_eval_loss=prog.best_eval,
        best_step=prog.best_step,
        stopped_early=stopped,
        seconds=prog.seconds,
        tokens_per_s=prog.tokens / prog.seconds if prog.seconds else 0.0,
        fraction=cfg.fraction,
        prompt=record["prompt"],
        main_process=accelerator.is_main_process,
    )
    if accelerator.is_main_process:
        store.put_result(run_id, "summary", {k: v for k, v in result.__dict__.items()
                                              if k not in ("adapter", "main_process")})  # fmt: skip
        store.set_status(run_id, "done")
    accelerator.wait_for_everyone()
    store.close()
    return result


def parse_fractions(text: str) -> list[float]:
    """`0.25,0.5,1.0` -> [0.25, 0.5, 1.0] (sorted, each in (0, 1])."""
    try:
        values = sorted({float(x) for x in text.split(",") if x.strip()})
    except ValueError as exc:
        raise TunegateError(f"--curve: expected fractions like 0.25,0.5,1.0, got {text!r}") from exc
    if not values or any(not 0 < v <= 1 or not math.isfinite(v) for v in values):
        raise TunegateError(f"--curve: each fraction must be in (0, 1], got {text!r}")
    return values


def train_curve(
    task: str | Path,
    fractions: Sequence[float],
    preset: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    evaluate: bool = True,
    limit: int | None = None,
    console: Any = None,
    **kwargs: Any,
) -> list[TrainResult]:
    """One run per nested fraction of the train split (smallest first), tagged with a shared curve
    id; then (`evaluate`) each adapter through diagnose's fine-tuned rung on the same held-out
    items (`limit`, default: as the latest diagnose), so the report can draw the learning curve."""
    import time

    tag = f"curve-{time.strftime('%Y%m%d-%H%M%S')}"
    results = []
    for f in sorted(fractions):
        results.append(
            train(task, preset, {**(overrides or {}), "fraction": f}, curve=tag, **kwargs)
        )
    if evaluate and all(r.main_process for r in results):
        evaluate_curve(task, tag, [r.run_id for r in results], limit, console)
    return results


def evaluate_curve(
    task: str | Path, tag: str, run_ids: Sequence[str], limit: int | None, console: Any = None
) -> list[str]:
    """Diagnose's fine-tuned rung with each run's adapter, on the items of the latest diagnose
    (or `limit`); each diagnose records the curve tag and its adapter run. Returns their ids."""
    from tunegate.ladder import DiagnoseOptions, diagnose

    if limit is None:
        _, folder = load_task(task)
        store = Store(folder)
        try:
            main = next((r for r in store.runs("diagnose")
                         if r.status == "done" and not r.config.get("curve")), None)  # fmt: skip
        finally:
            store.close()
        limit = main.config.get("limit") if main else None
    out = []
    for rid in run_ids:
        options = DiagnoseOptions(rungs=["finetuned"], limit=limit, adapter=rid, curve=tag)
        out.append(diagnose(task, options, console=console).run_id)
    return out


def whole_split(run: Run) -> bool:
    """Trained on the whole train split (not a learning curve's smaller fraction)."""
    return float(run.config.get("fraction") or 1.0) >= 1.0


def adapter_path(store: Store, run: Run) -> Path | None:
    """A finished run's adapter folder on disk (a relative artifact path is read against the task
    folder, then the store folder), or None."""
    if run.kind != "train" or run.status != "done":
        return None
    path = store.artifacts(run.id).get("adapter")
    if not path:
        return None
    for candidate in (Path(path), store.root.parent / path, store.root / path):
        if candidate.is_dir():
            return candidate.resolve()
    return None


def pick_adapter(
    store: Store, run_id: str | None = None, before: float | None = None
) -> tuple[str, Path] | None:
    """The one rule for "the latest adapter", used by diagnose's fine-tuned rung, the report,
    the server's task alias and export: the run `run_id` if given; else the newest finished
    training run with an adapter on disk that was trained on the whole train split; else the
    newest finished one (a learning curve's fractions only). `before` (a time) ignores runs
    that finished later. None when there is none."""
    if run_id is not None:
        path = adapter_path(store, store.run(run_id))
        return (run_id, path) if path is not None else None
    found = [
        (run, path)
        for run in store.runs("train")  # newest first
        if (before is None or run.updated <= before)
        and (path := adapter_path(store, run)) is not None
    ]
    best = next((f for f in found if whole_split(f[0])), found[0] if found else None)
    return (best[0].id, best[1]) if best else None


def latest_adapter(
    task: Task | str | Path, folder: Path | None = None, run_id: str | None = None
) -> tuple[str, Path]:
    """(run id, adapter folder) by `pick_adapter`'s rule; a one-line error when there is none."""
    if not isinstance(task, Task):
        _, folder = load_task(task)
    assert folder is not None
    store = Store(folder)
    try:
        found = pick_adapter(store, run_id)
        if found is None and run_id is None:
            raise TunegateError("no finished training run; run `tunegate train` first", str(folder))
        if found is None:
            raise TunegateError(f"run {run_id} has no adapter on disk", str(folder))
        return found
    finally:
        store.close()
