"""Which generator answers a rung: the task's local model (on its engine, with an adapter when
the fine-tuned rung runs) or its remote endpoint, each built on first use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tunegate.ladder.base import Backend
from tunegate.models.base import Generator
from tunegate.spec import Task

__all__ = ["Generators"]


class Generators:
    """Each backend's generator, built on first use (a fully cached run never loads a model).

    `local` / `remote` are factories; left out, the task's own model / endpoint is used.
    """

    def __init__(
        self,
        local: Callable[[], Generator] | None = None,
        remote: Callable[[], Generator] | None = None,
    ) -> None:
        self._factories: dict[str, Callable[[], Generator] | None] = {
            "local": local,
            "remote": remote,
        }
        self._built: dict[str, Generator] = {}

    def bind(self, task: Task, folder: Path, adapter: str | None = None) -> None:
        """Fill the missing factories with the task's local model (with `adapter` loaded, when
        a rung needs it) and its remote endpoint."""
        if self._factories["local"] is None:
            self._factories["local"] = lambda: _local_generator(task, folder, adapter)
        if self._factories["remote"] is None:
            self._factories["remote"] = lambda: _remote_generator(task)

    def get(self, backend: Backend) -> Generator:
        if backend not in self._built:
            factory = self._factories[backend]
            if factory is None:
                raise RuntimeError(f"no {backend} generator bound")
            self._built[backend] = factory()
        return self._built[backend]


def _local_generator(task: Task, folder: Path, adapter: str | None) -> Generator:
    """The task's model on its engine (models/engines.py); an adapter is named by its path."""
    from tunegate.models.engines import choose_engine, local_generator
    from tunegate.models.resolve import model_label

    return local_generator(
        choose_engine(task.engine, task.model, folder),
        task.model,
        folder,
        {adapter: adapter} if adapter else None,
        name=model_label(task.model),
        batch_size=task.ladder.batch_size,
        remote=task.remote,
    )


def _remote_generator(task: Task) -> Generator:
    from tunegate.models.remote import RemoteGenerator

    assert task.remote is not None
    return RemoteGenerator(task.remote)
