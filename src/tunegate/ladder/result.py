"""What a diagnose produced: the one versioned record of a rung's result on an item set.

Store layout (run kind "diagnose"): one result `rung.<name>` per rung and one `summary` (items,
skipped rungs with reasons, paired comparisons, the table, wall time). A `RungResult` is the
only shape stored and loaded: its outputs, figures, per-item scores (so rungs measured in
different runs can be paired without a model), and what it was measured under: the task's
fingerprint, the held-out item ids, the model and adapter, the decoding settings.
Records written before version 2 lack those; they load with `version` 1 and the evidence
layer says how to rebuild them. `load` rebuilds a `DiagnoseResult` without a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tunegate.errors import TunegateError
from tunegate.outputs import Metric, RungOutputs
from tunegate.runs import newest
from tunegate.signals.scores import ItemScores
from tunegate.store import Run, Store

RECORD_VERSION = 2
OPTIMIZED = "optimized"  # the searched prompt: the prompt ceiling when it ran
RungKind = Literal["prompt", "finetuned", "remote"]


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
    scores: Any = None  # the signals' RungScores, while a diagnose runs (not stored as such)
    kind: RungKind = "prompt"  # prompt-only, a fine-tuned adapter, or a remote endpoint
    run_id: str = ""  # the diagnose run that measured it
    created: float = 0.0  # when it was measured (seconds since the epoch)
    item_ids: list[str] = field(default_factory=list)  # the held-out items, in order
    limit: int | None = None  # the `--limit` that drew them (None: the whole test split)
    fingerprint: dict[str, str] = field(default_factory=dict)  # tunegate.fingerprint parts
    model: str = ""  # the base model as it entered the cache keys
    adapter: str | None = None  # the adapter folder (fine-tuned rungs)
    adapter_run: str | None = None  # the training run that made it
    decoding: dict[str, Any] = field(default_factory=dict)  # max_tokens, greedy, constrained
    item_scores: dict[str, ItemScores] = field(default_factory=dict)  # for paired tests
    version: int = RECORD_VERSION

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
            "kind": self.kind,
            "run_id": self.run_id,
            "created": self.created,
            "item_ids": self.item_ids,
            "limit": self.limit,
            "fingerprint": self.fingerprint,
            "model": self.model,
            "adapter": self.adapter,
            "adapter_run": self.adapter_run,
            "decoding": self.decoding,
            "item_scores": {k: asdict(v) for k, v in self.item_scores.items()},
            "version": self.version,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RungResult:
        """A stored record; one written before version 2 gets its kind from its name."""
        outputs = RungOutputs.from_json(d["outputs"])
        return cls(
            rung=d["rung"],
            summary=d.get("summary", ""),
            outputs=outputs,
            prompt=list(d.get("prompt", [])),
            seconds=d.get("seconds", 0.0),
            parent=d.get("parent"),
            metrics=[Metric(**m) for m in d.get("metrics", [])],
            targets=dict(d.get("targets", {})),
            not_measured=dict(d.get("not_measured", {})),
            kind=d.get("kind") or legacy_kind(d["rung"], outputs),
            run_id=d.get("run_id", ""),
            created=float(d.get("created", 0.0)),
            item_ids=list(d.get("item_ids", [])),
            limit=d.get("limit"),
            fingerprint=dict(d.get("fingerprint", {})),
            model=d.get("model", outputs.model),
            adapter=d.get("adapter"),
            adapter_run=d.get("adapter_run"),
            decoding=dict(d.get("decoding", {})),
            item_scores={k: ItemScores(**v) for k, v in d.get("item_scores", {}).items()},
            version=int(d.get("version", 1)),
        )


def legacy_kind(name: str, outputs: RungOutputs) -> RungKind:
    """The kind of a rung stored before kinds were recorded: remote (an endpoint answered),
    finetuned (an adapter: the finetuned and distilled rungs), else prompt."""
    if outputs.remote:
        return "remote"
    if name.startswith(("finetuned", "distill")):
        return "finetuned"
    return "prompt"


def prompt_ceiling(rungs: Sequence[RungResult], primary: str) -> RungResult | None:
    """How far prompting gets, the one rule every consumer uses: the optimized rung when it ran
    (its prompt was chosen on a dev split, so its test figure is not picked by the test items),
    else the prompt-only rung with the best primary figure."""
    measured = [r for r in rungs if r.kind == "prompt" and r.metric(primary) is not None]
    searched = next((r for r in measured if r.rung == OPTIMIZED), None)
    if searched is not None:
        return searched
    return max(measured, key=lambda r: r.metric(primary).value, default=None)  # type: ignore[union-attr]


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


def save_rung(store: Store, run_id: str, res: RungResult) -> None:
    """Store one rung's record in its diagnose run (as soon as the rung is measured)."""
    store.put_result(run_id, f"rung.{res.rung}", res.to_json())


def save_summary(store: Store, result: DiagnoseResult) -> None:
    """Store a finished diagnose's summary and mark the run done."""
    store.put_result(result.run_id, "summary", result.summary_json())
    store.set_status(result.run_id, "done")


def latest_main(store: Store) -> Run | None:
    """The newest finished diagnose that is not a learning curve's evaluation of one adapter."""
    return newest(store, "diagnose", curve=False)


def load(store: Store, run_id: str | None = None) -> DiagnoseResult:
    """One stored diagnose run (the newest finished one by default, not counting a learning
    curve's evaluations), rebuilt without a model."""
    if run_id is None:
        latest = latest_main(store)
        if latest is None:
            raise TunegateError(
                "no finished diagnose in the store; run `tunegate diagnose` first", str(store.path)
            )
        run = latest
    else:
        run = store.run(run_id)
        if run.kind != "diagnose":
            raise TunegateError(
                f"run {run.id!r} is a {run.kind} run, not a diagnose", str(store.path)
            )
    summary = store.result(run.id, "summary")
    if not isinstance(summary, dict):
        raise TunegateError(
            f"diagnose run {run.id!r} did not finish; run `tunegate diagnose` again to resume",
            str(store.path),
        )
    return DiagnoseResult(
        run_id=run.id,
        task=summary.get("task", ""),
        item_ids=list(summary.get("item_ids", [])),
        rungs=load_rungs(store, run),
        skipped=dict(summary.get("skipped", {})),
        comparisons=list(summary.get("comparisons", [])),
        primary=summary.get("primary"),
        max_tokens=summary.get("max_tokens"),
        wall_s=summary.get("wall_s", 0.0),
    )


def load_rungs(store: Store, run: Run) -> list[RungResult]:
    """Every rung record of a finished diagnose run (version-1 records get the run's items)."""
    results = store.results(run.id)
    summary = results.get("summary")
    if not isinstance(summary, dict):
        return []
    out = []
    for name in summary.get("rungs", []):
        d = results.get(f"rung.{name}")
        if d is None:
            continue
        r = RungResult.from_json(d)
        if r.version < 2:
            r.run_id, r.created = run.id, run.created
            r.item_ids = list(summary.get("item_ids", []))
            r.limit = run.config.get("limit")
            r.adapter_run = run.config.get("adapter_run") if r.kind == "finetuned" else None
        out.append(r)
    return out
