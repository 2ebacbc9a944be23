"""Start it: load the base model and adapters once, start the batching worker, run uvicorn.

`serve(...)` blocks until Ctrl-C (the CLI); `running(...)` is a context manager that serves from
a background thread and yields the base URL (tests, benchmarks, notebooks).
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunegate.errors import TunegateError
from tunegate.serve.config import ServeConfig
from tunegate.serve.table import ModelTable, task_table

__all__ = ["Loaded", "load", "running", "serve"]

log = logging.getLogger("tunegate.serve")


@dataclass
class Loaded:
    """A ready server: its app, engine and table (the engine not yet started)."""

    app: Any
    engine: Any
    table: ModelTable
    config: ServeConfig


def load(table: ModelTable, config: ServeConfig, *, generator: Any | None = None) -> Loaded:
    """Load the table's base model and adapters (or use `generator`) and build the app."""
    from tunegate.serve.app import build_app
    from tunegate.serve.engine import Engine
    from tunegate.serve.generator import serve_generator
    from tunegate.serve.metrics import Metrics

    config.check_bind()
    if generator is None:
        generator = serve_generator(
            config.engine, table.base, dict(table.adapters), table.base_name, config.max_batch
        )
    metrics = Metrics()
    engine = Engine(
        generator,
        metrics,
        max_batch=config.max_batch,
        queue_size=config.queue,
        batch_wait_s=config.batch_wait_ms / 1000,
    )
    return Loaded(build_app(engine, table, config, metrics), engine, table, config)


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise TunegateError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(2048)
    return sock


def _uvicorn(loaded: Loaded, log_level: str) -> Any:
    import uvicorn

    cfg = uvicorn.Config(
        loaded.app,
        log_level=log_level,
        access_log=log_level in ("debug", "info"),
        timeout_graceful_shutdown=5,
        lifespan="off",
    )
    return uvicorn.Server(cfg)


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


@contextmanager
def running(loaded: Loaded, log_level: str = "warning") -> Iterator[str]:
    """Serve `loaded` from a background thread; yield its base URL (`http://host:port`)."""
    sock = _socket(loaded.config.host, loaded.config.port)
    server = _uvicorn(loaded, log_level)
    loaded.engine.start()
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started and thread.is_alive():
            threading.Event().wait(0.01)
        if not server.started:
            raise TunegateError(f"the server on {url_of(sock)} did not start")
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(10)
        loaded.engine.stop()
        sock.close()


def serve(
    task: Path | None,
    config: ServeConfig,
    adapters: list[tuple[str, Path]] | None = None,
    model: str | None = None,
    echo: Any = print,
) -> None:
    """`tunegate serve`: build the table, load, and serve until interrupted."""
    config.check_bind()  # before the model loads: a refusal should be instant
    table = task_table(task, adapters, model)
    loaded = load(table, config)
    sock = _socket(config.host, config.port)
    server = _uvicorn(loaded, "info")
    loaded.engine.start()
    names = ", ".join(table.names)
    echo(f"serving {names} on {url_of(sock)}/v1 (OpenAI-compatible; Ctrl-C stops)")
    try:
        server.run(sockets=[sock])
    finally:
        loaded.engine.stop()
        sock.close()
