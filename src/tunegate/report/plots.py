"""The report's figures, drawn with matplotlib and returned as inline SVG text.

Each function takes plain records and returns a `Plot` (or None when there is nothing to draw).
Figures are `matplotlib.figure.Figure` objects rendered straight to SVG: no pyplot state, no
display, no external file. Text stays text (`svg.fonttype: none`), so it is searchable and
small; ids are salted per figure so several SVGs can live in one HTML page. User strings (rung
names, labels) are shortened and their `$` escaped so mathtext never parses them; the SVG
writer escapes them as XML.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tunegate.decide import CurvePoint
from tunegate.outputs import Metric
from tunegate.signals.cost import monthly_cost_curve

if TYPE_CHECKING:
    from matplotlib.figure import Figure

KIND_COLOR = {"prompt": "#4C72B0", "finetuned": "#2CA02C", "remote": "#DD8452"}
TARGET_COLOR = "#C44E52"


@dataclass
class Plot:
    key: str  # a stable id, also the HTML anchor
    title: str
    caption: str
    svg: str


@dataclass
class Bar:
    """One rung's value of one signal (None: not measured) and its kind."""

    rung: str
    kind: str
    metric: Metric | None


@dataclass
class Panel:
    """One signal across rungs, with the task's target when one is set."""

    title: str
    bars: list[Bar]
    target: float | None = None
    unit: str = ""


def label(text: str, limit: int = 28) -> str:
    """A user string made safe for a matplotlib label: short, `$` escaped (no mathtext)."""
    s = " ".join(str(text).split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s.replace("$", r"\$")


def figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def to_svg(fig: Figure, key: str) -> str:
    """The figure as an `<svg>` element (no XML prolog), its ids prefixed by `key`."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": key}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    # element ids (figure_1, axes_1, ...) repeat across figures: make them unique in the page
    text = text.replace(' id="', f' id="{key}-')
    return text.replace('href="#', f'href="#{key}-').replace("url(#", f"url(#{key}-")


def _fmt(v: float, unit: str) -> str:
    if unit == "$":
        return f"${v:,.2f}" if v < 1000 else f"${v:,.0f}"
    if unit == "ms":
        return f"{v:,.0f} ms"
    return f"{v:.2f}"


def signal_bars(panels: Sequence[Panel], key: str = "signals") -> Plot | None:
    """One horizontal bar chart per signal (rungs down the side), 95% CI whiskers, target line."""
    panels = [p for p in panels if any(b.metric for b in p.bars)]
    if not panels:
        return None
    rungs = [b.rung for b in panels[0].bars]
    fig = figure(2.9 * len(panels) + 1.2, 0.42 * len(rungs) + 1.4)
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    y = np.arange(len(rungs))
    for ax, panel in zip(axes, panels, strict=True):
        values = [b.metric.value if b.metric else 0.0 for b in panel.bars]
        err = np.array(
            [
                [b.metric.value - b.metric.lo, b.metric.hi - b.metric.value]
                if b.metric
                else [0.0, 0.0]
                for b in panel.bars
            ]
        ).T
        colors = [KIND_COLOR.get(b.kind, "#888888") for b in panel.bars]
        ax.barh(y, values, xerr=err, color=colors, capsize=3, error_kw={"elinewidth": 1})
        positive = [b.metric.lo for b in panel.bars if b.metric and b.metric.lo > 0]
        highs = [b.metric.hi for b in panel.bars if b.metric]
        if panel.unit in ("$", "ms") and positive and max(highs) / min(positive) > 50:
            ax.set_xscale("log")
        top = max([*highs, panel.target or 0.0])
        if ax.get_xscale() == "log":
            ax.set_xlim(right=top * 4)
        else:
            ax.set_xlim(0, top * 1.3 if top > 0 else 1.0)
        for yi, b in zip(y, panel.bars, strict=True):
            text = _fmt(b.metric.value, panel.unit) if b.metric else "not measured"
            at = b.metric.hi if b.metric else 0.0
            ax.annotate(
                text,
                (at, yi),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
                color="#222222" if b.metric else "#888888",
            )
        if panel.target is not None:
            ax.axvline(panel.target, color=TARGET_COLOR, linestyle="--", linewidth=1.2)
            ax.set_title(f"{panel.title}\n(target {_fmt(panel.target, panel.unit)})", fontsize=9)
        else:
            ax.set_title(panel.title, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(labelsize=8)
    axes[0].set_yticks(y, [label(r) for r in rungs])
    axes[0].invert_yaxis()
    return Plot(
        key,
        "Signals per rung",
        "Each bar is a rung's figure on the held-out split with its 95% confidence interval; "
        "the dashed red line is the task's target. Blue: prompt rungs, green: fine-tuned, "
        "orange: remote.",
        to_svg(fig, key),
    )


@dataclass
class CostLine:
    rung: str
    kind: str
    per_request: float
    fixed_per_month: float = 0.0  # amortized training for fine-tuned rungs


def cost_vs_traffic(
    lines: Sequence[CostLine],
    traffic: float,
    break_even: dict[str, float | None],
    budget: float | None = None,
    machine_per_month: float | None = None,
    key: str = "cost",
) -> Plot | None:
    """$ per month against requests per day (log axes): one line per rung, the task's traffic,
    the budget, one always-on machine's monthly price, and where the fine-tuned line crosses
    the others (break-even)."""
    lines = [ln for ln in lines if ln.per_request > 0 or ln.fixed_per_month > 0]
    if not lines:
        return None
    marks = [traffic, *(v for v in break_even.values() if v)]
    positive = [m for m in marks if m and m > 0] or [1000.0]
    lo = 10 ** math.floor(math.log10(max(0.1, min(positive) / 30)))
    hi = 10 ** math.ceil(math.log10(max(positive) * 30))
    grid = np.logspace(math.log10(lo), math.log10(hi), 200)
    fig = figure(7.5, 4.4)
    ax = fig.subplots()
    palette = ["#4C72B0", "#8172B3", "#64B5CD", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974"]
    prompt_i = 0
    for ln in lines:
        y = monthly_cost_curve(ln.per_request, list(grid), ln.fixed_per_month)
        name = label(ln.rung)
        if ln.kind == "prompt":
            color, style, width = palette[prompt_i % len(palette)], "-", 1.3
            prompt_i += 1
        else:
            color, style, width = KIND_COLOR.get(ln.kind, "#333333"), "-", 2.4
        if ln.kind == "remote":
            style = "--"
        if ln.fixed_per_month:
            name += " (+ training amortized)"
        ax.plot(grid, y, style, label=name, color=color, linewidth=width, alpha=0.9)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.axvline(traffic, color="#555555", linestyle=":", linewidth=1.2)
    ax.annotate(
        f"now: {traffic:,.0f}/day",
        (traffic, 1),
        xycoords=("data", "axes fraction"),
        xytext=(4, -12),
        textcoords="offset points",
        fontsize=8,
    )
    tuned = next((ln for ln in lines if ln.kind == "finetuned"), None)
    kinds = {ln.rung: ln.kind for ln in lines}
    if tuned is not None:
        crossings = sorted((v, r) for r, v in break_even.items() if v)
        # label the remote crossings and the highest one; dots mark every crossing
        named = {r for v, r in crossings if kinds.get(r) == "remote"}
        if crossings:
            named.add(crossings[-1][1])
        for i, (per_day, rung) in enumerate(crossings):
            at = monthly_cost_curve(tuned.per_request, [per_day], tuned.fixed_per_month)[0]
            ax.plot([per_day], [at], marker="o", color="black", markersize=5, zorder=5)
            if rung in named:
                ax.annotate(
                    f"break-even vs {label(rung, 20)}: {per_day:,.0f}/day",
                    (per_day, at),
                    xytext=(8, -14 - 12 * (i % 2)),
                    textcoords="offset points",
                    fontsize=8,
                    arrowprops={"arrowstyle": "-", "color": "#555555", "linewidth": 0.6},
                )
    for value, text, color, side in (
        (budget, "budget", TARGET_COLOR, 1),
        (machine_per_month, "one always-on machine", "#555555", 0),
    ):
        if value:
            ax.axhline(value, color=color, linestyle="--" if side else "-.", linewidth=1.0)
            ax.annotate(
                f"{text} ${value:,.0f}/month",
                (side, value),
                xycoords=("axes fraction", "data"),
                xytext=(-4 if side else 4, 3),
                textcoords="offset points",
                ha="right" if side else "left",
                fontsize=8,
                color=color,
            )
    ax.set_xlabel("requests per day")
    ax.set_ylabel("$ per month")
    ax.grid(which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return Plot(
        key,
        "Cost per month vs traffic",
        "Serving cost per month at each traffic: self-hosted rungs at their measured batch "
        "throughput with the machine fully used (below the always-on line it must be shared or "
        "stopped when idle), remote rungs at their token prices (dashed). The fine-tuned line adds "
        "its training cost amortized over the task's months; dots mark where it becomes cheaper "
        "than another rung.",
        to_svg(fig, key),
    )


def latency_distributions(
    samples: Sequence[tuple[str, str, Sequence[float]]],
    slo_ms: float | None = None,
    key: str = "latency",
) -> Plot | None:
    """Box and strip plot of each rung's single-request latencies (rung, kind, ms values)."""
    samples = [s for s in samples if len(s[2])]
    if not samples:
        return None
    fig = figure(7.5, 0.5 * len(samples) + 1.5)
    ax = fig.subplots()
    data = [np.asarray(v, dtype=float) for _, _, v in samples]
    ax.boxplot(data, orientation="horizontal", widths=0.5, showfliers=False)
    rng = np.random.default_rng(0)
    for i, ((_, kind, _), v) in enumerate(zip(samples, data, strict=True), start=1):
        jitter = rng.uniform(-0.15, 0.15, len(v))
        ax.scatter(v, i + jitter, s=10, alpha=0.6, color=KIND_COLOR.get(kind, "#888888"))
    everything = np.concatenate(data)
    if everything.min() > 0 and everything.max() / everything.min() > 30:
        ax.set_xscale("log")
    if slo_ms:
        ax.axvline(slo_ms, color=TARGET_COLOR, linestyle="--", linewidth=1.2)
        ax.annotate(
            f"p95 SLO {slo_ms:,.0f} ms",
            (slo_ms, 1),
            xycoords=("data", "axes fraction"),
            xytext=(4, -12),
            textcoords="offset points",
            fontsize=8,
            color=TARGET_COLOR,
        )
    ax.set_yticks(range(1, len(samples) + 1), [f"{label(r)} (n={len(v)})" for r, _, v in samples])
    ax.invert_yaxis()
    ax.set_xlabel("latency per request (ms), timed one request at a time")
    ax.grid(axis="x", alpha=0.3)
    return Plot(
        key,
        "Latency per rung",
        "Each dot is one request timed alone; boxes span the middle half, whiskers 1.5x it.",
        to_svg(fig, key),
    )


@dataclass
class CurveMark:
    n_train: int
    point: CurvePoint | None  # the primary figure of the adapter trained on n_train examples
    eval_loss: float | None


def learning_curve(
    marks: Sequence[CurveMark],
    metric_name: str,
    slope: float | None,
    key: str = "learning-curve",
) -> Plot | None:
    """Primary metric (with CI) and best validation loss against the number of training examples."""
    pts = [m.point for m in marks if m.point is not None]
    losses = [m for m in marks if m.eval_loss is not None]
    panels = [p for p in (pts, losses) if p]
    if not panels:
        return None
    fig = figure(4.2 * len(panels) + 0.6, 3.6)
    axes = list(fig.subplots(1, len(panels), squeeze=False)[0])
    if pts:
        ax = axes.pop(0)
        x = np.array([p.n_train for p in pts], dtype=float)
        v = np.array([p.value for p in pts])
        err = np.array([[p.value - p.lo, p.hi - p.value] for p in pts]).T
        ax.errorbar(x, v, yerr=err, fmt="o-", color=KIND_COLOR["finetuned"], capsize=3)
        if slope is not None and len(pts) >= 2:
            xs = np.geomspace(x.min(), x.max(), 50)
            fit = np.polyfit(np.log2(x), v, 1)
            ax.plot(xs, np.polyval(fit, np.log2(xs)), "--", color="#555555", linewidth=1)
            ax.set_title(f"{metric_name}: {100 * slope:+.1f} points per doubling", fontsize=9)
        else:
            ax.set_title(metric_name, fontsize=9)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("training examples")
        ax.grid(alpha=0.3)
    if losses:
        ax = axes.pop(0)
        ax.plot([m.n_train for m in losses], [m.eval_loss for m in losses], "s-", color="#8172B3")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("training examples")
        ax.set_title("best validation loss", fontsize=9)
        ax.grid(alpha=0.3)
    return Plot(
        key,
        "Learning curve",
        "The fine-tuned model trained on nested fractions of the training split: its primary "
        "figure on the held-out split (95% CI), and its best validation loss. A rising curve "
        "says more data would help.",
        to_svg(fig, key),
    )


def loss_curve(
    loss: Sequence[tuple[int, float]],
    eval_loss: Sequence[tuple[int, float]],
    key: str = "loss",
) -> Plot | None:
    """Training loss per step and validation loss at each evaluation."""
    if not loss and not eval_loss:
        return None
    fig = figure(7.5, 3.4)
    ax = fig.subplots()
    if loss:
        steps, values = zip(*loss, strict=True)
        ax.plot(steps, values, color="#4C72B0", linewidth=1, alpha=0.8, label="train loss")
    if eval_loss:
        steps, values = zip(*eval_loss, strict=True)
        ax.plot(steps, values, "o-", color="#C44E52", markersize=4, label="validation loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return Plot(
        key,
        "Training loss",
        "Loss per optimizer step of the training run behind the fine-tuned rung; the adapter "
        "kept is the one with the lowest validation loss.",
        to_svg(fig, key),
    )
