"""Deterministic, stratified splits: the same seed always holds out the same examples."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tunegate.data.examples import Example, stratum
from tunegate.data.load import load_file
from tunegate.spec import Task


def _ranks(seed: int, examples: Sequence[Example]) -> list[str]:
    """A seeded sort key per example that ignores file order (repeats of a row are numbered)."""
    seen: dict[str, int] = defaultdict(int)
    keys = []
    for ex in examples:
        keys.append(hashlib.sha256(f"{seed}:{ex.id}:{seen[ex.id]}".encode()).hexdigest())
        seen[ex.id] += 1
    return keys


def split(
    examples: Sequence[Example],
    fraction: float,
    seed: int,
    key: Callable[[Example], str | None] = lambda ex: None,
) -> tuple[list[Example], list[Example]]:
    """Hold out `fraction` of each stratum (by `key`), chosen by a seeded hash; keep file order.

    A stratum of one stays in the first part, so a rare label is never only in the held-out one.
    """
    groups: dict[str | None, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        groups[key(ex)].append(i)
    ranks = _ranks(seed, examples)
    held: set[int] = set()
    for idx in groups.values():
        n = int(len(idx) * fraction + 0.5) if len(idx) > 1 else 0
        held.update(sorted(idx, key=lambda i: ranks[i])[:n])
    keep = [ex for i, ex in enumerate(examples) if i not in held]
    out = [ex for i, ex in enumerate(examples) if i in held]
    return keep, out


def sample(examples: Sequence[Example], n: int, seed: int) -> list[Example]:
    """A seeded subset of n examples, in file order."""
    if n >= len(examples):
        return list(examples)
    ranks = _ranks(seed, examples)
    chosen = set(sorted(range(len(examples)), key=lambda i: ranks[i])[:n])
    return [ex for i, ex in enumerate(examples) if i in chosen]


@dataclass(frozen=True)
class Dataset:
    """A task's examples, split once: everything downstream uses this same held-out `test`."""

    train: list[Example]
    test: list[Example]


def load_dataset(task: Task, folder: Path) -> Dataset:
    """Load the task's train (and test) files and split them as the task says."""
    train = load_file(task, folder / task.data.train)
    if task.data.test:
        test = load_file(task, folder / task.data.test)
    else:
        train, test = split(
            train, task.data.test_fraction, task.data.seed, lambda ex: stratum(task, ex)
        )
    if task.data.test_limit:
        test = sample(test, task.data.test_limit, task.data.seed)
    return Dataset(train=train, test=test)
