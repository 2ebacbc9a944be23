"""Distillation: a teacher (any OpenAI-compatible endpoint) labels unlabeled inputs, the small
model trains on its labels, and the report compares student and teacher on the task's held-out
split. See `tunegate.distill.api` and docs/distill.md."""

from tunegate.distill.api import DistillOptions, DistillResult, distill
from tunegate.distill.compare import DistillComparison

__all__ = ["DistillComparison", "DistillOptions", "DistillResult", "distill"]
