"""Helpers for the ladder tests: small task folders, a scripted generator that records every
request (DSPy's DummyLM idea), and a deterministic bag-of-words embedder so retrieval is
predictable."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import yaml

from tunegate.data.split import load_dataset
from tunegate.ladder.context import Context
from tunegate.models.base import Generation, GenRequest, Progress
from tunegate.spec import load_task
from tunegate.store import Store


class ScriptedGenerator:
    """Answers each request with `answer(request)`; records what it was asked, batch by batch.

    `fail_on_call=n` raises on the n-th `generate` call (1-based), as a crash midway would.
    """

    def __init__(
        self,
        answer: Callable[[GenRequest], str] | None = None,
        fail_on_call: int | None = None,
        exc: BaseException | None = None,
        time_one_s: float = 0.0,
    ) -> None:
        self.name = "scripted"
        self.answer = answer or (lambda req: "ok")
        self.batches: list[list[GenRequest]] = []
        self.timed: list[GenRequest] = []
        self.fail_on_call = fail_on_call
        self.exc = exc or RuntimeError("injected crash")
        self.time_one_s = time_one_s  # how long a timed request takes

    @property
    def generated(self) -> list[GenRequest]:
        return [r for b in self.batches for r in b]

    def generate(
        self, requests: Sequence[GenRequest], progress: Progress | None = None
    ) -> list[Generation]:
        if self.fail_on_call is not None and len(self.batches) + 1 == self.fail_on_call:
            raise self.exc
        self.batches.append(list(requests))
        out = []
        for req in requests:
            text = self.answer(req)
            n_in = sum(len(m["content"].split()) for m in req.messages)
            out.append(Generation(text=text, input_tokens=n_in, output_tokens=len(text.split())))
        if progress:
            progress(len(out), sum(g.output_tokens for g in out))
        return out

    def time_one(self, request: GenRequest) -> Generation:
        self.timed.append(request)
        time.sleep(self.time_one_s)
        text = self.answer(request)
        return Generation(text=text, output_tokens=len(text.split()), latency_ms=12.0, ttft_ms=3.0)


class BagOfWords:
    """Unit vectors from hashed lower-cased words: texts sharing words are similar."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.calls = 0

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().replace(",", " ").replace(".", " ").split():
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"type": "string", "enum": ["billing", "login", "shipping"]},
        "urgency": {"type": "string", "enum": ["low", "high"]},
    },
    "required": ["category", "urgency"],
    "additionalProperties": False,
}

TRAIN = [
    ("I was charged twice on my invoice", "billing", "high"),
    ("refund the invoice charge please", "billing", "low"),
    ("cannot login, password reset fails", "login", "high"),
    ("login page is slow today", "login", "low"),
    ("my parcel shipping is late", "shipping", "low"),
    ("shipping address is wrong on the parcel", "shipping", "high"),
]
TEST = [
    ("charged twice, need a refund on invoice", "billing", "high"),
    ("password reset email never arrives for login", "login", "high"),
    ("where is my parcel", "shipping", "low"),
    ("invoice shows wrong amount", "billing", "low"),
    ("login blocked after update", "login", "high"),
]

DOCS = {
    "policy.md": "# Urgency policy\n\nA double charge on an invoice is always high urgency.\n\n"
    "Late parcels are low urgency unless the parcel is lost.\n",
    "products.txt": "The Acme Portal is where customers login.\n\n"
    "Password resets expire after 1 hour.\n",
}


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def make_task(
    root: Path,
    kind: str = "json",
    *,
    docs: bool = True,
    extra: dict | None = None,
) -> Path:
    """A task folder: `json` (ticket -> {category, urgency}) or `label` (ticket -> category)."""
    folder = root / f"task-{kind}"
    folder.mkdir(parents=True)

    def target(c: str, u: str) -> object:
        return {"category": c, "urgency": u} if kind == "json" else c

    _jsonl(folder / "train.jsonl", [{"message": m, "ticket": target(c, u)} for m, c, u in TRAIN])
    _jsonl(folder / "test.jsonl", [{"message": m, "ticket": target(c, u)} for m, c, u in TEST])
    task: dict = {
        "name": f"tickets-{kind}",
        "inputs": ["message"],
        "prompt": {"system": "Triage the support message.", "user": "Message: {message}"},
        "output": {"type": kind, "field": "ticket", "max_tokens": 32},
        "data": {"train": "train.jsonl", "test": "test.jsonl"},
        "ladder": {"few_shot_k": 2, "rag_k": 1, "batch_size": 2, "latency_samples": 1},
    }
    if kind == "json":
        task["output"]["schema"] = SCHEMA
    if docs:
        (folder / "docs").mkdir()
        for name, text in DOCS.items():
            (folder / "docs" / name).write_text(text, encoding="utf-8")
        task["docs"] = "docs"
    for key, value in (extra or {}).items():
        task[key] = value
    (folder / "tunegate.yaml").write_text(yaml.safe_dump(task, sort_keys=False), encoding="utf-8")
    return folder


def context(folder: Path, embedder: object = None) -> Context:
    """The Context a diagnose of `folder` would build."""
    task, folder = load_task(folder)
    return Context(task, folder, load_dataset(task, folder), Store(folder), embedder)


# The optimized rung's tests: a 3-label task with 24 training rows, and a scripted answer.
LABELS = ("billing", "login", "shipping")
WORDS = {
    "billing": ["invoice", "charge", "refund", "payment", "price", "bill"],
    "login": ["password", "login", "account", "reset", "locked", "sign-in"],
    "shipping": ["parcel", "delivery", "courier", "address", "package", "tracking"],
}


def rows(n: int, tag: str) -> list[tuple[str, str]]:
    out = []
    for i in range(n):
        for label in LABELS:
            w = WORDS[label]
            out.append((f"{tag} {i}: my {w[i % 6]} and {w[(i + 2) % 6]} problem", label))
    return out


TRAIN_ROWS = rows(8, "train")  # 24 rows
TEST_ROWS = rows(2, "test")  # 6 rows
ANSWERS = dict(TRAIN_ROWS + TEST_ROWS)


def make_label_task(root: Path, optimize_spec: dict | None = None, **extra: object) -> Path:
    folder = root / "opt-task"
    folder.mkdir(parents=True)
    for name, data in (("train", TRAIN_ROWS), ("test", TEST_ROWS)):
        text = "".join(json.dumps({"message": m, "label": lab}) + "\n" for m, lab in data)
        (folder / f"{name}.jsonl").write_text(text, encoding="utf-8")
    task = {
        "name": "opt",
        "description": "Route a support message to its team.",
        "inputs": ["message"],
        "prompt": {"system": "Triage the support message.", "user": "Message: {message}"},
        "output": {"type": "label", "field": "label", "max_tokens": 8},
        "data": {"train": "train.jsonl", "test": "test.jsonl"},
        "ladder": {
            "few_shot_k": 4,
            "batch_size": 4,
            "latency_samples": 1,
            "optimize": {"max_candidates": 30, "max_dev_items": 12, "dev_fraction": 0.5},
        },
    }
    task["ladder"]["optimize"].update(optimize_spec or {})
    task.update(extra)
    (folder / "tunegate.yaml").write_text(yaml.safe_dump(task), encoding="utf-8")
    return folder


def query(req: GenRequest) -> str:
    return req.messages[-1]["content"].removeprefix("Message: ")


def k_of(req: GenRequest) -> int:
    return sum(1 for m in req.messages if m["role"] == "assistant")


def optimize_answer(req: GenRequest) -> str:
    """Right on every item only with the `expert` instruction AND 2 shots; right on half of the
    items with one of the two; wrong otherwise."""
    q = query(req)
    expert = req.messages[0]["content"].startswith("You are a meticulous expert")
    two = k_of(req) == 2
    if (expert and two) or ((expert or two) and int(q.split()[1].rstrip(":")) % 2 == 0):
        return ANSWERS[q]
    return "wrong"
