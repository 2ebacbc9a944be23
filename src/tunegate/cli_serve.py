"""The server commands: `serve` (the OpenAI-compatible API) and `ui` (the web app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tunegate.cli import app, console


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
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="llamacpp (llama.cpp in-process; falls back to torch with one line when it "
            "cannot run the model) or torch (the reference loop).",
        ),
    ] = "llamacpp",
    lora_api: Annotated[
        bool,
        typer.Option(
            help="Accept POST /v1/load_lora_adapter: clients name an adapter folder on this "
            "machine to serve (vLLM's runtime LoRA API)."
        ),
    ] = True,
) -> None:
    """An OpenAI-compatible server (chat and text completions, streaming, JSON Schema
    enforced by constrained decoding: valid unless cut at max_tokens) for the task's model and
    adapters."""
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
