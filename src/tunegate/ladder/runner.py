"""The runner: every chosen rung on the one held-out split, cached, timed and measured.

For each rung: build its requests, take the answers already in the run store, generate the
missing ones in chunks (each stored as it completes), time `latency_samples` requests one at a
time (their answers count as items too), assemble `RungOutputs`, and measure the signals.
Everything lands in the store as a run of kind "diagnose" so the report rebuilds without a model.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tunegate.data.examples import Example
from tunegate.data.split import load_dataset, sample
from tunegate.fingerprint import task_fingerprint
from tunegate.ladder import cache
from tunegate.ladder.base import Rung
from tunegate.ladder.context import Context
from tunegate.ladder.generators import Generators
from tunegate.ladder.options import DiagnoseOptions
from tunegate.ladder.progress import LadderProgress, RungBar
from tunegate.ladder.result import OPTIMIZED, DiagnoseResult, RungResult, save_rung, save_summary
from tunegate.ladder.rungs import select
from tunegate.models.base import Generation, GenRequest
from tunegate.outputs import ItemOutput, RungOutputs
from tunegate.spec import load_task
from tunegate.store import Store

RUN_KIND = "diagnose"


def held_out(ctx: Context, limit: int | None) -> list[Example]:
    """The held-out split (a seeded subset of `limit` items when given)."""
    test = ctx.dataset.test
    return sample(test, limit, ctx.task.data.seed) if limit else list(test)


def timed_count(latency_samples: int, n: int) -> int:
    """Items timed one at a time: at most half of them, so throughput is measured too."""
    if n <= 1:
        return min(latency_samples, n)
    return min(latency_samples, n // 2)


def model_label(ctx: Context, rung: Rung) -> str:
    if rung.backend == "remote" and ctx.task.remote is not None:
        return f"remote:{ctx.task.remote.base_url}:{ctx.task.remote.model}"
    return ctx.model_id


def decoding(reqs: Sequence[GenRequest]) -> dict[str, Any]:
    """The decoding settings a rung's answers were made with (recorded with its result)."""
    if not reqs:
        return {}
    r = reqs[0]
    kind = None if r.constraint is None else type(r.constraint).__name__
    return {"max_tokens": r.max_tokens, "temperature": r.temperature, "constraint": kind}


def run_rung(
    ctx: Context,
    rung: Rung,
    examples: Sequence[Example],
    generators: Generators,
    run_id: str | None,
    bars: LadderProgress,
    chunk_size: int,
) -> tuple[RungOutputs, list[dict[str, str]], dict[str, Any]]:
    """Answer, time and assemble one rung's outputs; return them with its first prompt and its
    decoding settings.

    Items past the timing sample are generated in batches first (which also warms the model);
    then the sample is timed one request at a time within the latency budget; sample items the
    budget left untimed are batched last.
    """
    reqs = rung.build(ctx, examples)
    model = model_label(ctx, rung)
    adapter = cache.adapter_id(reqs[0].adapter) if reqs and reqs[0].adapter else None
    keys = [cache.request_key(model, rung.name, r, adapter) for r in reqs]
    n_timed = timed_count(ctx.task.ladder.latency_samples, len(reqs))
    answers = cache.cached(ctx.store, keys + [cache.TIMED + k for k in keys[:n_timed]])
    timing_done = cache.timing_done(ctx.store, keys[:n_timed])
    todo = [i for i in range(n_timed, len(reqs)) if keys[i] not in answers]
    missing = sum(1 for k in keys[:n_timed] if k not in answers)
    bar = bars.rung(rung.name, total=len(reqs), done=len(reqs) - len(todo) - missing)

    def batch(idx: list[int]) -> None:
        items = [(keys[i], examples[i].id, reqs[i]) for i in idx]
        answers.update(
            cache.generate_missing(
                ctx.store,
                run_id,
                rung.name,
                lambda: generators.get(rung.backend),
                items,
                chunk_size,
                bar.advance,
            )
        )

    batch(todo)
    samples = list(zip(keys[:n_timed], reqs[:n_timed], examples[:n_timed], strict=True))
    timings = _time_samples(
        ctx, rung, samples, answers, generators, bool(todo), timing_done, run_id, bar
    )
    batch([i for i in range(n_timed) if keys[i] not in answers])
    gens = [answers[k] for k in keys]
    outputs = _assemble(rung, model, examples, gens, timings)
    return outputs, (reqs[0].messages if reqs else []), decoding(reqs)


def _time_samples(
    ctx: Context,
    rung: Rung,
    samples: Sequence[tuple[str, GenRequest, Example]],
    answers: dict[str, Generation],
    generators: Generators,
    warm: bool,
    done: bool,
    run_id: str | None,
    bar: RungBar,
) -> list[Generation]:
    """Latency as a user sees it: sample requests one at a time, until `latency_samples` are
    timed or `latency_budget_s` is spent. Timings are stored (with a marker once the sample is
    complete), so a re-run reuses them; a timed answer also serves as the item's answer."""
    out = [answers[cache.TIMED + k] for k, _, _ in samples if cache.TIMED + k in answers]
    if done or not samples:
        return out
    budget = ctx.task.ladder.latency_budget_s
    start: float | None = None
    for key, req, ex in samples:
        tkey = cache.TIMED + key
        if tkey in answers:
            continue
        if start is not None and out and time.perf_counter() - start > budget:
            break
        gen = generators.get(rung.backend)
        if not warm and rung.backend == "local":
            gen.time_one(req)  # the first call pays for loading and compiling: not a user's latency
            warm = True
        start = start or time.perf_counter()
        bar.note("timing")
        g = gen.time_one(req)
        out.append(g)
        if g.error is None:
            rows = [(tkey, rung.name, ex.id, g.to_json())]
            if key not in answers:
                rows.append((key, rung.name, ex.id, g.to_json()))
            ctx.store.put_outputs(rows, run_id)
            answers[tkey] = g
        if key not in answers:
            answers[key] = g
            bar.advance(1, g.output_tokens)
    bar.note("")
    cache.mark_timing_done(ctx.store, [k for k, _, _ in samples], rung.name, run_id, len(out))
    return out


def _assemble(
    rung: Rung,
    model: str,
    examples: Sequence[Example],
    gens: Sequence[Generation],
    timings: Sequence[Generation],
) -> RungOutputs:
    items = [
        ItemOutput(
            example_id=ex.id,
            expected=ex.target,
            text=g.text,
            input_tokens=g.input_tokens,
            output_tokens=g.output_tokens,
            error=g.error,
        )
        for ex, g in zip(examples, gens, strict=True)
    ]
    batch = [g for g in gens if g.error is None and g.batch_ms]
    batch_s = sum(g.batch_ms or 0.0 for g in batch) / 1000
    ok_timed = [t for t in timings if t.error is None and t.latency_ms is not None]
    return RungOutputs(
        rung=rung.name,
        model=model,
        items=items,
        remote=rung.backend == "remote",
        latencies_ms=[t.latency_ms for t in ok_timed if t.latency_ms is not None],
        ttft_ms=[t.ttft_ms for t in ok_timed if t.ttft_ms is not None],
        throughput_tok_s=sum(g.output_tokens for g in batch) / batch_s if batch_s > 0 else None,
        requests_per_s=len(batch) / batch_s if batch_s > 0 else None,
        wall_s=batch_s + sum(t.latency_ms or 0.0 for t in ok_timed) / 1000,
    )


def ceiling_parent(results: Sequence[RungResult], primary: str) -> RungResult | None:
    """The optimized rung is tested against the best hand-set prompt rung on the test split
    (it becomes its parent); returns the optimized rung when it ran."""
    opt = next((r for r in results if r.rung == OPTIMIZED), None)
    if opt is None:
        return None
    hand = [
        (m.value, r.rung)
        for r in results
        if r.kind == "prompt" and r.rung != OPTIMIZED and (m := r.metric(primary))
    ]
    if hand:
        opt.parent = max(hand, key=lambda t: t[0])[1]
    return opt


def diagnose(
    path: str | Path = ".",
    options: DiagnoseOptions | None = None,
    *,
    generators: Generators | None = None,
    embedder: Any = None,
    console: Any = None,
    measure: bool = True,
    progress: LadderProgress | None = None,
) -> DiagnoseResult:
    """Run the ladder on a task folder; store and return the result.

    `generators` replaces the backends (tests pass scripted ones); `console` (a rich Console)
    shows progress bars, or `progress` (a LadderProgress, e.g. the web UI's) is told instead;
    `measure=False` stops after the outputs (no signals).
    """
    opts = options or DiagnoseOptions()
    task, folder = load_task(path)
    if opts.engine is not None:
        task = task.model_copy(update={"engine": opts.engine})
    store = Store(folder)
    ctx = Context(task, folder, load_dataset(task, folder), store, embedder, opts.adapter)
    examples = held_out(ctx, opts.limit)
    chosen, skipped = select(ctx, opts.rungs)
    gens = generators or Generators()
    gens.bind(task, folder, ctx.adapter if any(r.name == "finetuned" for r in chosen) else None)
    from tunegate.models.engines import hardware

    config = {
        "task": task.name,
        "rungs": [r.name for r in chosen],
        "skipped": skipped,
        "limit": opts.limit,
        "items": len(examples),
        "model": ctx.model_id,
        "engine": ctx.engine.label(),
        "hardware": hardware(),  # what its latency and cost figures hold for
    }
    if any(r.name == "finetuned" for r in chosen):
        config["adapter"] = ctx.adapter
        config["adapter_run"] = ctx.adapter_run
    if opts.curve:
        config["curve"] = opts.curve  # not the main diagnose: `load` and the report pass it over
    for rung in chosen:
        if rung.prepare is not None:
            config.update(rung.prepare(ctx, gens, console))
    run_id = store.start_run(RUN_KIND, config)
    fingerprint = task_fingerprint(task, folder)
    evaluator = None
    if measure:
        from tunegate.ladder.evaluate import Evaluator

        evaluator = Evaluator(ctx, examples)
    start = time.perf_counter()
    results: list[RungResult] = []
    try:
        with (progress or LadderProgress(console)).running() as bars:
            for rung in chosen:
                t0 = time.perf_counter()
                outputs, prompt, settings = run_rung(
                    ctx,
                    rung,
                    examples,
                    gens,
                    run_id,
                    bars,
                    task.ladder.batch_size * opts.chunk_batches,
                )
                seconds = time.perf_counter() - t0
                tuned = rung.kind == "finetuned"
                res = RungResult(
                    rung.name,
                    rung.summary,
                    outputs,
                    prompt,
                    seconds,
                    rung.parent,
                    kind=rung.kind,
                    run_id=run_id,
                    created=time.time(),
                    item_ids=[ex.id for ex in examples],
                    limit=opts.limit,
                    fingerprint=fingerprint,
                    model=outputs.model,
                    adapter=ctx.adapter if tuned else None,
                    adapter_run=ctx.adapter_run if tuned else None,
                    decoding=settings,
                )
                if evaluator is not None:
                    evaluator.measure(res)
                save_rung(store, run_id, res)
                results.append(res)
        result = DiagnoseResult(run_id, task.name, [ex.id for ex in examples], results, skipped)
        result.max_tokens = task.output.max_tokens
        if evaluator is not None:
            result.primary = evaluator.primary
            opt = ceiling_parent(results, evaluator.primary)
            if opt is not None:
                save_rung(store, run_id, opt)
            result.comparisons = evaluator.compare(results)
        result.wall_s = time.perf_counter() - start
        save_summary(store, result)
    except BaseException as exc:
        store.set_status(run_id, "interrupted", f"{type(exc).__name__}: {exc}"[:300])
        raise
    finally:
        store.close()
    return result
