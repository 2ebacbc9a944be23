"""tunegate vs LLaMA-Factory itself: same rows, same LoRA settings, real tokens/s and held-out accuracy.

    PYTHONPATH=src python bench/llamafactory.py --lf-cli /path/to/venv/bin/llamafactory-cli
    PYTHONPATH=src python bench/llamafactory.py --rows 2000 --test-rows 300   # DESIGN.md's size

LLaMA-Factory is optional and never a dependency of tunegate: install it in a separate venv
(`python -m venv lf && lf/bin/pip install torch==2.13.0 llamafactory==0.9.5`) and name its
`llamafactory-cli` with --lf-cli or $LLAMAFACTORY_CLI (else the one on PATH). Without it the bench
says so and exits 0 without measuring anything.

Both sides train the embedded SmolLM2-135M-Instruct (tunegate's de-quantized fp32 folder) on the
same seeded banking77 rows, one epoch: LoRA r16, alpha 32, dropout 0, every linear layer of every
decoder layer (LLaMA-Factory's `lora_target: all`), batch 8, no accumulation, lr 2e-4 on a linear
schedule without warm-up, max length 256, fp32 weights (LLaMA-Factory: `bf16: false`, its CPU
default; tunegate: its own levers, bf16 autocast where the CPU has it), the task's system prompt
and the model's ChatML template (LLaMA-Factory's `smollm2` template renders the same text).
Each side runs in its own process. Real tokens are the rows' prompt + answer tokens (no padding),
counted once with the chat template; each side's tokens/s divides them by its own training time
(LLaMA-Factory: its Trainer's `train_runtime`; tunegate: the summed step times). Held-out
accuracy: each adapter merged into the fp32 base, greedy decoding constrained to the 77 labels on
the same test rows, by one function (bench/train.py's `constrained_accuracy`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _eval import constrained_accuracy

from train import BATCH, SAME, child, make_task

SYSTEM = "Classify the banking customer's message into its intent label."  # bench/train.py's task


def find_cli(given: str | None) -> str | None:
    """The llamafactory-cli to run: --lf-cli, else $LLAMAFACTORY_CLI, else the one on PATH."""
    for candidate in (given, os.environ.get("LLAMAFACTORY_CLI"), shutil.which("llamafactory-cli")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def lf_config(task_dir: Path, work: Path, steps: int) -> Path:
    """LLaMA-Factory's dataset (alpaca JSON with the task's system prompt) and training YAML."""
    import csv

    from tunegate.models.resolve import resolve_model
    from tunegate.spec import load_task

    task, folder = load_task(task_dir)
    data = work / "data"
    data.mkdir(parents=True)
    with (task_dir / "train.csv").open(encoding="utf-8") as f:
        rows = [{"instruction": r["text"], "input": "", "output": r["category"], "system": SYSTEM}
                for r in csv.DictReader(f)]  # fmt: skip
    (data / "train.json").write_text(json.dumps(rows), encoding="utf-8")
    columns = {"prompt": "instruction", "query": "input", "response": "output", "system": "system"}
    info = {"bank": {"file_name": "train.json", "columns": columns}}
    (data / "dataset_info.json").write_text(json.dumps(info), encoding="utf-8")
    settings = {
        "model_name_or_path": str(resolve_model(task.model, folder)),
        "stage": "sft", "do_train": True, "finetuning_type": "lora",
        "lora_rank": SAME["rank"], "lora_alpha": SAME["alpha"], "lora_dropout": SAME["dropout"],
        "lora_target": "all", "dataset": "bank", "dataset_dir": str(data), "template": "smollm2",
        "cutoff_len": SAME["max_length"], "overwrite_cache": True, "preprocessing_num_workers": 1,
        "output_dir": str(work / "out"), "logging_steps": 1, "save_strategy": "no",
        "plot_loss": False, "overwrite_output_dir": True, "report_to": "none",
        "per_device_train_batch_size": BATCH, "gradient_accumulation_steps": 1,
        "learning_rate": SAME["lr"], "num_train_epochs": 1.0, "max_steps": steps,
        "lr_scheduler_type": "linear", "warmup_ratio": 0.0, "bf16": False, "seed": 0,
    }  # fmt: skip
    path = work / "train.yaml"
    path.write_text(json.dumps(settings, indent=1), encoding="utf-8")  # JSON is YAML
    return path


def real_tokens(task_dir: Path) -> int:
    """Prompt + answer tokens of the training rows under the model's chat template."""
    from tunegate.data.split import load_dataset
    from tunegate.models.resolve import load_tokenizer, resolve_model
    from tunegate.spec import load_task
    from tunegate.train.data import encode_examples

    task, folder = load_task(task_dir)
    tok = load_tokenizer(resolve_model(task.model, folder))
    encoded, _ = encode_examples(task, load_dataset(task, folder).train, tok, SAME["max_length"])
    return sum(len(e.ids) for e in encoded)


def run_lf(cli: str, task_dir: Path, work: Path, steps: int) -> dict[str, float]:
    """Train with LLaMA-Factory; its tokens/s, final logged loss and held-out accuracy."""
    cfg = lf_config(task_dir, work, steps)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "DISABLE_VERSION_CHECK": "1",
           "WANDB_DISABLED": "true"}  # fmt: skip
    env.pop("PYTHONPATH", None)  # its own venv's packages, not tunegate's
    t0 = time.perf_counter()
    proc = subprocess.run([cli, "train", str(cfg)], capture_output=True, text=True, env=env,
                          check=False)  # fmt: skip
    wall = time.perf_counter() - t0
    out = work / "out"
    if proc.returncode != 0 or not (out / "adapter_config.json").exists():
        sys.exit(f"LLaMA-Factory failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    stats = json.loads((out / "train_results.json").read_text(encoding="utf-8"))
    log = [json.loads(line) for line in (out / "trainer_log.jsonl").read_text().splitlines()]
    losses = [float(r["loss"]) for r in log if "loss" in r]
    tail = losses[-max(1, len(losses) // 4) :]
    tokens = real_tokens(task_dir)
    acc = constrained_accuracy(task_dir, out)
    return {"tokens_per_s": tokens / float(stats["train_runtime"]), "train_s": float(stats["train_runtime"]),
            "wall_s": wall, "steps": len(losses), "final_loss": sum(tail) / max(1, len(tail)),
            "accuracy": acc["accuracy"], "valid": acc["valid"], "n": acc["n"]}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--lf-cli", help="LLaMA-Factory's llamafactory-cli (in its own venv)")
    ap.add_argument("--rows", type=int, default=240, help="banking77 training rows")
    ap.add_argument("--test-rows", type=int, default=100, help="held-out rows for accuracy")
    args = ap.parse_args()
    cli = find_cli(args.lf_cli)
    if cli is None:
        print("LLaMA-Factory is not installed here (no llamafactory-cli: --lf-cli, "
              "$LLAMAFACTORY_CLI or PATH); install it in a separate venv, e.g. "
              "`python -m venv lf && lf/bin/pip install torch==2.13.0 llamafactory==0.9.5`, "
              "and pass --lf-cli lf/bin/llamafactory-cli. Nothing measured.")  # fmt: skip
        return
    steps = -(-args.rows // BATCH)
    with tempfile.TemporaryDirectory() as tmp:
        task = make_task(Path(tmp) / "task", args.rows, args.test_rows)
        print(f"banking77, {args.rows} rows, 1 epoch ({steps} steps), LoRA r16 alpha 32 on every "
              f"linear layer, batch 8, lr 2e-4 linear, max length 256; accuracy on {args.test_rows} "
              f"test rows, constrained to the 77 labels; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        lf = run_lf(cli, task, Path(tmp) / "lf", steps)
        ours = child("accuracy", task, {**SAME, "steps": steps, "layers": "all", "preset": "quick"})
        print(
            f"{'':28} {'tokens/s':>9} {'ratio':>6} {'train s':>8} {'steps':>5} {'accuracy':>9} {'valid':>6}"
        )
        for name, r, t in (("LLaMA-Factory 0.9.5", lf, lf["train_s"]),
                           ("tunegate (all layers)", ours, ours["train_seconds"])):  # fmt: skip
            print(f"{name:28} {r['tokens_per_s']:9.0f} {r['tokens_per_s'] / lf['tokens_per_s']:5.2f}x "
                  f"{t:8.0f} {r['steps']:5.0f} {r['accuracy']:9.3f} {r['valid']:6.3f}")  # fmt: skip
        print(f"LLaMA-Factory's final training loss (last quarter of steps) {lf['final_loss']:.3f}; "
              f"load average {os.getloadavg()[0]:.1f} at the end")  # fmt: skip


if __name__ == "__main__":
    main()
