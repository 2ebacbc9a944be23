"""`tunegate distill` as a Python function: the teacher labels, the labels are checked, the
student trains on them, and both are measured on the task's held-out split.

1. label: the teacher (any OpenAI-compatible endpoint) answers each unlabeled input with the
   task's prompt, schema-constrained where it allows (cached in the distilled task's run store,
   so an interrupted labelling resumes);
2. write the distilled task folder (`derive`): the teacher's valid answers as its train file,
   the original held-out split as its test split;
3. check: `tunegate check`'s readiness items on it; a fail stops here;
4. train: LoRA on the task's model (`tunegate.train.train`, preset quick by default); a run
   already finished on the same labels and settings is reused, an interrupted one resumed;
5. diagnose: the `finetuned` (student) and `remote` (teacher) rungs on the same split;
6. compare: agreement, accuracy against gold, cost per month and latency of each, stored as
   the distill run's `comparison`; then the report is written.

Everything lands in `<out>/.tunegate/runs.sqlite` (a run of kind "distill" with results
`labels`, `train` and `comparison`), so `tunegate report <out>` rebuilds it without a model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunegate.data.split import load_dataset
from tunegate.distill import derive, teacher
from tunegate.distill.compare import DistillComparison, compare
from tunegate.distill.options import DistillOptions
from tunegate.errors import TunegateError
from tunegate.ladder.context import Context
from tunegate.models.base import Generator
from tunegate.spec import RemoteSpec, Task, load_task
from tunegate.store import Store

RUN_KIND = "distill"


@dataclass
class DistillResult:
    run_id: str
    folder: Path  # the distilled task
    train_file: Path
    labelled: int
    dropped: int
    check_verdict: str
    train_run: str
    comparison: DistillComparison
    report: Path | None = None
    notes: list[str] = field(default_factory=list)


def distill(
    task: str | Path,
    options: DistillOptions,
    *,
    console: Any = None,
    teacher_generator: Callable[[RemoteSpec], Generator] | None = None,
) -> DistillResult:
    """Run the whole distillation (see the module docstring); resumable at every stage."""
    spec, folder = load_task(task)
    inputs = teacher.read_inputs(spec, options.inputs)  # local mistakes first, then the network
    tspec = teacher.teacher_spec(
        spec, options.teacher, options.model, options.api_key_env, options.concurrency
    )
    served = teacher.list_models(tspec)  # an unreachable teacher fails here, at once
    if served and tspec.model not in served:
        raise TunegateError(
            f"the teacher does not serve model {tspec.model!r}; it serves {', '.join(served[:8])}",
            "--model",
        )
    out = options.out or folder / derive.DEFAULT_DIR
    derive.check_target(spec, folder, out)
    store = Store(out)
    config = {"task": spec.name, "teacher": tspec.base_url, "teacher_model": tspec.model,
              "inputs": str(options.inputs), "n_inputs": len(inputs), "preset": options.preset,
              "steps": options.steps, "limit": options.limit}  # fmt: skip
    run_id = store.start_run(RUN_KIND, config)
    try:
        result = _stages(spec, folder, out, tspec, inputs, options, store, run_id, console,
                         teacher_generator)  # fmt: skip
        store.set_status(run_id, "done")
        return result
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        store.set_status(run_id, status, f"{type(exc).__name__}: {exc}"[:300])
        raise
    finally:
        store.close()


def _stages(
    spec: Task,
    folder: Path,
    out: Path,
    tspec: RemoteSpec,
    inputs: list[Any],
    options: DistillOptions,
    store: Store,
    run_id: str,
    console: Any,
    teacher_generator: Callable[[RemoteSpec], Generator] | None,
) -> DistillResult:
    dataset = load_dataset(spec, folder)
    ctx = Context(spec, folder, dataset, store)

    def make() -> Generator:
        if teacher_generator is not None:
            return teacher_generator(tspec)
        from tunegate.models.remote import RemoteGenerator

        return RemoteGenerator(tspec)

    bars = console if options.show_progress else None
    with _bar(bars, "teacher labelling", len(inputs)) as advance:
        got = teacher.label(ctx, tspec, inputs, store, run_id, make, advance)
    notes = _judge(got, len(inputs), options.max_bad_share, options.inputs)
    store.put_result(run_id, "labels", _labels_json(spec, got, len(inputs), tspec))
    if console is not None:
        console.print(
            f"teacher {tspec.model}: {len(got.examples)} of {len(inputs)} inputs labelled "
            f"({got.cached} from the store)" + "".join(f"; {n}" for n in notes)
        )
    task_file = derive.write(
        spec, folder, out, got.examples, dataset.test, tspec, ctx.labels, options.inputs.name
    )
    dspec, dfolder = load_task(task_file)
    verdict = _check(dspec, dfolder, store, console)
    train_run = _train(dfolder, options, store, run_id, console)
    from tunegate.ladder import DiagnoseOptions, diagnose

    result = diagnose(
        dfolder,
        DiagnoseOptions(rungs=["finetuned", "remote"], limit=options.limit, adapter=train_run),
        console=bars,
    )
    from tunegate.spec import output_schema

    schema = output_schema(dspec, dfolder) if dspec.output.type == "json" else None
    try:
        comp = compare(dspec, schema, result, list(dspec.output.labels or []) or None)
    except ValueError as exc:
        raise TunegateError(str(exc), str(dfolder)) from exc
    comp.labelling = store.result(run_id, "labels") or {}
    comp.training = store.result(run_id, "train") or {}
    comp.task_folder = str(dfolder)
    store.put_result(run_id, "comparison", comp.to_json())
    return DistillResult(
        run_id=run_id,
        folder=dfolder,
        train_file=dfolder / derive.TRAIN_FILE,
        labelled=len(got.examples),
        dropped=len(got.failed) + len(got.invalid),
        check_verdict=verdict,
        train_run=train_run,
        comparison=comp,
        notes=notes,
    )


def _judge(got: teacher.Labelled, n: int, max_bad: float, source: Path) -> list[str]:
    """Stop with one line when too many inputs got no valid label; else say what was dropped."""
    notes = []
    if got.failed:
        ex, err = got.failed[0]
        if len(got.failed) > max_bad * n:
            raise TunegateError(
                f"the teacher did not answer {len(got.failed)} of {n} inputs (first, {ex.source}: "
                f"{err}); the {n - len(got.failed)} answers are kept: run the same command again "
                "to ask for the rest",
                str(source),
            )
        notes.append(f"{len(got.failed)} unanswered input(s) left out (first: {err})")
    if got.invalid:
        ex, text, why = got.invalid[0]
        shown = text if len(text) <= 60 else text[:57] + "..."
        if len(got.invalid) > max_bad * n:
            raise TunegateError(
                f"the teacher's answers to {len(got.invalid)} of {n} inputs break the task's "
                f"output contract (first, {ex.source}: {why}: {shown!r}); use a teacher that "
                "follows the task's schema or labels, or fix the task's prompt",
                str(source),
            )
        notes.append(f"{len(got.invalid)} invalid answer(s) left out (first: {why})")
    return notes


def _labels_json(spec: Task, got: teacher.Labelled, n: int, tspec: RemoteSpec) -> dict[str, Any]:
    from tunegate.signals.cost import remote_cost

    return {
        "inputs": n,
        "labelled": len(got.examples),
        "failed": len(got.failed),
        "invalid": len(got.invalid),
        "cached": got.cached,
        "input_tokens": got.input_tokens,
        "output_tokens": got.output_tokens,
        "cost": remote_cost(got.input_tokens, got.output_tokens, spec.prices),
        "teacher": f"{tspec.model} at {tspec.base_url}",
        "invalid_examples": [
            {"source": ex.source, "answer": text[:200], "why": why}
            for ex, text, why in got.invalid[:5]
        ],
    }


def _check(spec: Task, folder: Path, store: Store, console: Any) -> str:
    """The readiness check on the distilled task; a fail stops distillation with its reasons."""
    from tunegate.check.run import run_check

    report = run_check(spec, folder, store)
    failing = [it for it in report.items if it.status == "fail"]
    if failing:
        reasons = "; ".join(f"{it.title}: {it.reason}" for it in failing[:3])
        raise TunegateError(
            f"the teacher's labels fail the readiness check ({reasons}); "
            f"see `tunegate check {folder}`",
            str(folder / derive.TRAIN_FILE),
        )
    if console is not None:
        console.print(f"readiness check of the labels: {report.verdict} (run {report.run_id})")
    return report.verdict


def _train(folder: Path, options: DistillOptions, store: Store, run_id: str, console: Any) -> str:
    """Train the student; reuse a finished run on the same labels and settings, resume an
    interrupted one. Returns the training run id."""
    from tunegate.runs import resumable
    from tunegate.train.api import train

    digest = hashlib.sha256((folder / derive.TRAIN_FILE).read_bytes()).hexdigest()
    key = {"labels_sha256": digest, "preset": options.preset, "steps": options.steps}
    for previous in store.runs(RUN_KIND):
        rec = store.result(previous.id, "train") or {}
        if {k: rec.get(k) for k in key} == key:
            prior = store.run(rec["run_id"]) if rec.get("run_id") else None
            if prior is not None and prior.status == "done" and store.artifacts(prior.id):
                store.put_result(run_id, "train", {**rec, "reused": True})
                if console is not None:
                    console.print(f"student: reusing training run {prior.id} (same labels)")
                return prior.id
    overrides = {"steps": options.steps}
    resume = bool(resumable(store, "train"))
    try:
        res = train(folder, options.preset, overrides, resume=resume,
                    show_progress=options.show_progress)  # fmt: skip
    except TunegateError:
        if not resume:
            raise
        res = train(folder, options.preset, overrides, show_progress=options.show_progress)
    from tunegate.signals.cost import train_price_per_hour, training_cost

    dspec, _ = load_task(folder)
    rec = {**key, "run_id": res.run_id, "steps_done": res.steps, "seconds": res.seconds,
           "examples": res.train_examples, "final_loss": res.final_loss,
           "cost": training_cost(res.seconds, train_price_per_hour(dspec))}  # fmt: skip
    store.put_result(run_id, "train", rec)
    if console is not None:
        console.print(
            f"student: {res.steps} steps on {res.train_examples} examples in {res.seconds:.0f} s "
            f"(run {res.run_id})"
        )
    return res.run_id


class _bar:
    """A rich progress bar on `console` (nothing without one); yields `advance(items, tokens)`."""

    def __init__(self, console: Any, title: str, total: int) -> None:
        self.console, self.title, self.total = console, title, total
        self._progress: Any = None

    def __enter__(self) -> Callable[[int, int], None] | None:
        if self.console is None:
            return None
        from rich.progress import Progress

        self._progress = Progress(console=self.console, transient=True)
        self._progress.start()
        task = self._progress.add_task(self.title, total=self.total)
        return lambda items, _tokens: self._progress.advance(task, items)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
