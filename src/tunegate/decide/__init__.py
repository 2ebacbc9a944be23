"""decide: from measured evidence to a recommendation (`verdict.decide`), with its record
(`record`), the gates and per-signal verdicts (`gates`) and what would flip it (`flips`)."""

from tunegate.decide.flips import curve_slope
from tunegate.decide.gates import judge_gates
from tunegate.decide.record import Decision, Status, Verdict
from tunegate.decide.verdict import decide
from tunegate.evidence import CurvePoint, Evidence, Readiness, Training

__all__ = [
    "CurvePoint",
    "Decision",
    "Evidence",
    "Readiness",
    "Status",
    "Training",
    "Verdict",
    "curve_slope",
    "decide",
    "judge_gates",
]
