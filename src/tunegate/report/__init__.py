"""The report: the recommendation, the money and the pictures, rebuilt from the run store.

`build_report(task)` gathers what check, diagnose and train stored (`gather`), decides
(`tunegate.decide`), draws the figures (`plots`), picks each rung's worst answers (`failures`)
and writes one self-contained HTML file (`html`) and optionally JSON; `terminal` prints the
summary; `compare` sets two diagnose runs side by side. No model is run.
"""

from __future__ import annotations

from tunegate.report.build import ReportResult, build_report
from tunegate.report.compare import RunComparison, build_compare
from tunegate.report.gather import Gathered, gather

__all__ = [
    "Gathered",
    "ReportResult",
    "RunComparison",
    "build_compare",
    "build_report",
    "gather",
]
