"""What every rung reads: the task, its split, its label set, the embedder and the indexes built
from the training examples and the documents (each built once, on first use)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from tunegate.data.examples import Example, input_text, label_set
from tunegate.data.split import Dataset
from tunegate.errors import TunegateError
from tunegate.ladder.docs import Chunk, chunk_docs, read_docs
from tunegate.ladder.retrieve import Index, MemoEncoder
from tunegate.models.engines import EngineChoice, choose_engine
from tunegate.models.resolve import DEFAULT_MODEL
from tunegate.runs import pick_adapter
from tunegate.spec import Task, output_schema
from tunegate.store import Store
from tunegate.train.prompt import PromptForm, load_prompt


class Context:
    """One diagnose run's shared inputs. The embedder loads only when something embeds."""

    def __init__(
        self,
        task: Task,
        folder: Path,
        dataset: Dataset,
        store: Store,
        embedder: Any = None,
        adapter: str | None = None,
    ) -> None:
        self.task = task
        self.adapter_choice = adapter  # a training run id or an adapter folder; None: newest
        self.folder = folder
        self.dataset = dataset
        self.store = store
        # One memoizing encoder for retrieval and signals; MiniLM unless one is given.
        self.embedder = MemoEncoder(embedder)
        # What rungs' `prepare` steps found for their `build` (the optimized rung's winner).
        self.prepared: dict[str, Any] = {}

    @property
    def train(self) -> list[Example]:
        return self.dataset.train

    @cached_property
    def schema(self) -> dict[str, Any] | None:
        return output_schema(self.task, self.folder) if self.task.output.type == "json" else None

    @cached_property
    def labels(self) -> tuple[str, ...] | None:
        """The label set (`tunegate.data.examples.label_set`) of the training targets."""
        labels = label_set(self.task, [ex.target for ex in self.train])
        return tuple(labels) if labels is not None else None

    @cached_property
    def engine(self) -> EngineChoice:
        """The engine that runs the local model (the task's `engine`, or the fallback)."""
        return choose_engine(self.task.engine, self.task.model, self.folder)

    @cached_property
    def model_id(self) -> str:
        """The local base model as it enters cache keys and labels: its name (or resolved path),
        then `@engine:weights` unless the torch reference engine runs it."""
        if self.task.model is None:
            base = DEFAULT_MODEL
        else:
            p = Path(self.task.model).expanduser()
            base = str((self.folder / p).resolve() if not p.is_absolute() else p)
        return base if self.engine.engine == "torch" else f"{base}@{self.engine.label()}"

    @cached_property
    def train_index(self) -> Index:
        """Nearest-neighbour index over the training inputs (for retrieved few-shot examples)."""
        texts = [input_text(ex) for ex in self.train]
        return Index.build(self.embedder, texts, self.store.root / "embeddings")

    @cached_property
    def doc_chunks(self) -> list[Chunk]:
        if not self.task.docs:
            return []
        return chunk_docs(read_docs(self.folder / self.task.docs))

    @cached_property
    def docs_text(self) -> str | None:
        """All documents as one text (for the doc-dependence figures of the knowledge signal)."""
        if not self.task.docs:
            return None
        return "\n\n".join(text for _, text in read_docs(self.folder / self.task.docs)) or None

    @cached_property
    def style_refs(self) -> list[str] | None:
        """The task's style reference texts: a .txt file (one per line) or .jsonl with `text`."""
        if not self.task.style_refs:
            return None
        return read_style_refs(self.folder / self.task.style_refs)

    @cached_property
    def doc_index(self) -> Index:
        texts = [c.text for c in self.doc_chunks]
        return Index.build(self.embedder, texts, self.store.root / "embeddings")

    @cached_property
    def _adapter(self) -> tuple[str | None, str | None]:
        """(training run id, adapter folder) of the adapter the fine-tuned rung uses: the chosen
        run or folder, else the latest by `tunegate.runs.pick_adapter`'s rule."""
        choice = self.adapter_choice
        runs = {r.id for r in self.store.runs("train")}
        if choice is None or choice in runs:
            found = pick_adapter(self.store, choice)
            if found is not None:
                return found[0], str(found[1])
            if choice is not None:
                raise TunegateError(
                    f"training run {choice!r} has not finished or has no adapter on disk",
                    "--adapter",
                )
            return None, None
        folder = self._adapter_folder(choice)
        if folder is None or not (Path(folder) / "adapter_config.json").exists():
            raise TunegateError(
                f"{choice!r} is neither a finished training run in the store nor a PEFT "
                "adapter folder (with adapter_config.json)",
                "--adapter",
            )
        return None, folder

    def _adapter_folder(self, path: str | None) -> str | None:
        if not path:
            return None
        p = Path(path)
        for candidate in (p, self.folder / p, self.store.root / p):
            if candidate.is_dir():
                return str(candidate.resolve())
        return None

    @property
    def adapter(self) -> str | None:
        """The adapter folder: the chosen one, else the newest finished training run's."""
        return self._adapter[1]

    @cached_property
    def adapter_prompt(self) -> PromptForm | None:
        """The prompt `adapter` was trained on (recorded in its folder; the task's full prompt
        when it has no record), or None without an adapter."""
        return load_prompt(self.adapter, self.task) if self.adapter else None

    @property
    def adapter_run(self) -> str | None:
        """The training run that made `adapter` (None for a folder given directly)."""
        return self._adapter[0]


def read_style_refs(path: Path) -> list[str]:
    """Reference texts for the style signal, one per line (.txt) or per `text` field (.jsonl)."""
    if not path.exists():
        raise TunegateError("style references file not found (task field `style_refs`)", str(path))
    if path.suffix.lower() in (".jsonl", ".json", ".csv"):
        from tunegate.data.load import read_rows

        refs = []
        for n, row in read_rows(path):
            if not isinstance(row.get("text"), str):
                raise TunegateError("expected a `text` field holding a string", f"{path}:{n}")
            refs.append(row["text"])
    else:
        refs = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    refs = [r for r in refs if r.strip()]
    if not refs:
        raise TunegateError("no reference texts in the file", str(path))
    return refs
