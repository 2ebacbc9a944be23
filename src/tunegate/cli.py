"""The command line. Each command parses its options and calls the Python API; nothing more.

Errors in the user's input arrive as TunegateError and leave as one line on stderr with a
non-zero exit; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import typing
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tunegate.errors import TunegateError
from tunegate.flows.demo import PROMPT_RUNGS, DemoOptions
from tunegate.ladder.options import DiagnoseOptions

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
    from tunegate.check.run import print_report, run_check
    from tunegate.spec import load_task

    spec, folder = load_task(task)
    report = run_check(spec, folder, estimate=not no_estimate)
    print_report(report, console)
    _write_json(json_path, report.to_json())
    if report.verdict == "fail":
        raise typer.Exit(1)


def config_help(config: type, name: str) -> str:
    """A setting's help text where the setting is defined (a pydantic field's description, a
    dataclass field's `metadata["help"]`), so an option never repeats it. Unknown names raise."""
    fields = getattr(config, "model_fields", None)
    if fields is not None:
        text = str(fields[name].description or "")
        if typing.get_origin(fields[name].annotation) is typing.Literal:
            text += f" One of: {', '.join(map(str, typing.get_args(fields[name].annotation)))}."
        return text
    found = [f for f in dataclasses.fields(config) if f.name == name]
    if not found:
        raise KeyError(f"{config.__name__} has no field {name!r}")
    return str(found[0].metadata.get("help", ""))


def _demo_help(name: str) -> str:
    return config_help(DemoOptions, name)


def _diagnose_help(name: str) -> str:
    return config_help(DiagnoseOptions, name)


@app.command()
def demo(
    folder: Annotated[Path | None, typer.Option(help=_demo_help("folder"))] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help=_demo_help("limit"))] = 60,
    rungs: Annotated[
        str | None,
        typer.Option(
            "--rungs",
            help=f"{_demo_help('rungs')} Comma-separated (default {','.join(PROMPT_RUNGS)}).",
        ),
    ] = None,
    steps: Annotated[int | None, typer.Option("--steps", min=1, help=_demo_help("steps"))] = None,
    no_estimate: Annotated[
        bool, typer.Option("--no-estimate", help="check skips timing training steps.")
    ] = False,
) -> None:
    """The whole pipeline on the embedded model and the demo task (Kestrel Home's support
    inbox): check, diagnose, train, diagnose the fine-tuned rung, report. Run it again after an
    interruption to continue where it stopped."""
    from tunegate.flows.demo import run_demo
    from tunegate.ladder import parse_rungs

    chosen = parse_rungs(rungs) or list(PROMPT_RUNGS)
    options = DemoOptions(folder, limit, tuple(chosen), steps, not no_estimate)
    run_demo(options, _table_console())


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
        from tunegate.report.distill import print_comparison as print_distill

        print_distill(result.gathered.distill, console)
    if result.json_path:
        console.print(f"wrote {result.json_path}")


@app.command()
def diagnose(
    task: TaskArg = Path("."),
    rungs: Annotated[
        str | None, typer.Option("--rungs", help=f"{_diagnose_help('rungs')} Comma-separated.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help=_diagnose_help("limit"))
    ] = None,
    adapter: Annotated[str | None, typer.Option(help=_diagnose_help("adapter"))] = None,
    engine: Annotated[str | None, typer.Option("--engine", help=_diagnose_help("engine"))] = None,
    json_path: JsonOpt = None,
) -> None:
    """Run the prompt ladder on the held-out split and measure the five signals per rung."""
    from tunegate.ladder import diagnose as run_ladder
    from tunegate.ladder import parse_rungs
    from tunegate.ladder.table import render

    options = DiagnoseOptions(rungs=parse_rungs(rungs), limit=limit, adapter=adapter, engine=engine)
    result = run_ladder(task, options, console=err_console)
    summary = result.summary_json()
    title = f"{result.task}: {summary['items']} held-out items"
    out = _table_console()
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


def _table_console() -> Console:
    """stdout for wide tables: piped output gets 120 columns; a terminal keeps its own width."""
    return console if console.is_terminal else Console(width=max(console.width, 120))


def _write_json(path: Path | None, payload: object) -> None:
    if path is None:
        return
    from tunegate import atomic

    atomic.write_text(path, json.dumps(payload, indent=2, default=str))
    console.print(f"wrote {path}")


def parse_settings(items: list[str] | None, option: str = "--set") -> dict[str, object]:
    """`--set key=value` pairs as a mapping; each value is read as YAML (`0.01`, `true`, `[a, b]`)."""
    import yaml

    out: dict[str, object] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise TunegateError(f"{option}: expected KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError as exc:
            raise TunegateError(f"{option} {key.strip()}: cannot read {value!r}") from exc
    return out


def _register() -> None:
    """Add the commands defined beside this module (they import `app` from here)."""
    import importlib

    for name in ("cli_train", "cli_serve"):  # in the order `--help` lists them
        importlib.import_module(f"tunegate.{name}")


_register()


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
