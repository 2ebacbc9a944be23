"""How long each rung of a diagnose will take here, before it starts: the seconds per item this
machine and engine took for that rung in the newest run that generated its answers (a rung
answered from the cache took ~0 s and says nothing about speed), times the items planned. A rung
never measured borrows the median speed of the measured ones and says so. The job keeps the
estimate, and its page puts the actual time beside it when the rung ends.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from tunegate.store import Store

MIN_GENERATED_S = 0.5  # a rung faster than this was answered from the cache


@dataclass(frozen=True)
class RungEstimate:
    rung: str
    seconds: float | None
    per_item: float | None
    basis: str  # where the speed comes from


def rung_speeds(store: Store) -> dict[str, tuple[float, str]]:
    """rung -> (seconds per item, the diagnose run it was measured in), newest run first."""
    speeds: dict[str, tuple[float, str]] = {}
    for run in store.runs("diagnose"):
        if run.status != "done":
            continue
        for name, payload in store.results(run.id).items():
            if not name.startswith("rung.") or name[5:] in speeds:
                continue
            items = len((payload.get("outputs") or {}).get("items") or [])
            seconds = float(payload.get("seconds") or 0.0)
            if items and seconds >= MIN_GENERATED_S:
                speeds[name[5:]] = (seconds / items, run.id)
    return speeds


def planned_items(folder: Path, limit: int | None) -> int:
    """How many test items a diagnose with `limit` answers."""
    from tunegate.data.split import load_dataset
    from tunegate.spec import load_task

    task, folder = load_task(folder)
    n = len(load_dataset(task, folder).test)
    return min(n, limit) if limit else n


def diagnose_estimate(store: Store, rungs: list[str], items: int) -> list[RungEstimate]:
    """Each rung's expected seconds for `items` items (None when nothing was ever measured)."""
    speeds = rung_speeds(store)
    median = statistics.median(s for s, _ in speeds.values()) if speeds else None
    out = []
    for rung in rungs:
        if rung in speeds:
            per, run_id = speeds[rung]
            out.append(RungEstimate(rung, per * items, per, f"measured in {run_id}"))
        elif median is not None:
            out.append(RungEstimate(rung, median * items, median, "not measured yet: the "
                                    "median speed of the measured rungs"))  # fmt: skip
        else:
            out.append(RungEstimate(rung, None, None, "no rung measured on this machine yet"))
    return out
