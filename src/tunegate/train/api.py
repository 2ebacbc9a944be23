"""`tunegate train` as a Python function: resolve settings, train, record the run, resume it.

A run lives in the task's run store (kind "train", its resolved settings as config, per-step
metrics) and in `<task>/.tunegate/train/<run_id>/`: `adapter/` (the best adapter by validation
loss, PEFT format, with the prompt it was trained on in `tunegate_prompt.json`; the store's
artifact "adapter") and `checkpoint/` (everything needed to resume).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunegate.data.split import load_dataset
from tunegate.errors import TunegateError
from tunegate.models.resolve import resolve_model
from tunegate.runs import latest_adapter, resumable
from tunegate.spec import load_task, task_path
from tunegate.store import Store
from tunegate.train.config import DEFAULT_PRESET, TrainConfig, config_diff, resolve_config
from tunegate.train.prompt import prompt_form

if TYPE_CHECKING:
    from tunegate.train.loop import StepInfo

# torch loads only when a run starts.

log = logging.getLogger(__name__)
__all__ = ["TrainResult", "latest_adapter", "run_dir", "train"]


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
    for r in resumable(store, "train"):
        if find_checkpoint(run_dir(store, r.id) / "checkpoint"):
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


@dataclass
class _Session:
    """What `_setup` prepares for one run: its store, accelerator, loop, record and progress."""

    store: Store
    accelerator: Any
    cfg: TrainConfig
    record: dict[str, Any]
    loop: Any
    run_id: str
    source: str
    prog: Any


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
    from tunegate.train.loop import Output

    if run_id and not resume:
        raise TunegateError("--run names a run to continue: use it with --resume")
    s = _setup(task, preset, overrides, resume=resume, run_id=run_id, curve=curve)
    out = Output(
        run_id=s.run_id,
        run_dir=run_dir(s.store, s.run_id),
        record=s.record,
        log_metrics=lambda step, values: s.store.log_metrics(s.run_id, step, values),
        callback=callback,
        show_progress=show_progress,
        should_stop=should_stop,
    )
    stopped = _train_loop(s, out)
    result = _save(s, out, stopped)
    _cleanup(s)
    return result


def _setup(
    task: str | Path,
    preset: str | Path | None,
    overrides: dict[str, Any] | None,
    *,
    resume: bool,
    run_id: str | None,
    curve: str | None,
) -> _Session:
    """Resolve the settings (a resumed run's own, checked against now), build the model, loop
    and accelerator, open or restart the run in the store, and restore a checkpoint's state."""
    from tunegate.train.checkpoint import Progress, load_checkpoint
    from tunegate.train.session import build, carve, make_accelerator, make_scheduler

    spec, folder = load_task(task)
    source = str(task_path(task))
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
        prog = _restore(loop, ckpt, accelerator, source)
        if accelerator.is_main_process:
            store.truncate_metrics(run_id, prog.step)
    return _Session(store, accelerator, cfg, record, loop, run_id, source, prog)


def _restore(loop: Any, ckpt: dict[str, Any], accelerator: Any, source: str) -> Any:
    """Put a checkpoint's optimizer, scheduler and random state back; return its progress."""
    from tunegate.train.checkpoint import set_rng_state

    if ckpt["optimizer"] is not None:
        loop.optimizer.load_state_dict(ckpt["optimizer"])
    else:
        log.warning(
            "%s: the checkpoint has no optimizer state (sharded run); its moments restart", source
        )
    loop.scheduler.load_state_dict(ckpt["scheduler"])
    set_rng_state(ckpt["rng"][accelerator.process_index])
    return ckpt["progress"]


def _train_loop(s: _Session, out: Any) -> bool:
    """Run the loop to its end; an interrupted or failed run is marked so in the store. Returns
    whether it stopped early."""
    from tunegate.train.loop import TrainInterrupted, run

    main = s.accelerator.is_main_process
    try:
        s.prog, stopped = run(s.loop, out, s.prog)
    except TrainInterrupted:
        if main:
            s.store.set_status(s.run_id, "interrupted", f"stopped at step {s.prog.step}")
        raise
    except BaseException as exc:
        if main:
            note = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            s.store.set_status(s.run_id, "failed", note)
        raise
    return bool(stopped)


def _save(s: _Session, out: Any, stopped: bool) -> TrainResult:
    """Keep the adapter (the final one when nothing was validated), record the artifacts and the
    summary, and mark the run done."""
    from tunegate.train.loop import save_best

    prog, loop = s.prog, s.loop
    adapter = out.run_dir / "adapter"
    if prog.best_step is None:  # no validation: the final adapter is the one kept
        save_best(loop, adapter)
    result = TrainResult(
        run_id=s.run_id,
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
        fraction=s.cfg.fraction,
        prompt=s.record["prompt"],
        main_process=s.accelerator.is_main_process,
    )
    if s.accelerator.is_main_process:
        s.store.put_artifact(s.run_id, "adapter", adapter)
        s.store.put_artifact(s.run_id, "checkpoint", out.run_dir / "checkpoint")
        s.store.put_result(s.run_id, "summary", {k: v for k, v in result.__dict__.items()
                                                  if k not in ("adapter", "main_process")})  # fmt: skip
        s.store.set_status(s.run_id, "done")
    return result


def _cleanup(s: _Session) -> None:
    """Wait for every process, then close the store."""
    s.accelerator.wait_for_everyone()
    s.store.close()
