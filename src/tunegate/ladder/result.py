"""What a diagnose produced, as stored in the run store and written by `--json`.

Store layout (run kind "diagnose"): one result `rung.<name>` per rung (its outputs, metrics,
targets and first prompt) and one `summary` (items, skipped rungs with reasons, paired
comparisons, the table, wall time). `load` rebuilds a `DiagnoseResult` from them without a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tunegate.errors import TunegateError
from tunegate.outputs import Metric, RungOutputs
from tunegate.store import Run, Store


@dataclass
class RungResult:
    """One rung: its outputs, the figures measured on them, and the targets they meet."""

    rung: str
    summary: str
    outputs: RungOutputs
    prompt: list[dict[str, str]]  # the first item's messages, to show what the rung sends
    seconds: float = 0.0  # wall time of this rung in this run (near 0 when all was cached)
    parent: str | None = None  # the rung this one builds on
    metrics: list[Metric] = field(default_factory=list)
    targets: dict[str, str] = field(default_factory=dict)
    not_measured: dict[str, str] = field(default_factory=dict)
    scores: Any = None  # the signals' per-item scores (for paired tests); not stored

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)

    @property
    def errors(self) -> int:
        return sum(1 for it in self.outputs.items if it.error is not None)

    def to_json(self) -> dict[str, Any]:
        return {
            "rung": self.rung,
            "summary": self.summary,
            "outputs": self.outputs.to_json(),
            "prompt": self.prompt,
            "seconds": self.seconds,
            "parent": self.parent,
            "metrics": [m.to_json() for m in self.metrics],
            "targets": self.targets,
            "not_measured": self.not_measured,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RungResult:
        return cls(
            rung=d["rung"],
            summary=d["summary"],
            outputs=RungOutputs.from_json(d["outputs"]),
            prompt=d["prompt"],
            seconds=d.get("seconds", 0.0),
            parent=d.get("parent"),
            metrics=[Metric(**m) for m in d.get("metrics", [])],
            targets=d.get("targets", {}),
            not_measured=d.get("not_measured", {}),
        )


@dataclass
class DiagnoseResult:
    """The whole ladder on one split: rungs measured, rungs skipped, comparisons vs the baseline."""

    run_id: str
    task: str
    item_ids: list[str]
    rungs: list[RungResult]
    skipped: dict[str, str] = field(default_factory=dict)
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    primary: str | None = None
    max_tokens: int | None = None  # the task's output budget (answers that hit it were cut)
    wall_s: float = 0.0

    def rung(self, name: str) -> RungResult | None:
        return next((r for r in self.rungs if r.rung == name), None)

    def summary_json(self) -> dict[str, Any]:
        from tunegate.ladder.table import build_table

        return {
            "run_id": self.run_id,
            "task": self.task,
            "items": len(self.item_ids),
            "item_ids": self.item_ids,
            "rungs": [r.rung for r in self.rungs],
            "skipped": self.skipped,
            "primary": self.primary,
            "max_tokens": self.max_tokens,
            "comparisons": self.comparisons,
            "table": build_table(self),
            "wall_s": self.wall_s,
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.summary_json(), "results": {r.rung: r.to_json() for r in self.rungs}}


def latest_main(store: Store) -> Run | None:
    """The newest finished diagnose that is not a learning curve's evaluation of one adapter."""
    return next(
        (r for r in store.runs("diagnose") if r.status == "done" and not r.config.get("curve")),
        None,
    )


def load(store: Store, run_id: str | None = None) -> DiagnoseResult:
    """A stored diagnose (the newest finished one by default, not counting a learning curve's
    evaluations), rebuilt without a model."""
    if run_id is None:
        run = latest_main(store)
        if run is None:
            raise TunegateError("no finished diagnose in the store; run `tunegate diagnose` first")
        run_id = run.id
    results = store.results(run_id)
    summary = results.get("summary")
    if summary is None:
        raise TunegateError(f"diagnose run {run_id!r} did not finish; run it again to resume")
    rungs = [RungResult.from_json(results[f"rung.{name}"]) for name in summary["rungs"]]
    return DiagnoseResult(
        run_id=run_id,
        task=summary["task"],
        item_ids=summary["item_ids"],
        rungs=rungs,
        skipped=summary["skipped"],
        comparisons=summary["comparisons"],
        primary=summary.get("primary"),
        max_tokens=summary.get("max_tokens"),
        wall_s=summary.get("wall_s", 0.0),
    )
