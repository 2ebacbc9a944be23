# python bench/engine_ladder.py --items 60          (--task DIR, --engines torch,llamacpp, --rungs)
"""The diagnose ladder on each local engine, in one run: wall time, every rung's primary metric
with its 95% CI, and the agreement between the engines item by item (issue 14).

The task folder (default examples/support-tickets; `--task` names another, e.g. a banking77
folder made by bench/banking77.py --keep) is copied once per engine to a temporary folder
without its run store, so each engine generates everything (cold). Every local rung of the task
runs (`--rungs` picks some; the finetuned rung needs `--adapter`), on `--items` seeded test
items. Prints per engine the diagnose wall time and per rung: primary metric [95% CI], and
whether the other engine's value lies in the first engine's CI; then per rung the items whose
answers are identical across engines. Goals (issue 14): llamacpp diagnose >= 2x faster than
torch; every rung's primary metric within torch's 95% CI. Load average printed beside.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def run(task_dir: Path, engine: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from tunegate.data.split import load_dataset
    from tunegate.ladder import DiagnoseOptions, diagnose, select
    from tunegate.ladder.context import Context
    from tunegate.signals import primary_metric
    from tunegate.spec import load_task
    from tunegate.store import Store

    folder = tmp / engine / task_dir.name
    shutil.copytree(task_dir, folder, ignore=shutil.ignore_patterns(".tunegate"))
    task, _ = load_task(folder)
    ctx = Context(task, folder, load_dataset(task, folder), Store(folder))
    rungs = args.rungs.split(",") if args.rungs else None
    if rungs is None:
        rungs = [r.name for r in select(ctx)[0] if r.backend == "local"]
        if args.adapter and "finetuned" not in rungs:  # the copy has no training run of its own
            rungs.append("finetuned")
    ctx.store.close()
    start_load = load()
    t0 = time.perf_counter()
    opts = DiagnoseOptions(rungs=rungs, limit=args.items, engine=engine, adapter=args.adapter)
    res = diagnose(folder, opts)
    wall = time.perf_counter() - t0
    name = primary_metric(task)
    out: dict[str, Any] = {"wall": wall, "load": f"{start_load} -> {load()}", "rungs": {}}
    for r in res.rungs:
        m = next((m for m in r.metrics if m.name == name), None)
        texts = {it.example_id: it.text for it in r.outputs.items}
        out["rungs"][r.rung] = {"metric": m, "texts": texts, "model": r.outputs.model,
                                "seconds": r.seconds}  # fmt: skip
    out["metric_name"] = name
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--task", type=Path, default=ROOT / "examples" / "support-tickets")
    ap.add_argument("--items", type=int, default=60, help="seeded test items (default 60)")
    ap.add_argument("--engines", default="torch,llamacpp")
    ap.add_argument("--rungs", default=None, help="comma-separated (default: every local rung)")
    ap.add_argument("--adapter", default=None, help="adapter folder for the finetuned rung")
    args = ap.parse_args()
    engines = args.engines.split(",")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for engine in engines:
            results[engine] = run(args.task.resolve(), engine, args, Path(tmp))
            r = results[engine]
            print(f"{engine}: diagnose {r['wall']:.0f} s (load {r['load']})", flush=True)
            for rung, x in r["rungs"].items():  # as it comes: a later failure keeps these
                m = x["metric"]
                fig = "—" if m is None else f"{m.value:.3f} [{m.lo:.3f}, {m.hi:.3f}]"
                print(f"  {rung:<22} {fig}  {x['seconds']:.0f} s", flush=True)
    ref_name, ref = engines[0], results[engines[0]]
    print(f"\n{args.task.name}, {args.items} items, primary metric {ref['metric_name']}")
    for engine in engines:
        r = results[engine]
        ratio = ref["wall"] / r["wall"] if r["wall"] else float("nan")
        print(
            f"  {engine:<9} {r['wall']:7.0f} s  ({ratio:.2f}x {ref_name}'s speed; load {r['load']})"
        )
    for rung, base in ref["rungs"].items():
        m0 = base["metric"]
        line = f"  {rung:<22} {engines[0]} {m0.value:.3f} [{m0.lo:.3f}, {m0.hi:.3f}]"
        for engine in engines[1:]:
            other = results[engine]["rungs"].get(rung)
            if other is None or other["metric"] is None or m0 is None:
                continue
            m = other["metric"]
            inside = "inside" if m0.lo <= m.value <= m0.hi else "OUTSIDE"
            same = sum(other["texts"].get(k) == t for k, t in base["texts"].items())
            line += (f" | {engine} {m.value:.3f} [{m.lo:.3f}, {m.hi:.3f}] ({inside} "
                     f"{engines[0]}'s CI) | identical answers {same}/{len(base['texts'])}")  # fmt: skip
        print(line)


if __name__ == "__main__":
    main()
