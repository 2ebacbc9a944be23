"""Training throughput: tunegate vs a plain transformers Trainer + PEFT baseline, same data, same run.

    PYTHONPATH=src python bench/train.py                    # the headline comparison
    PYTHONPATH=src python bench/train.py --rounds 3         # interleaved rounds, best of each side
    PYTHONPATH=src python bench/train.py --tricks           # also each speed lever on/off
    PYTHONPATH=src python bench/train.py --rows 2000        # the LLaMA-Factory reference's size

Both train LoRA r16 (alpha 32) on all linear layers of the embedded SmolLM2-135M-Instruct, batch 8,
max length 256, lr 2e-4 on a linear schedule without warm-up, for exactly one epoch (rows / 8
optimizer steps) over the same banking77 rows, tokenized by the same chat template. The baseline is
how most tutorials (and LLaMA-Factory) run it: Trainer at its defaults, fp32 on CPU, each batch
padded to its longest row, full logits, every layer adapted.

Equal settings, so the two losses are comparable: both sides see the same micro-batches in the
same order (the baseline's rows are fed in tunegate's seeded plan, sequentially), start from the
same LoRA init (torch seeded with 0 before PEFT draws it), take the same number of optimizer steps
on the same schedule, and normalise the loss the same way (the mean over the step's answer
tokens; Trainer divides by `num_items_in_batch`). tunegate's time budget (the quick preset's
`minutes`) is overridden by an explicit step count, so load cannot shorten its run. The final
loss is measured twice: the mean training loss of the epoch's last quarter of steps (same batches
on both sides), and the held-out loss — each side's saved adapter loaded on the fp32 base model
and run over `--heldout` test rows by the same function (answer tokens' mean cross-entropy).

Each measurement runs in its own process (so peak RSS is its own); tokens/s counts real
(non-padding) tokens over the summed step times. The headline is the equal-settings ratio:
tunegate with every layer adapted, as the baseline. The quick preset's top-8-layers line is
printed apart: it trains less of the model, so its speed is no like-for-like figure. Timings on a
shared machine are noisy: compare the ratios printed by one run; --rounds repeats the
measurements, interleaved (baseline, ours, baseline, ours...) so load changes hit both, and keeps
each side's best.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _data import banking77_dir
from _eval import constrained_accuracy, heldout_loss

ROOT = Path(__file__).resolve().parent.parent
DATA = banking77_dir()
TASK_YAML = """\
name: banking77-bench
inputs: [text]
prompt:
  system: "Classify the banking customer's message into its intent label."
  user: "{text}"
output:
  type: label
  field: category
data:
  train: train.csv
  test: test.csv
"""
SAME = {"rank": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear", "batch_size": 8,
        "max_length": 256, "lr": 2e-4, "val_fraction": 0, "checkpoint_every": 10_000,
        "schedule": "linear", "warmup": 0, "epochs": 1, "weight_decay": 0.0, "max_grad_norm": 1.0,
        "seed": 0, "prompt": "full"}  # fmt: skip
BATCH = 8


def steps_for(task_dir: Path) -> int:
    """One epoch's optimizer steps over the task's training rows (batch 8, no accumulation)."""
    import math

    from tunegate.data.split import load_dataset
    from tunegate.spec import load_task

    task, folder = load_task(task_dir)
    return math.ceil(len(load_dataset(task, folder).train) / BATCH)


def make_task(folder: Path, rows: int, test_rows: int = 8) -> Path:
    """A banking77 task folder with `rows` training rows drawn by a seeded shuffle (the file is
    sorted by label) and `test_rows` test rows drawn the same way."""
    import csv
    import io
    import random

    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("train.csv", rows), ("test.csv", test_rows)):
        records = list(csv.DictReader(io.StringIO((DATA / name).read_text(encoding="utf-8"))))
        random.Random(0).shuffle(records)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["text", "category"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(records[:n])
        (folder / name).write_text(out.getvalue(), encoding="utf-8")
    (folder / "tunegate.yaml").write_text(TASK_YAML, encoding="utf-8")
    return folder


def final_loss(step_losses: list[float]) -> float:
    """The mean training loss over the last quarter of the steps (one step's loss is noisy)."""
    tail = step_losses[-max(1, len(step_losses) // 4) :]
    return sum(tail) / max(1, len(tail))


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run_baseline(task_dir: Path) -> dict[str, float]:
    """transformers Trainer + PEFT at their defaults on the same encoded examples, in tunegate's
    batch order, from the same LoRA init (see the module's docstring)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import (
        AutoModelForCausalLM,
        DataCollatorForSeq2Seq,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    from tunegate.data.split import load_dataset
    from tunegate.models.resolve import load_tokenizer, resolve_model
    from tunegate.spec import load_task
    from tunegate.train.data import encode_examples, plan_epoch

    task, folder = load_task(task_dir)
    path = resolve_model(task.model, folder)
    tok = load_tokenizer(path)
    encoded, _ = encode_examples(task, load_dataset(task, folder).train, tok, SAME["max_length"])
    # tunegate's epoch-0 plan for seed 0: the same micro-batches, in the same order
    order = [i for batch in plan_epoch([len(e.ids) for e in encoded], BATCH, "packed", 0, 0)
             for i in batch]  # fmt: skip
    rows = [{"input_ids": list(encoded[i].ids), "attention_mask": [1] * len(encoded[i].ids),
             "labels": [-100] * encoded[i].prompt_len + list(encoded[i].ids[encoded[i].prompt_len:])}
            for i in order]  # fmt: skip
    model = AutoModelForCausalLM.from_pretrained(path)
    lora = LoraConfig(
        r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM"
    )
    torch.manual_seed(0)  # as tunegate does before PEFT draws the LoRA init
    model = get_peft_model(model, lora)
    times: list[float] = []
    step_losses: list[float] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):  # type: ignore[no-untyped-def]
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):  # type: ignore[no-untyped-def]
            times.append(time.perf_counter() - self.t0)

        def on_log(self, args, state, control, logs=None, **kw):  # type: ignore[no-untyped-def]
            if logs and "loss" in logs:
                step_losses.append(float(logs["loss"]))

    adapter = task_dir / "baseline-adapter"
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out, per_device_train_batch_size=BATCH, num_train_epochs=1,
            learning_rate=2e-4, save_strategy="no", report_to=[], logging_steps=1, use_cpu=True,
            seed=0, disable_tqdm=True, train_sampling_strategy="sequential",
        )  # fmt: skip
        trainer = Trainer(model=model, args=args, train_dataset=rows, callbacks=[StepTimer()],
                          data_collator=DataCollatorForSeq2Seq(tok, padding=True))  # fmt: skip
        t0 = time.perf_counter()
        stats = trainer.train()
        wall = time.perf_counter() - t0
    model.save_pretrained(adapter)
    tokens = sum(len(r["input_ids"]) for r in rows)
    return {
        "tokens_per_s": tokens / sum(times),
        "wall_tokens_per_s": tokens / wall,
        "steps": len(times),
        "loss": float(stats.training_loss),
        "final_loss": final_loss(step_losses),
        "threads": torch.get_num_threads(),
        "peak_rss_gib": peak_rss_gib(),
        **heldout_loss(task_dir, adapter),
    }


def run_ours(
    task_dir: Path, overrides: dict[str, object], preset: str = "quick"
) -> dict[str, float]:
    import torch

    from tunegate.store import Store
    from tunegate.train.api import train

    # an explicit step count: the preset's time budget must not shorten the run under load
    settings = {**SAME, "steps": steps_for(task_dir), **overrides}
    t0 = time.perf_counter()
    r = train(task_dir, preset, settings, show_progress=False)
    wall = time.perf_counter() - t0
    per_step = [v for _, _, v in Store(task_dir).metrics(r.run_id, "tokens_per_s")]
    step_losses = [v for _, _, v in Store(task_dir).metrics(r.run_id, "loss")]
    return {
        "tokens_per_s": r.tokens_per_s,
        "wall_s": wall,
        "steps": r.steps,
        "loss": sum(step_losses) / max(1, r.steps),
        "final_loss": final_loss(step_losses),
        "threads": torch.get_num_threads(),
        "peak_rss_gib": peak_rss_gib(),
        "last_epoch_tokens_per_s": sum(per_step[len(per_step) // 2 :])
        / max(1, len(per_step[len(per_step) // 2 :])),
        **heldout_loss(task_dir, r.adapter),
    }


def run_accuracy(task_dir: Path, overrides: dict[str, object], preset: str) -> dict[str, float]:
    """Train with `preset` (+ overrides) and measure constrained accuracy on the test rows."""
    from tunegate.train.api import train

    r = train(task_dir, preset, overrides, show_progress=False)
    res = constrained_accuracy(task_dir, r.adapter)
    return {**res, "train_seconds": r.seconds, "tokens_per_s": r.tokens_per_s, "steps": r.steps,
            "best_eval_loss": r.best_eval_loss or 0.0, "peak_rss_gib": peak_rss_gib()}  # fmt: skip


def child(kind: str, task_dir: Path, overrides: dict[str, object]) -> dict[str, float]:
    """Run one measurement in a fresh process; return its JSON result.

    Both sides get the same environment: OpenMP's default wait policy unless a trick sets one.
    """
    overrides = dict(overrides)
    policy = str(overrides.pop("omp_wait_policy", ""))
    preset = str(overrides.pop("preset", "quick"))
    cmd = [sys.executable, __file__, "--child", kind, "--task", str(task_dir), "--overrides", json.dumps(overrides),
           "--preset", preset]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = str(ROOT / "src")
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        sys.exit(f"{kind} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best(kind: str, task_dir: Path, overrides: dict[str, object], rounds: int) -> dict[str, float]:
    results = [child(kind, task_dir, overrides) for _ in range(rounds)]
    return max(results, key=lambda r: r["tokens_per_s"])


TRICKS: list[tuple[str, dict[str, object]]] = [
    ("all levers (every layer adapted)", {}),
    ("  - fp32 instead of auto precision", {"precision": "fp32"}),
    ("  - bf16 autocast forced", {"precision": "bf16"}),
    ("  - SDPA attention, frozen weights cast per forward", {"attention": "sdpa"}),
    ("  - shared prompt prefix repeated per example", {"share_prefix": False}),
    ("  - grouped batches instead of packed", {"batching": "grouped"}),
    ("  - padded batches instead of packed", {"batching": "padded"}),
    ("  - full logits instead of answer-only", {"completion_logits": False}),
    ("  - 1 thread instead of all cores", {"threads": 1}),
    ("  - OpenMP threads always spinning (ACTIVE)", {"omp_wait_policy": "ACTIVE"}),
    ("  - OpenMP threads never spinning (PASSIVE)", {"omp_wait_policy": "PASSIVE"}),
]


def accuracy_mode(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        task = make_task(Path(tmp) / "task", args.rows, args.test_rows)
        over = json.loads(args.set)
        print(f"banking77: train {args.rows} rows with preset {args.preset} {over or ''}, "
              f"test {args.test_rows} rows, decoding constrained to the 77 labels")  # fmt: skip
        tuned = child("accuracy", task, {**over, "preset": args.preset})
        print(f"fine-tuned + constrained: accuracy {tuned['accuracy']:.3f} (valid {tuned['valid']:.3f}), "
              f"training {tuned['train_seconds']:.0f} s for {tuned['steps']:.0f} steps at "
              f"{tuned['tokens_per_s']:.0f} tokens/s, peak RSS {tuned['peak_rss_gib']:.2f} GiB")  # fmt: skip
        if args.zero_shot:
            zero = child("zero-shot", task, {})
            print(
                f"untrained + constrained:  accuracy {zero['accuracy']:.3f} (valid {zero['valid']:.3f})"
            )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--rows", type=int, default=240, help="banking77 training rows (a multiple of 8)"
    )
    ap.add_argument("--rounds", type=int, default=1, help="repeat each measurement, keep the best")
    ap.add_argument("--tricks", action="store_true", help="also measure each speed lever on/off")
    ap.add_argument("--accuracy", action="store_true",
                    help="instead: train on --rows banking77 rows with --preset, report constrained "
                         "accuracy on --test-rows test rows (and the untrained model's)")  # fmt: skip
    ap.add_argument("--preset", default="quick", help="with --accuracy: the preset to train")
    ap.add_argument(
        "--set", default="{}", help="with --accuracy: JSON overrides, e.g. '{\"epochs\": 2}'"
    )
    ap.add_argument("--test-rows", type=int, default=300, help="with --accuracy: test rows")
    ap.add_argument("--heldout", type=int, default=200,
                    help="test rows the held-out loss is measured on (headline)")  # fmt: skip
    ap.add_argument(
        "--zero-shot", action="store_true", help="with --accuracy: also the untrained model"
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--task", help=argparse.SUPPRESS)
    ap.add_argument("--overrides", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        task = Path(args.task)
        over = json.loads(args.overrides)
        if args.child == "accuracy":
            res = run_accuracy(task, over, args.preset)
        elif args.child == "zero-shot":
            res = constrained_accuracy(task, None)
        else:
            res = run_baseline(task) if args.child == "baseline" else run_ours(task, over)
        print(json.dumps(res))
        return
    if args.accuracy:
        accuracy_mode(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        task = make_task(Path(tmp) / "task", args.rows, args.heldout)
        steps = -(-args.rows // BATCH)
        print(f"banking77, {args.rows} rows, 1 epoch ({steps} steps), LoRA r16 all linear, batch 8, "
              f"max length 256, same batch order and LoRA init on every side, held-out loss on "
              f"{args.heldout} test rows, {args.rounds} interleaved round(s), best of each side kept; "
              f"load average {os.getloadavg()[0]:.1f} at the start")  # fmt: skip
        sides = {"base": ("baseline", {}), "same": ("ours", {"layers": "all"}),
                 "fp32": ("ours", {"layers": "all", "precision": "fp32"}),
                 "fast": ("ours", {"layers": 8})}  # fmt: skip
        runs: dict[str, list[dict[str, float]]] = {k: [] for k in sides}
        for _ in range(args.rounds):
            for key, (kind, over) in sides.items():
                runs[key].append(child(kind, task, over))
        base, same, fp32, fast = (max(runs[k], key=lambda r: r["tokens_per_s"]) for k in sides)
        header = (f"{'':44} {'tokens/s':>9} {'ratio':>6} {'steps':>5} {'mean loss':>9} "
                  f"{'final loss':>10} {'held-out':>8} {'peak RSS':>9}")  # fmt: skip

        def line(name: str, r: dict[str, float]) -> str:
            return (f"{name:44} {r['tokens_per_s']:9.0f} {r['tokens_per_s'] / base['tokens_per_s']:5.2f}x "
                    f"{r['steps']:5.0f} {r['loss']:9.3f} {r['final_loss']:10.3f} {r['heldout_loss']:8.3f} "
                    f"{r['peak_rss_gib']:7.2f} GiB")  # fmt: skip

        print("equal settings (every layer adapted):")
        print(header)
        print(line("transformers Trainer + PEFT (defaults)", base))
        print(line("tunegate, LoRA on all layers", same))
        print(line("tunegate, all layers, fp32 (no bf16 autocast)", fp32))
        print("\nnot equal settings (trains less of the model):")
        print(line("tunegate, quick preset layers (top 8)", fast))
        if args.tricks:
            print(
                "\nspeed levers, one at a time off all layers adapted (tokens/s, ratio to all on):"
            )
            ref = None
            for name, over in TRICKS:
                r = best("ours", task, {"layers": "all", **over}, args.rounds)
                ref = ref or r["tokens_per_s"]
                print(f"{name:48} {r['tokens_per_s']:7.0f} {r['tokens_per_s'] / ref:5.2f}x "
                      f"final loss {r['final_loss']:.3f} held-out {r['heldout_loss']:.3f}")  # fmt: skip
            two = best("ours", task, {"layers": 8, "steps": 2 * steps}, args.rounds)
            nocache = best(
                "ours", task, {"layers": 8, "steps": 2 * steps, "cache_prefix": False}, args.rounds
            )
            print(
                f"{'top 8 layers, epoch 2, prefix cache on':48} {two['last_epoch_tokens_per_s']:7.0f}"
            )
            print(f"{'top 8 layers, epoch 2, prefix cache off':48} {nocache['last_epoch_tokens_per_s']:7.0f} "
                  f"{nocache['last_epoch_tokens_per_s'] / two['last_epoch_tokens_per_s']:5.2f}x")  # fmt: skip
        ratio = same["tokens_per_s"] / base["tokens_per_s"]

        def verdict(key: str) -> str:
            drift = same[key] / base[key] - 1
            ok = "pass" if drift <= 0.05 else "not met"
            return f"{same[key]:.3f} vs {base[key]:.3f} ({drift:+.1%}, target at most +5%: {ok})"

        print(f"\nheadline (equal settings): tunegate {same['tokens_per_s']:.0f} tok/s vs baseline "
              f"{base['tokens_per_s']:.0f} tok/s = {ratio:.2f}x (target >= 3x: {'pass' if ratio >= 3 else 'not met'}); "
              f"held-out loss {verdict('heldout_loss')}; final training loss (last quarter, same "
              f"batches) {verdict('final_loss')}; "
              f"peak RSS {same['peak_rss_gib']:.2f} GiB (baseline {base['peak_rss_gib']:.2f} GiB); "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
