"""Diagnose wall time: every local rung on the demo's held-out items, cold then cached.

Run: PYTHONPATH=src python bench/diagnose.py [--items 200] [--task examples/support-tickets]
The task folder is copied to a temporary folder without its run store, so the cold run
generates everything (model load, retrieval index, generation, timing, signals). The second
run on the same store must answer from the cache. Prints per-rung time and throughput, both
wall times and their ratio. Goal (issue 3): cold <= 5 min on this 2-core machine.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

GOAL_S = 300.0


def main() -> None:
    from tunegate.data.split import load_dataset
    from tunegate.ladder import DiagnoseOptions, diagnose, select
    from tunegate.ladder.context import Context
    from tunegate.spec import load_task
    from tunegate.store import Store

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="examples/support-tickets")
    ap.add_argument("--items", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "task"
        shutil.copytree(args.task, folder, ignore=shutil.ignore_patterns(".tunegate"))
        task, _ = load_task(folder)
        ctx = Context(task, folder, load_dataset(task, folder), Store(folder))
        rungs = [r.name for r in select(ctx)[0] if r.backend == "local"]
        ctx.store.close()
        opts = DiagnoseOptions(rungs=rungs, limit=args.items)
        t0 = time.perf_counter()
        cold = diagnose(folder, opts)
        cold_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        diagnose(folder, opts)
        warm_s = time.perf_counter() - t0
    n = len(cold.item_ids)
    print(f"{task.name}: {len(rungs)} local rungs x {n} items")
    for r in cold.rungs:
        tps = r.outputs.throughput_tok_s or 0.0
        print(f"  {r.rung:<22} {r.seconds:7.1f} s  {tps:8.1f} output tok/s (batch)")
    print(
        f"cold diagnose: {cold_s:.1f} s (goal <= {GOAL_S:.0f} s: {'met' if cold_s <= GOAL_S else 'NOT met'})"
    )
    print(f"cached re-run: {warm_s:.1f} s  (cold / cached = {cold_s / max(warm_s, 1e-9):.1f}x)")


if __name__ == "__main__":
    main()
