"""The fixed table of what the server answers to: model name -> (adapter, default constraint).

Built once at start-up from the command line and the task folder; a request's `model` is only
ever looked up here, never used as a path. The base model answers to its label (e.g.
`smollm2-135m`); each adapter to its name. From a task folder, every finished training run with
an adapter is served under its run id, and the task's name is an alias of the latest one (the
newest run trained on the whole train split, else the newest); the task's output schema (or its
label set) is the default `response_format` of the task's adapters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tunegate.errors import TunegateError
from tunegate.models.base import Constraint

__all__ = ["ModelTable", "Served", "parse_adapter", "task_table"]


@dataclass(frozen=True)
class Served:
    """What one model name means: an adapter on the base (None: the bare base), and the
    constraint applied when a request asks for no response_format."""

    adapter: str | None = None
    default: Constraint | None = None


@dataclass
class ModelTable:
    """Names clients may use, the base model, and the adapter folders to load."""

    base: str | None  # model path or None (the embedded model)
    base_name: str
    adapters: dict[str, Path] = field(default_factory=dict)  # adapter name -> PEFT folder
    names: dict[str, Served] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.names.setdefault(self.base_name, Served())

    def add_adapter(self, name: str, folder: Path, default: Constraint | None = None) -> None:
        """Serve the PEFT adapter in `folder` as `name`."""
        self._free(name)
        if not (folder / "adapter_config.json").exists():
            raise TunegateError(
                f"adapter {name!r}: not a PEFT adapter folder (no adapter_config.json)",
                str(folder),
            )
        self.adapters[name] = folder
        self.names[name] = Served(name, default)

    def add_alias(self, name: str, target: str) -> None:
        """Let `name` mean what the already served `target` means."""
        self._free(name)
        self.names[name] = self.names[target]

    def _free(self, name: str) -> None:
        if not name or name in self.names:
            raise TunegateError(f"model name {name!r} is empty or already taken")

    def lookup(self, name: str) -> Served | None:
        return self.names.get(name)


def parse_adapter(text: str) -> tuple[str, Path]:
    """`NAME=FOLDER` from the command line."""
    name, sep, folder = text.partition("=")
    if not sep or not name.strip() or not folder.strip():
        raise TunegateError(f"--adapter expects NAME=FOLDER, got {text!r}")
    return name.strip(), Path(folder.strip()).expanduser()


def _task_constraint(task_dir: Path) -> tuple[str, str | None, Constraint | None, Path]:
    """(task name, model, default constraint, folder) of a task."""
    from tunegate.spec import load_task, output_schema

    spec, folder = load_task(task_dir)
    constraint = None
    if spec.output.type == "json":
        schema = output_schema(spec, folder)
        constraint = Constraint(json_schema=schema) if schema is not None else None
    elif spec.output.type == "label" and spec.output.labels:
        constraint = Constraint(labels=tuple(spec.output.labels))
    model = spec.model
    if model is not None and not Path(model).expanduser().is_absolute():
        model = str(folder / model)
    return spec.name, model, constraint, folder


def _trained(folder: Path) -> tuple[list[tuple[str, Path]], str | None]:
    """(run id, adapter folder) of finished training runs, newest first, and the latest one by
    `tunegate.runs.pick_adapter`'s rule (the one the task's name stands for)."""
    from tunegate.runs import adapters, pick_adapter
    from tunegate.store import STORE_DIR, STORE_FILE, Store

    if not (folder / STORE_DIR / STORE_FILE).exists():
        return [], None
    with Store(folder) as store:
        latest = pick_adapter(store)
        return adapters(store), latest[0] if latest else None


def task_table(
    task: Path | None,
    adapters: list[tuple[str, Path]] | None = None,
    model: str | None = None,
) -> ModelTable:
    """The table for `tunegate serve [TASK] [--model M] [--adapter NAME=FOLDER ...]`."""
    from tunegate.models.resolve import model_label

    name, default, latest = None, None, None
    runs: list[tuple[str, Path]] = []
    if task is not None:
        name, task_model, default, folder = _task_constraint(task)
        model = model or task_model
        runs, latest = _trained(folder)
    table = ModelTable(base=model, base_name=model_label(model))
    for run_id, path in runs:
        table.add_adapter(run_id, path, default)
    if latest is not None and name is not None and name not in table.names:
        table.add_alias(name, latest)
    for adapter_name, folder in adapters or []:
        table.add_adapter(adapter_name, folder, default)
    return table
