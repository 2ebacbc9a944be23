"""The server commands: `serve` (the OpenAI-compatible API) and `ui` (the web app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunegate.cli import app, config_help, console
from tunegate.serve.config import ServeConfig

_DEFAULT = ServeConfig()


def _help(name: str) -> str:
    return config_help(ServeConfig, name)


@app.command()
def serve(
    task: Annotated[
        Path | None,
        typer.Argument(help="Task folder: serve its base model and its trained adapters."),
    ] = None,
    host: Annotated[str, typer.Option(help=_help("host"))] = _DEFAULT.host,
    port: Annotated[int, typer.Option(help=_help("port"))] = _DEFAULT.port,
    model: Annotated[
        str | None,
        typer.Option(help="Base model (HF folder or .gguf) when no task names one."),
    ] = None,
    adapter: Annotated[
        list[str] | None,
        typer.Option(help="Serve a LoRA adapter as NAME=FOLDER (repeatable)."),
    ] = None,
    api_key: Annotated[str | None, typer.Option(help=_help("api_key"))] = _DEFAULT.api_key,
    max_batch: Annotated[int, typer.Option(help=_help("max_batch"))] = _DEFAULT.max_batch,
    queue: Annotated[int, typer.Option(help=_help("queue"))] = _DEFAULT.queue,
    max_tokens_cap: Annotated[
        int, typer.Option(help=_help("max_tokens_cap"))
    ] = _DEFAULT.max_tokens_cap,
    timeout: Annotated[float, typer.Option(help=_help("timeout_s"))] = _DEFAULT.timeout_s,
    engine: Annotated[str, typer.Option("--engine", help=_help("engine"))] = _DEFAULT.engine,
    lora_api: Annotated[bool, typer.Option(help=_help("lora_api"))] = _DEFAULT.lora_api,
) -> None:
    """An OpenAI-compatible server (chat and text completions, streaming, JSON Schema
    enforced by constrained decoding: valid unless cut at max_tokens) for the task's model and
    adapters."""
    from tunegate.serve import parse_adapter
    from tunegate.serve import serve as run_server

    config = ServeConfig(
        host=host,
        port=port,
        api_key=api_key,
        max_batch=max_batch,
        queue=queue,
        max_tokens_cap=max_tokens_cap,
        timeout_s=timeout,
        engine=engine,
        lora_api=lora_api,
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
