"""The command line. Each command parses its options and calls the Python API; nothing more.

Errors in the user's input arrive as TunegateError and leave as one line on stderr with a
non-zero exit; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tunegate.errors import TunegateError

app = typer.Typer(
    name="tunegate",
    help="Is prompt engineering enough for your LLM task, or must you fine-tune? Measured on your data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


def _print_version(value: bool) -> None:
    if value:
        from tunegate import __version__

        console.print(f"tunegate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Is prompt engineering enough for your LLM task, or must you fine-tune? Measured on your data.

    Add --debug anywhere to see a traceback instead of a one-line error.
    """


err_console = Console(stderr=True)

TaskArg = Annotated[Path, typer.Argument(help="Task folder (or its tunegate.yaml).")]
JsonOpt = Annotated[
    Path | None, typer.Option("--json", help="Also write the full result as JSON here.")
]


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="Folder to create the task in.")],
    from_data: Annotated[
        Path | None,
        typer.Option(
            "--from", help="Infer the fields (and a draft JSON Schema) from this data file."
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing tunegate.yaml.")] = False,
) -> None:
    """Write a commented starter tunegate.yaml (inferred from a data file with --from)."""
    from tunegate.init import init_task

    path = init_task(folder, from_data, force=force)
    console.print(f"wrote {path}")
    console.print(f"next: edit it, then run [bold]tunegate check {folder}[/]")


@app.command()
def check(
    task: TaskArg = Path("."),
    json_path: JsonOpt = None,
    no_estimate: Annotated[
        bool, typer.Option("--no-estimate", help="Skip timing a few training steps.")
    ] = False,
) -> None:
    """Is the data ready? Counts, blank and over-long rows, duplicates, leakage, broken targets,
    label balance, token statistics and the training time and cost on this machine (a few real
    steps timed), each ok / warn / fail. Exits 1 when the verdict is fail."""
    from tunegate.data.check import print_report, run_check
    from tunegate.spec import load_task

    spec, folder = load_task(task)
    report = run_check(spec, folder, estimate=not no_estimate)
    print_report(report, console)
    _write_json(json_path, report.to_json())
    if report.verdict == "fail":
        raise typer.Exit(1)


@app.command()
def demo(
    folder: Annotated[
        Path | None, typer.Option(help="The demo task folder (default: examples/support-tickets).")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="Held-out items every rung answers.")
    ] = 60,
    rungs: Annotated[
        str | None,
        typer.Option("--rungs", help="Prompt-only rungs (default zero_shot,constrained,rag)."),
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option("--steps", min=1, help="Training steps (default: the quick preset's budget)."),
    ] = None,
    no_estimate: Annotated[
        bool, typer.Option("--no-estimate", help="check skips timing training steps.")
    ] = False,
) -> None:
    """The whole pipeline on the embedded model and the demo task (Kestrel Home's support
    inbox): check, diagnose, train, diagnose the fine-tuned rung, report. Run it again after an
    interruption to continue where it stopped."""
    from tunegate.demo import PROMPT_RUNGS, DemoOptions, run_demo
    from tunegate.ladder import parse_rungs

    chosen = parse_rungs(rungs) or list(PROMPT_RUNGS)
    options = DemoOptions(folder, limit, tuple(chosen), steps, not no_estimate)
    run_demo(options, console)


@app.command()
def report(
    task: TaskArg = Path("."),
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Where to write the HTML (default <task>/.tunegate/report.html)."
        ),
    ] = None,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Also write the decision and its evidence as JSON."),
    ] = None,
    compare: Annotated[
        tuple[str, str] | None,
        typer.Option(
            "--compare", help="Show two diagnose runs side by side: --compare RUN_A RUN_B."
        ),
    ] = None,
) -> None:
    """The recommendation, the money and the pictures: one self-contained HTML file and a
    terminal summary, rebuilt from the run store without running a model."""
    if compare:
        from tunegate.report.compare import build_compare, print_comparison

        comparison, path = build_compare(task, compare[0], compare[1], out)
        print_comparison(comparison, console)
        console.print(f"wrote {path}")
        return
    from tunegate.report import build_report
    from tunegate.report.terminal import print_summary

    result = build_report(task, out, json_path)
    print_summary(result.gathered, result.decision, console, result.path)
    if result.gathered.distill is not None:
        from tunegate.distill.report import print_comparison as print_distill

        print_distill(result.gathered.distill, console)
    if result.json_path:
        console.print(f"wrote {result.json_path}")


@app.command()
def diagnose(
    task: TaskArg = Path("."),
    rungs: Annotated[
        str | None,
        typer.Option("--rungs", help="Comma-separated rungs to run (default: all that apply)."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="Evaluate on a seeded subset of N test items."),
    ] = None,
    adapter: Annotated[
        str | None,
        typer.Option(
            help="Fine-tuned rung: a training run id or adapter folder (default: newest)."
        ),
    ] = None,
    json_path: JsonOpt = None,
) -> None:
    """Run the prompt ladder on the held-out split and measure the five signals per rung."""
    from tunegate.ladder import DiagnoseOptions, parse_rungs
    from tunegate.ladder import diagnose as run_ladder
    from tunegate.ladder.table import render

    options = DiagnoseOptions(rungs=parse_rungs(rungs), limit=limit, adapter=adapter)
    result = run_ladder(task, options, console=err_console)
    summary = result.summary_json()
    title = f"{result.task}: {summary['items']} held-out items"
    # Piped output gets room for the table; a terminal keeps its own width.
    out = console if console.is_terminal else Console(width=max(console.width, 120))
    out.print(render(summary["table"], title=title))
    out.print(
        f"diagnose wall time {result.wall_s:.1f} s for {len(result.rungs)} rung(s) x "
        f"{summary['items']} items (run {result.run_id})"
    )
    _write_json(json_path, result.to_json())


@app.command("export-prompt")
def export_prompt(
    task: TaskArg = Path("."),
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write it here (.json: JSON, else YAML); default: print it."),
    ] = None,
) -> None:
    """The optimized rung's winning prompt (system, user template, few-shot examples,
    constrained or not) as YAML to paste into tunegate.yaml."""
    from tunegate.ladder.export_prompt import export_prompt as export

    text = export(task, out)
    if out is None:
        sys.stdout.write(text)
    else:
        console.print(f"wrote {out}")


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
    rank: Annotated[int | None, typer.Option(help="LoRA rank.")] = None,
    alpha: Annotated[int | None, typer.Option(help="LoRA alpha.")] = None,
    dropout: Annotated[float | None, typer.Option(help="LoRA dropout.")] = None,
    target_modules: Annotated[
        str | None,
        typer.Option("--target-modules", help="all-linear or names, e.g. q_proj,v_proj."),
    ] = None,
    layers: Annotated[
        str | None,
        typer.Option(help="Layers with LoRA: all, the top N (e.g. 8), or indices (e.g. 20,21)."),
    ] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate.")] = None,
    schedule: Annotated[str | None, typer.Option(help="cosine, linear or constant.")] = None,
    warmup: Annotated[
        float | None, typer.Option(help="Warm-up: a fraction of steps (<1) or steps.")
    ] = None,
    epochs: Annotated[float | None, typer.Option(help="Passes over the train split.")] = None,
    steps: Annotated[int | None, typer.Option(help="Optimizer steps (overrides --epochs).")] = None,
    batch: Annotated[int | None, typer.Option("--batch", help="Examples per micro-batch.")] = None,
    grad_accum: Annotated[
        int | None, typer.Option("--grad-accum", help="Micro-batches per step.")
    ] = None,
    max_length: Annotated[
        int | None, typer.Option("--max-length", help="Longest example in tokens.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for splits, order, init.")] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
) -> None:
    """LoRA fine-tune the task's model on its train split (fast on CPU; resumable)."""
    from tunegate.train import api
    from tunegate.train.config import parse_layers, parse_modules
    from tunegate.train.loop import TrainInterrupted

    overrides = {
        "rank": rank, "alpha": alpha, "dropout": dropout, "target_modules": parse_modules(target_modules),
        "layers": parse_layers(layers), "lr": lr, "schedule": schedule, "warmup": warmup,
        "epochs": epochs, "steps": steps, "batch_size": batch, "grad_accum": grad_accum,
        "max_length": max_length, "seed": seed,
    }  # fmt: skip
    try:
        if curve:
            if resume:
                raise TunegateError(
                    "--curve and --resume cannot be combined; resume one run with --run"
                )
            results = api.train_curve(task, api.parse_fractions(curve), preset, overrides,
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
        console.print(f"adapter: {r.adapter}")


@app.command()
def distill(
    task: TaskArg,
    teacher: Annotated[
        str, typer.Option("--teacher", help="The teacher's OpenAI-compatible base URL (…/v1).")
    ],
    inputs: Annotated[
        Path, typer.Option("--inputs", help="Unlabeled inputs (JSONL/JSON/CSV, the task's fields).")
    ],
    model: Annotated[
        str | None,
        typer.Option("--model", help="Teacher model (default: the endpoint's only one)."),
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option("--api-key-env", help="Environment variable with the teacher's key."),
    ] = None,
    preset: Annotated[str, typer.Option("--preset", "-p", help="Training preset.")] = "quick",
    steps: Annotated[int | None, typer.Option(min=1, help="Training steps.")] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Compare on N held-out items.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Distilled task folder (default <task>/distilled).")
    ] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bars.")] = False,
) -> None:
    """The teacher labels your inputs, the small model trains on its labels, and both are
    compared on the held-out split (agreement, accuracy, cost per month, latency)."""
    from tunegate.distill import DistillOptions
    from tunegate.distill import distill as run_distill
    from tunegate.distill.report import print_comparison
    from tunegate.report import build_report

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
) -> None:
    """Copy a trained adapter (PEFT format), or write a merged Hugging Face model with --merge."""
    from tunegate.train.merge import export

    path = export(task, out, run_id=run, merge=merge)
    console.print(f"wrote {'merged model' if merge else 'adapter'} to {path}")


@app.command()
def serve(
    task: Annotated[
        Path | None,
        typer.Argument(help="Task folder: serve its base model and its trained adapters."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    model: Annotated[
        str | None,
        typer.Option(help="Base model (HF folder or .gguf) when no task names one."),
    ] = None,
    adapter: Annotated[
        list[str] | None,
        typer.Option(help="Serve a LoRA adapter as NAME=FOLDER (repeatable)."),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            help="Bearer token clients must send (env TUNEGATE_API_KEY); required off loopback."
        ),
    ] = None,
    max_batch: Annotated[int, typer.Option(help="Most requests decoded together.")] = 32,
    queue: Annotated[int, typer.Option(help="Most requests waiting; beyond it, 429.")] = 256,
    max_tokens_cap: Annotated[
        int, typer.Option(help="Largest max_tokens a request may ask (also the default).")
    ] = 512,
    timeout: Annotated[
        float, typer.Option(help="Seconds a request may take, queue included; then 408.")
    ] = 120.0,
) -> None:
    """An OpenAI-compatible server (chat and text completions, streaming, JSON Schema
    guaranteed by constrained decoding) for the task's model and adapters."""
    from tunegate.serve import ServeConfig, parse_adapter
    from tunegate.serve import serve as run_server

    config = ServeConfig(
        host=host,
        port=port,
        api_key=api_key,
        max_batch=max_batch,
        queue=queue,
        max_tokens_cap=max_tokens_cap,
        timeout_s=timeout,
    )
    pairs = [parse_adapter(a) for a in adapter or []]
    echo = lambda line: console.print(line, soft_wrap=True, markup=False, highlight=False)  # noqa: E731
    run_server(task, config, pairs, model, echo=echo)


@app.command()
def ui(
    workspace: Annotated[
        Path, typer.Option(help="Folder holding the tasks (one folder each); created if missing.")
    ] = Path("tunegate-workspace"),
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            help="Token every request must carry (env TUNEGATE_UI_TOKEN); required off loopback."
        ),
    ] = None,
    max_upload_mb: Annotated[float, typer.Option(help="Largest data upload, in MiB.")] = 20.0,
) -> None:
    """The whole workflow in the browser: upload, check, diagnose, train, report, playground."""
    from tunegate.web.server import run_ui

    run_ui(workspace, host, port, token, int(max_upload_mb * 1024 * 1024))


def _write_json(path: Path | None, payload: object) -> None:
    if path is None:
        return
    from tunegate import atomic

    atomic.write_text(path, json.dumps(payload, indent=2, default=str))
    console.print(f"wrote {path}")


def main() -> None:
    """Entry point: run the app; user errors become one line on stderr and exit code 2."""
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        app()
    except TunegateError as exc:
        if debug:
            raise
        err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted; run the same command again to resume")
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        err_console.print(
            f"[red]error:[/] {type(exc).__name__}: {exc} (run again with --debug for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
