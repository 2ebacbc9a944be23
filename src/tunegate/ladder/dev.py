"""The optimized rung's dev split: carved from train only, stratified, deterministic by seed,
and the item counts of the search's successive-halving levels."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence

from tunegate.data.examples import Example, stratum
from tunegate.errors import TunegateError
from tunegate.spec import Task


def carve_dev(
    task: Task, train: Sequence[Example], size: int, fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """(pool, dev): `size` labelled train rows (at most `fraction` of train), taken round-robin
    over strata (labels) from the most frequent, seeded within each, so any prefix of dev is
    balanced; every stratum keeps at least one row in the pool. Deterministic by seed."""
    n = min(size, int(len(train) * fraction))
    groups: dict[str | None, list[Example]] = defaultdict(list)
    seen: set[str] = set()
    for ex in train:
        if ex.target.strip() and ex.id not in seen:
            seen.add(ex.id)
            groups[stratum(task, ex)].append(ex)

    def rank(ex: Example) -> str:
        return hashlib.sha256(f"{seed}:dev:{ex.id}".encode()).hexdigest()

    order = sorted(groups, key=lambda s: (-len(groups[s]), str(s)))
    queues = {s: sorted(groups[s], key=rank)[:-1] for s in order}  # the last stays in the pool
    dev: list[Example] = []
    while len(dev) < n and any(queues.values()):
        for s in order:
            if queues[s] and len(dev) < n:
                dev.append(queues[s].pop(0))
    if len(dev) < 2:
        raise TunegateError(
            f"too few labelled training rows ({len(train)}) to carve a dev split of at least 2 "
            "for the optimized rung; add training data or raise ladder.optimize.dev_fraction",
            "ladder.optimize",
        )
    taken = {ex.id for ex in dev}
    return [ex for ex in train if ex.id not in taken], dev


def levels(n_dev: int) -> list[int]:
    """Dev items per halving level: a screen of about a quarter (at least 8), doubling."""
    n0 = min(n_dev, max(8, -(-n_dev // 4)))
    out = [n0]
    while out[-1] < n_dev:
        out.append(min(n_dev, out[-1] * 2))
    return out
