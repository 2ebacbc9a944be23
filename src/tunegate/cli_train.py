"""The training commands: `train`, `distill` and `export` (registered on tunegate.cli's app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunegate.cli import TaskArg, app, config_help, console, err_console, parse_settings
from tunegate.distill.options import DEFAULT_PRESET as DISTILL_PRESET
from tunegate.distill.options import DistillOptions
from tunegate.errors import TunegateError
from tunegate.train.config import TrainConfig


def _help(name: str) -> str:
    return config_help(TrainConfig, name)


def _distill_help(name: str) -> str:
    return config_help(DistillOptions, name)


@app.command()
def train(
    task: TaskArg,
    preset: Annotated[
        str | None,
        typer.Option("--preset", "-p", help="quick, balanced (default), quality, or a .yaml file."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the last interrupted run.")
    ] = False,
    run: Annotated[
        str | None, typer.Option("--run", help="With --resume: the run id to continue.")
    ] = None,
    curve: Annotated[
        str | None,
        typer.Option(
            "--curve", help="Learning curve: train on nested fractions, e.g. 0.25,0.5,1.0."
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            help="With --curve: held-out items each adapter is evaluated on (default: as the "
            "latest diagnose).",
        ),
    ] = None,
    rank: Annotated[int | None, typer.Option(help=_help("rank"))] = None,
    alpha: Annotated[int | None, typer.Option(help=_help("alpha"))] = None,
    dropout: Annotated[float | None, typer.Option(help=_help("dropout"))] = None,
    target_modules: Annotated[
        str | None, typer.Option("--target-modules", help=_help("target_modules"))
    ] = None,
    layers: Annotated[str | None, typer.Option(help=_help("layers"))] = None,
    lr: Annotated[float | None, typer.Option(help=_help("lr"))] = None,
    schedule: Annotated[str | None, typer.Option(help=_help("schedule"))] = None,
    warmup: Annotated[float | None, typer.Option(help=_help("warmup"))] = None,
    epochs: Annotated[float | None, typer.Option(help=_help("epochs"))] = None,
    steps: Annotated[int | None, typer.Option(help=_help("steps"))] = None,
    batch: Annotated[int | None, typer.Option("--batch", help=_help("batch_size"))] = None,
    grad_accum: Annotated[
        int | None, typer.Option("--grad-accum", help=_help("grad_accum"))
    ] = None,
    max_length: Annotated[
        int | None, typer.Option("--max-length", help=_help("max_length"))
    ] = None,
    seed: Annotated[int | None, typer.Option(help=_help("seed"))] = None,
    prompt: Annotated[str | None, typer.Option("--prompt", help=_help("prompt"))] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Any training setting as KEY=VALUE, repeatable (weight_decay, minutes, patience, "
            "val_fraction, ...: the fields of docs/training.md); the flags above win.",
        ),
    ] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
) -> None:
    """LoRA fine-tune the task's model on its train split (fast on CPU; resumable)."""
    from tunegate.flows.curve import parse_fractions, train_curve
    from tunegate.train import api
    from tunegate.train.config import parse_layers, parse_modules
    from tunegate.train.loop import TrainInterrupted

    flags = {
        "rank": rank, "alpha": alpha, "dropout": dropout, "target_modules": parse_modules(target_modules),
        "layers": parse_layers(layers), "lr": lr, "schedule": schedule, "warmup": warmup,
        "epochs": epochs, "steps": steps, "batch_size": batch, "grad_accum": grad_accum,
        "max_length": max_length, "seed": seed, "prompt": prompt,
    }  # fmt: skip
    overrides = {**parse_settings(settings), **{k: v for k, v in flags.items() if v is not None}}
    try:
        if curve:
            if resume:
                raise TunegateError(
                    "--curve and --resume cannot be combined; resume one run with --run"
                )
            results = train_curve(task, parse_fractions(curve), preset, overrides,
                                  limit=limit, console=err_console,
                                  show_progress=not no_progress)  # fmt: skip
        else:
            results = [api.train(task, preset, overrides, resume=resume, run_id=run,
                                 show_progress=not no_progress)]  # fmt: skip
    except TrainInterrupted as exc:
        err_console.print(f"interrupted at step {exc.step}; checkpoint saved. "
                          f"Resume with: tunegate train {task} --resume")  # fmt: skip
        raise typer.Exit(130) from None
    for r in results:
        if not r.main_process:
            continue
        best = (
            f", best eval loss {r.best_eval_loss:.4f} at step {r.best_step}"
            if r.best_eval_loss
            else ""
        )
        console.print(
            f"run {r.run_id}: {r.steps} steps on {r.train_examples} examples (fraction {r.fraction:g}) "
            f"in {r.seconds:.0f} s, {r.tokens_per_s:.0f} tokens/s, final loss {r.final_loss:.4f}{best}"
            + (" (stopped early)" if r.stopped_early else "")
        )
        console.print(
            f"adapter: {r.adapter} (trained on the {r.prompt.get('form', 'full')} prompt)"
        )
        if r.prompt.get("why"):
            console.print(r.prompt["why"], markup=False)


@app.command()
def distill(
    task: TaskArg,
    teacher: Annotated[str, typer.Option("--teacher", help=_distill_help("teacher"))],
    inputs: Annotated[Path, typer.Option("--inputs", help=_distill_help("inputs"))],
    model: Annotated[str | None, typer.Option("--model", help=_distill_help("model"))] = None,
    api_key_env: Annotated[
        str | None, typer.Option("--api-key-env", help=_distill_help("api_key_env"))
    ] = None,
    preset: Annotated[
        str, typer.Option("--preset", "-p", help=_distill_help("preset"))
    ] = DISTILL_PRESET,
    steps: Annotated[int | None, typer.Option(min=1, help=_distill_help("steps"))] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help=_distill_help("limit"))
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help=_distill_help("out"))] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bars.")] = False,
) -> None:
    """The teacher labels your inputs, the small model trains on its labels, and both are
    compared on the held-out split (agreement, accuracy, cost per month, latency)."""
    from tunegate.flows.distill import distill as run_distill
    from tunegate.report import build_report
    from tunegate.report.distill import print_comparison

    options = DistillOptions(teacher=teacher, inputs=inputs, model=model, api_key_env=api_key_env,
                             preset=preset, steps=steps, limit=limit, out=out,
                             show_progress=not no_progress)  # fmt: skip
    result = run_distill(task, options, console=err_console)
    print_comparison(result.comparison, console)
    path = build_report(result.folder).path
    console.print(f"distilled task: {result.folder}; report: {path}")


@app.command("export")
def export_cmd(
    task: TaskArg,
    out: Annotated[Path, typer.Argument(help="Folder to write (must not exist or be empty).")],
    run: Annotated[
        str | None, typer.Option("--run", help="Training run id; default: the latest.")
    ] = None,
    merge: Annotated[
        bool, typer.Option("--merge", help="Merge the adapter into the base model.")
    ] = False,
    gguf: Annotated[
        bool,
        typer.Option(
            "--gguf",
            help="For llama.cpp / Ollama: the base GGUF, the adapter as a GGUF LoRA (with "
            "--merge: one merged GGUF) and a Modelfile; prints the commands that serve them.",
        ),
    ] = False,
) -> None:
    """Copy a trained adapter (PEFT format), or write a merged Hugging Face model with --merge,
    or GGUF files for llama.cpp and Ollama with --gguf."""
    if gguf:
        from tunegate.train.export_gguf import export_gguf

        done = export_gguf(task, out, run_id=run, merge=merge)
        files = done.base.name if done.lora is None else f"{done.base.name}, {done.lora.name}"
        lines = [
            f"wrote {files} and Modelfile to {done.folder}",
            f"llama.cpp:  {done.llama_server()}",
            f"Ollama:     {done.ollama()}",
            done.modelfile.read_text(encoding="utf-8"),
        ]
        console.print("\n".join(lines), end="", markup=False, highlight=False, soft_wrap=True)
        return
    from tunegate.train.merge import export

    path = export(task, out, run_id=run, merge=merge)
    console.print(f"wrote {'merged model' if merge else 'adapter'} to {path}")
