"""The UI's workspace: one folder holding a task folder per task, created from uploads.

An upload is saved under `<workspace>/<task>/data/<file>` with both names sanitized (no path
separators, no leading dots, a known data suffix), then read by the same loaders as `tunegate
init --from`; a file they reject leaves nothing behind and its one-line error is shown.
Editing a task validates the whole file with the pydantic `Task` before anything is written.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tunegate import atomic
from tunegate.errors import TunegateError
from tunegate.spec import TASK_FILE, check_schema, load_task, output_schema, parse_task

DATA_SUFFIXES = (".jsonl", ".json", ".csv")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
STAGING = ".staging"  # uploads shown for confirmation, not yet tasks
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def safe_file_name(name: str) -> str:
    """A data file's name with every directory part, unsafe character and leading dot removed."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = _UNSAFE.sub("_", base).lstrip("._-")[:100]
    suffix = next((s for s in DATA_SUFFIXES if base.lower().endswith(s)), None)
    if suffix is None:
        raise TunegateError(f"expected a {', '.join(DATA_SUFFIXES)} file, got {name!r}", "upload")
    stem = base[: -len(suffix)].rstrip(".") or "data"
    return stem + suffix


def slugify(name: str) -> str:
    """A task folder name: lower case letters, digits, - and _, at most 64 characters."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")[:64]
    if not slug:
        raise TunegateError("a task name needs at least one letter or digit", "name")
    return slug


@dataclass(frozen=True)
class TaskInfo:
    slug: str
    name: str
    description: str
    error: str | None  # the task file's one-line error, when it does not load


class Workspace:
    """The folder given to `tunegate ui --workspace`; every task folder is a direct child."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()

    def folders(self) -> list[Path]:
        return sorted(p for p in self.root.iterdir() if (p / TASK_FILE).is_file())

    def tasks(self) -> list[TaskInfo]:
        out = []
        for folder in self.folders():
            try:
                task, _ = load_task(folder)
                out.append(TaskInfo(folder.name, task.name, task.description, None))
            except TunegateError as exc:
                out.append(TaskInfo(folder.name, folder.name, "", self.tidy(exc)))
        return out

    def folder(self, slug: str) -> Path:
        """The task folder of `slug`; a name that is not a plain existing task is refused."""
        if not SLUG.match(slug) or not (self.root / slug / TASK_FILE).is_file():
            raise TunegateError(f"no task {slug!r} in the workspace")
        return self.root / slug

    def tidy(self, exc: TunegateError) -> str:
        """The error's line with the workspace's own path left out (paths read task/data/x)."""
        text = str(exc).replace(str(self.root / STAGING) + "/", "")
        return text.replace(str(self.root) + "/", "")

    def staged(self, slug: str) -> Path:
        """The staging folder of an upload not yet confirmed."""
        if not SLUG.match(slug) or not (self.root / STAGING / slug / TASK_FILE).is_file():
            raise TunegateError(f"no upload {slug!r} waiting to be confirmed")
        return self.root / STAGING / slug

    def stage(self, name: str, filename: str, data: bytes) -> str:
        """Infer a task from uploaded data into the staging folder; returns its slug. Nothing
        stays when the data is refused."""
        slug = self._slug(name, filename)
        staging = self.root / STAGING
        shutil.rmtree(staging / slug, ignore_errors=True)  # an earlier try
        try:
            self._write(staging / slug, safe_file_name(filename), data)
        finally:
            if staging.is_dir() and not any(staging.iterdir()):
                staging.rmdir()  # a refused upload leaves nothing at all
        return slug

    def discard(self, slug: str) -> None:
        staged = self.staged(slug)
        shutil.rmtree(staged)
        if not any(staged.parent.iterdir()):
            staged.parent.rmdir()

    def confirm(self, slug: str) -> str:
        """Move a staged upload into the workspace: it becomes a task."""
        staged = self.staged(slug)
        if (self.root / slug).exists():
            raise TunegateError(f"a task named {slug!r} exists; choose another name", "name")
        staged.rename(self.root / slug)
        if not any(staged.parent.iterdir()):
            staged.parent.rmdir()
        return slug

    def _slug(self, name: str, filename: str) -> str:
        slug = slugify(name or safe_file_name(filename).rsplit(".", 1)[0])
        if (self.root / slug).exists():
            raise TunegateError(f"a task named {slug!r} exists; choose another name", "name")
        return slug

    def create(self, name: str, filename: str, data: bytes) -> str:
        """A new task from uploaded data; returns its slug. Nothing stays when the data is refused."""
        slug = self._slug(name, filename)
        self._write(self.root / slug, safe_file_name(filename), data)
        return slug

    def _write(self, folder: Path, file_name: str, data: bytes) -> None:
        from tunegate.init import init_task

        path = folder / "data" / file_name
        try:
            atomic.write_bytes(path, data)
            init_task(folder, from_data=path)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise


# The fields the editor shows: form name -> (path in the task file, kind)
EDIT_FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    "description": (("description",), "text"),
    "model": (("model",), "text"),
    "system": (("prompt", "system"), "text"),
    "user": (("prompt", "user"), "text"),
    "output": (("output",), "yaml"),
    "targets": (("targets",), "yaml"),
    "traffic": (("traffic",), "yaml"),
    "prices": (("prices",), "yaml"),
}


def _get(raw: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = raw
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def edit_values(folder: Path) -> dict[str, str]:
    """The editor's field values, read from the task file as it is on disk."""
    raw = yaml.safe_load((folder / TASK_FILE).read_text(encoding="utf-8")) or {}
    values = {}
    for name, (path, kind) in EDIT_FIELDS.items():
        value = _get(raw, path)
        if kind == "yaml":
            values[name] = "" if value is None else yaml.safe_dump(value, sort_keys=False)
        else:
            values[name] = "" if value is None else str(value)
    return values


def save_edit(folder: Path, form: dict[str, str]) -> None:
    """Apply the editor's fields to the task file, validated whole; raise the first error."""
    path = folder / TASK_FILE
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for name, (keys, kind) in EDIT_FIELDS.items():
        text = form.get(name, "")
        if kind == "yaml":
            try:
                value = yaml.safe_load(text) if text.strip() else None
            except yaml.YAMLError as exc:
                raise TunegateError(f"invalid YAML: {getattr(exc, 'problem', exc)}", name) from exc
            if value is not None and not isinstance(value, dict):
                raise TunegateError("expected a mapping of settings", name)
        else:
            value = text.strip() or None
        parent = raw
        for key in keys[:-1]:
            parent = parent.setdefault(key, {})
        if value is None:
            parent.pop(keys[-1], None)
        else:
            parent[keys[-1]] = value
    task = parse_task(raw, TASK_FILE)
    schema = output_schema(task, folder)
    if schema is not None:
        check_schema(schema, f"{TASK_FILE}: output.schema")
    atomic.write_text(path, yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=100))
