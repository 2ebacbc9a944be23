"""The confusion matrix figure: top-N labels of a large label set, user text inert, unique ids."""

from __future__ import annotations

import json
import re

import numpy as np

from conftest import datasets_dir
from report_store import assert_svg
from tunegate.report import plots
from tunegate.report.confusion import confusion_matrix, top_labels


def test_confusion_matrix_of_77_banking_labels_keeps_the_top_ones() -> None:
    labels = json.loads((datasets_dir("banking77") / "categories.json").read_text())
    assert len(labels) == 77
    rng = np.random.default_rng(1)
    counts = np.zeros((77, 78), dtype=int)
    for i in range(77):
        counts[i, i] = rng.integers(2, 8)
    # a few labels confused a lot: they must be among the shown ones
    for a, b in ((3, 4), (10, 11), (40, 41)):
        counts[a, b] += 9
    counts[20, 77] += 5  # answers that were not a label
    keep = top_labels(labels, counts, 15)
    assert len(keep) == 15 and {3, 4, 10, 11, 40, 41, 20} <= set(keep)
    svg = assert_svg(confusion_matrix("label", "constrained", labels, counts.tolist(), 15))
    assert "(other 62)" in svg and "(not a label)" in svg
    assert plots.label(labels[3], 22) in svg  # long labels are shortened
    dropped = next(i for i in range(77) if i not in keep)
    assert f">{plots.label(labels[dropped], 22)}</text>" not in svg


def test_user_text_in_a_figure_is_escaped_and_not_mathtext() -> None:
    labels = ["<script>alert(1)</script>", "costs $5 or $6", "plain"]
    counts = [[3, 1, 0, 0], [0, 2, 0, 1], [0, 0, 4, 0]]
    svg = assert_svg(confusion_matrix("field", "r<b>", labels, counts))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "costs $5 or $6" in svg  # shown literally, not parsed as math


def test_several_figures_have_distinct_ids() -> None:
    counts = [[3, 1, 0], [1, 2, 0]]
    a = assert_svg(confusion_matrix("f", "r", ["x", "y"], counts, key="confusion-0"))
    b = assert_svg(confusion_matrix("f", "r", ["x", "y"], counts, key="confusion-1"))
    ids_a = set(re.findall(r'id="([^"]+)"', a))
    ids_b = set(re.findall(r'id="([^"]+)"', b))
    assert ids_a and not (ids_a & ids_b)
    refs = set(re.findall(r'(?:href="#|url\(#)([^")]+)', a))
    assert refs and refs <= ids_a  # every internal reference still resolves
