# python bench/banking77.py            (options: --help; about 20 minutes on 2 busy cores)
"""DESIGN.md's reference table on banking77, reproduced with tunegate's public API.

SmolLM2-135M-Instruct (the embedded model) on 300 shuffled banking77 test rows (the task's
`data.test_limit: 300, seed: 0`), three stages, each timed:
(1) `tunegate.ladder.diagnose` with rungs zero_shot (free generation, all 77 labels listed in
    the system prompt) and constrained (decoding constrained to the 77 labels, xgrammar);
(2) `tunegate.train.train` on 2,000 seeded-shuffled train rows, like the LLaMA-Factory reference,
    with the preset's settings and a time budget of the reference's training wall time (592 s);
(3) diagnose with the finetuned rung (the adapter from (2), decoding constrained to the labels);
(4) `finetuned_free`: the same adapter decoding freely, as LLaMA-Factory's 0.307 was measured:
    the like-for-like line. It runs the finetuned rung with its constraint switched off on a
    copy of the task folder (`<folder>-free`), so the task's own store keeps only the product's
    constrained result.
With `--prompt-rungs` the prompt stage runs more rungs (e.g. the whole prompt-only ladder).
Prints accuracy with its 95% CI, the valid-label rate and the time of each stage, with the
reference figures beside them (0.000 / 0.160 / 0.307; goal >= 0.60 fine-tuned + constrained).

The task folder is examples/banking77's tunegate.yaml with data/ written by its convert.py
into a temporary folder (or --keep DIR, reused by a second run: cached answers, trained adapter).
The data comes from $TUNEGATE_DATASETS/banking77 (else ../shared/datasets beside the repo).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _data import banking77_dir

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
EXAMPLE = ROOT / "examples" / "banking77"
REFERENCE = {  # DESIGN.md, "Reference figures to beat": accuracy, valid label, seconds
    "zero_shot": (0.000, 0.000, 296.0, "zero-shot, free, 77 labels listed"),
    "constrained": (0.160, 0.983, 286.0, "zero-shot, constrained to labels"),
    "finetuned": (0.307, 0.657, 592.0, "LLaMA-Factory LoRA, 1 epoch on 2,000 rows"),
}
PROMPT_RUNGS = "zero_shot,constrained"
GOAL = 0.60
REFERENCE_TRAIN_S = 592.0


def make_task(folder: Path, train_rows: int, seed: int) -> Path:
    """examples/banking77 with its converter's data; train cut to a seeded shuffle of N rows."""
    spec = importlib.util.spec_from_file_location("banking77_convert", EXAMPLE / "convert.py")
    assert spec and spec.loader
    convert = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(convert)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE / "tunegate.yaml", folder / "tunegate.yaml")
    convert.convert(banking77_dir(), folder / "data")
    train = folder / "data" / "train.jsonl"
    lines = train.read_text(encoding="utf-8").splitlines()
    random.Random(seed).shuffle(lines)  # the file is sorted by label
    train.write_text("\n".join(lines[:train_rows]) + "\n", encoding="utf-8")
    return folder


def uptime() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def figures(result: Any, name: str) -> dict[str, Any]:
    r = result.rung(name)
    acc, strict, valid = (r.metric(m) for m in ("knowledge.accuracy",
                          "knowledge.accuracy_strict", "format.valid_label"))  # fmt: skip
    return {
        "n": acc.n, "accuracy": acc.value, "lo": acc.lo, "hi": acc.hi,
        "accuracy_strict": strict.value, "valid_label": valid.value, "rung_seconds": r.seconds,
        "errors": r.errors, "prompt_chars": sum(len(m["content"]) for m in r.prompt),
    }  # fmt: skip


def run_diagnose(
    folder: Path, rungs: list[str], adapter: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    from tunegate.ladder import DiagnoseOptions, diagnose

    t0 = time.perf_counter()
    res = diagnose(folder, DiagnoseOptions(rungs=rungs, adapter=adapter, limit=limit))
    wall = time.perf_counter() - t0
    out = {name: figures(res, name) for name in rungs}
    return {"wall_s": wall, "rungs": out, "comparisons": res.comparisons, "load": uptime()}


def run_train(folder: Path, preset: str, overrides: dict[str, Any]) -> dict[str, Any]:
    from tunegate.train import train

    t0 = time.perf_counter()
    r = train(folder, preset, overrides, show_progress=False)
    wall = time.perf_counter() - t0
    return {
        "run_id": r.run_id, "wall_s": wall, "train_s": r.seconds, "steps": r.steps,
        "total_steps": r.total_steps, "train_examples": r.train_examples,
        "val_examples": r.val_examples, "best_eval_loss": r.best_eval_loss,
        "best_step": r.best_step, "stopped_early": r.stopped_early,
        "tokens_per_s": r.tokens_per_s, "load": uptime(),
    }  # fmt: skip


def run_free(folder: Path, adapter: str | None, limit: int | None) -> dict[str, Any]:
    """The adapter decoding unconstrained (see the module docstring, stage 4)."""
    from tunegate.ladder import finetuned

    free = folder.parent / f"{folder.name}-free"
    if not free.exists():
        shutil.copytree(folder, free)
    finetuned.unconstrainable = lambda ctx: "bench: the adapter alone, free decoding"  # type: ignore[assignment]
    return run_diagnose(free, ["finetuned"], adapter, limit)


def fmt_row(label: str, f: dict[str, Any], ref: tuple[float, float, float, str]) -> str:
    acc = f"{f['accuracy']:.3f} [{f['lo']:.3f}, {f['hi']:.3f}]"
    mine = (f"{label:34} {acc:22} {f['accuracy_strict']:6.3f} {f['valid_label']:6.3f} "
            f"{f['rung_seconds']:6.0f} s | ")  # fmt: skip
    if not ref[3]:
        return mine + "no reference"
    return mine + f"{ref[0]:6.3f} {ref[1]:6.3f} {ref[2]:5.0f} s"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--train-rows", type=int, default=2000, help="banking77 train rows (2000)")
    ap.add_argument("--preset", default="quick", help="training preset (quick)")
    ap.add_argument("--set", default="{}", help="JSON training overrides, e.g. '{\"lr\": 1e-3}'")
    ap.add_argument("--budget-s", type=float, default=REFERENCE_TRAIN_S,
                    help="training time budget in seconds (the reference's 592 s); 0: none")  # fmt: skip
    ap.add_argument("--stages", default="prompt,train,finetuned,finetuned_free",
                    help="comma-separated: prompt, train, finetuned, finetuned_free")  # fmt: skip
    ap.add_argument("--prompt-rungs", default=PROMPT_RUNGS,
                    help=f"rungs of the prompt stage ({PROMPT_RUNGS})")  # fmt: skip
    ap.add_argument(
        "--limit", type=int, help="test rows (default: the task's 300); for a smoke run"
    )
    ap.add_argument("--keep", type=Path, help="task folder to create or reuse (default: a temp)")
    ap.add_argument("--json", type=Path, help="also write every figure as JSON here")
    args = ap.parse_args()

    stages = set(args.stages.split(","))
    overrides: dict[str, Any] = json.loads(args.set)
    if args.budget_s and "minutes" not in overrides:
        overrides["minutes"] = args.budget_s / 60
    tmp = None
    if args.keep:
        folder = args.keep
        if not (folder / "tunegate.yaml").exists():
            make_task(folder, args.train_rows, 0)
    else:
        tmp = tempfile.TemporaryDirectory()
        folder = make_task(Path(tmp.name) / "banking77", args.train_rows, 0)
    out: dict[str, Any] = {"load_start": uptime(), "preset": args.preset, "overrides": overrides}
    print(f"banking77 task in {folder}: {args.train_rows} train rows, 300 test rows; "
          f"load average {out['load_start']}", flush=True)  # fmt: skip
    try:
        if "prompt" in stages:
            rungs = args.prompt_rungs.split(",")
            out["prompt"] = run_diagnose(folder, rungs, None, args.limit)
            print(f"prompt-only rungs: {out['prompt']['wall_s']:.0f} s "
                  f"(load {out['prompt']['load']})", flush=True)  # fmt: skip
        if "train" in stages:
            t = out["train"] = run_train(folder, args.preset, overrides)
            print(f"train ({args.preset} {json.dumps(overrides)}): {t['wall_s']:.0f} s wall, "
                  f"{t['steps']}/{t['total_steps']} steps on {t['train_examples']} rows "
                  f"(+{t['val_examples']} validation), {t['tokens_per_s']:.0f} tokens/s, best "
                  f"eval loss {t['best_eval_loss']} at step {t['best_step']} "
                  f"(load {t['load']})", flush=True)  # fmt: skip
        if "finetuned" in stages:
            adapter = out.get("train", {}).get("run_id")
            out["finetuned"] = run_diagnose(folder, ["finetuned"], adapter, args.limit)
            print(f"fine-tuned rung: {out['finetuned']['wall_s']:.0f} s "
                  f"(load {out['finetuned']['load']})", flush=True)  # fmt: skip
        if "finetuned_free" in stages:
            adapter = out.get("train", {}).get("run_id")
            out["finetuned_free"] = run_free(folder, adapter, args.limit)
            print(f"fine-tuned rung, free decoding: {out['finetuned_free']['wall_s']:.0f} s "
                  f"(load {out['finetuned_free']['load']})", flush=True)  # fmt: skip
    finally:
        if tmp is not None:
            tmp.cleanup()
    print(f"\n{'':34} {'accuracy [95% CI]':22} {'strict':>6} {'valid':>6} {'time':>8} | "
          f"{'ref acc':>6} {'valid':>6} {'time':>7}")  # fmt: skip
    no_ref = (0.0, 0.0, 0.0, "")
    rows = [(n, n, f) for n, f in out.get("prompt", {}).get("rungs", {}).items()]
    if "finetuned_free" in out:  # like with like: LLaMA-Factory's figure is free decoding
        rows.append(("tunegate LoRA, free decoding", "finetuned",
                     out["finetuned_free"]["rungs"]["finetuned"]))  # fmt: skip
    if "finetuned" in out:
        rows.append(("tunegate LoRA + constrained", "", out["finetuned"]["rungs"]["finetuned"]))
    for label, ref, f in rows:
        print(fmt_row(REFERENCE[ref][3][:34] if ref in REFERENCE and ref != "finetuned"
                      else label, f, REFERENCE.get(ref, no_ref)))  # fmt: skip
    if "train" in out:
        t = out["train"]
        print(f"{'training':34} {t['wall_s']:.0f} s wall ({t['steps']} steps, "
              f"{t['tokens_per_s']:.0f} tok/s) | reference 592 s (~150 tok/s)")  # fmt: skip
    if "finetuned_free" in out:
        acc = out["finetuned_free"]["rungs"]["finetuned"]["accuracy"]
        print(f"\nlike with like (free decoding): tunegate LoRA {acc:.3f} vs LLaMA-Factory "
              f"{REFERENCE['finetuned'][0]:.3f} ({acc / REFERENCE['finetuned'][0]:.2f}x)")  # fmt: skip
    if "finetuned" in out:
        acc = out["finetuned"]["rungs"]["finetuned"]["accuracy"]
        verdict = "meets" if acc >= GOAL else "misses"
        print(f"\nfine-tuned + constrained {acc:.3f} {verdict} the goal >= {GOAL:.2f} "
              f"({acc / REFERENCE['finetuned'][0]:.2f}x LLaMA-Factory's 0.307)")  # fmt: skip
    out["load_end"] = uptime()
    print(f"load average at the end: {out['load_end']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
