"""Cached generation: every answer is stored in the run store under a hash of everything that
decides it (model, adapter, rung, messages, constraint, generation parameters), chunk by chunk
as it completes, so a re-run reuses it and an interrupted diagnose resumes where it stopped.

Failed generations (`error` set) are not stored: a re-run tries them again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tunegate.models.base import Generation, Generator, GenRequest, Progress
from tunegate.store import Store

TIMED = "timed:"  # prefix of the keys under which single-request timings are stored
TIMING_DONE = "timing-done:"  # marks a rung's timing sample as complete (budget reached)


def adapter_id(path: str | None) -> str | None:
    """An adapter's identity for cache keys: its path plus the size and mtime of its files."""
    if path is None:
        return None
    p = Path(path)
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else []
    stamp = [(str(f.relative_to(p)), f.stat().st_size, int(f.stat().st_mtime)) for f in files]
    return f"{p}:{hashlib.sha256(json.dumps(stamp).encode()).hexdigest()[:12]}"


def request_key(model: str, rung: str, req: GenRequest, adapter: str | None = None) -> str:
    """The cache key of one request: a hash of everything that decides its answer."""
    blob = json.dumps(
        {
            "model": model,
            "adapter": adapter,
            "rung": rung,
            "messages": req.messages,
            "constraint": req.constraint.key() if req.constraint else None,
            "max_tokens": req.max_tokens,
            "temperature": req.temperature,
            "top_p": req.top_p,
            "seed": req.seed,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def cached(store: Store, keys: Sequence[str]) -> dict[str, Generation]:
    return {k: Generation.from_json(p) for k, p in store.outputs(keys).items()}


def generate_missing(
    store: Store,
    run_id: str | None,
    rung: str,
    generator: Callable[[], Generator],
    todo: Sequence[tuple[str, str, GenRequest]],
    chunk_size: int,
    progress: Progress | None = None,
) -> dict[str, Generation]:
    """Generate (key, example_id, request) items in chunks, storing each chunk as it completes.

    `generator` is called only when there is something to generate. A chunk's wall time is
    shared out in `batch_ms` when the backend did not set it.
    """
    out: dict[str, Generation] = {}
    if not todo:
        return out
    gen = generator()
    for start in range(0, len(todo), chunk_size):
        chunk = todo[start : start + chunk_size]
        t0 = time.perf_counter()
        gens = gen.generate([req for _, _, req in chunk], progress)
        share = (time.perf_counter() - t0) * 1000 / len(chunk)
        for g in gens:
            if g.batch_ms is None and g.error is None:
                g.batch_ms = share
        store.put_outputs(
            [
                (key, rung, ex_id, g.to_json())
                for (key, ex_id, _), g in zip(chunk, gens, strict=True)
                if g.error is None
            ],
            run_id,
        )
        out.update({key: g for (key, _, _), g in zip(chunk, gens, strict=True)})
    return out


def _timing_key(sample_keys: Sequence[str]) -> str:
    return TIMING_DONE + hashlib.sha256("".join(sample_keys).encode()).hexdigest()


def timing_done(store: Store, sample_keys: Sequence[str]) -> bool:
    """Whether this sample of requests was already timed to completion (or to its budget)."""
    return bool(sample_keys) and bool(store.outputs([_timing_key(sample_keys)]))


def mark_timing_done(
    store: Store, sample_keys: Sequence[str], rung: str, run_id: str | None, timed: int
) -> None:
    store.put_outputs([(_timing_key(sample_keys), rung, "", {"timed": timed})], run_id)
