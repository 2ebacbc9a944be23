"""The confusion matrix figure: expected against answered labels of one field, the top-N labels
kept readable for large label sets (banking77's 77) and the rest pooled."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tunegate.report.plots import Plot, figure, label, to_svg


def top_labels(labels: Sequence[str], counts: np.ndarray, top_n: int) -> list[int]:
    """Indices of the `top_n` labels with the most items (true or predicted), errors first."""
    k = len(labels)
    if k <= top_n:
        return list(range(k))
    square = counts[:, :k]
    errors = square.sum(axis=1) - np.diag(square) + square.sum(axis=0) - np.diag(square)
    support = counts.sum(axis=1) + square.sum(axis=0)
    order = sorted(range(k), key=lambda i: (-errors[i], -support[i], i))
    return sorted(order[:top_n])


def confusion_matrix(
    field: str,
    rung: str,
    labels: Sequence[str],
    counts: Sequence[Sequence[int]],
    top_n: int = 15,
    key: str = "confusion",
) -> Plot | None:
    """Rows true label, columns predicted (last: not a label); the top-N labels by errors and
    volume, the rest pooled as "(other)"; cells shaded by the share of their row."""
    m = np.asarray(counts, dtype=int)
    if m.size == 0 or m.sum() == 0:
        return None
    k = len(labels)
    keep = top_labels(labels, m, top_n)
    rest = [i for i in range(k) if i not in keep]
    groups = [[i] for i in keep] + ([rest] if rest else [])
    names = [label(labels[i], 22) for i in keep] + ([f"(other {len(rest)})"] if rest else [])
    cols = groups + [[k]]  # the invalid column
    small = np.array([[m[np.ix_(r, c)].sum() for c in cols] for r in groups])
    share = small / np.maximum(small.sum(axis=1, keepdims=True), 1)
    size = len(groups)
    fig = figure(0.42 * size + 2.6, 0.38 * size + 2.0)
    ax = fig.subplots()
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    if size <= 20:
        for i in range(size):
            for j in range(size + 1):
                if small[i, j]:
                    ax.text(
                        j,
                        i,
                        str(small[i, j]),
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if share[i, j] > 0.6 else "black",
                    )
    ax.set_xticks(range(size + 1), [*names, "(not a label)"], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(size), names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("expected")
    shown = f"top {len(keep)} of {k} labels" if rest else f"{k} labels"
    return Plot(
        key,
        f"Confusion: {field} ({rung})",
        f"Rows are the expected {field}, columns what {rung} answered ({shown}); shade is the "
        "share of the row, numbers are counts.",
        to_svg(fig, key),
    )
