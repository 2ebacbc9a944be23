"""Distillation's parts: a teacher (any OpenAI-compatible endpoint) labels unlabeled inputs
(`teacher`), its labels become a task folder (`derive`), and student and teacher are compared on
the task's held-out split (`compare`); `options` holds its settings. The pipeline that runs them
is `tunegate.flows.distill`; see docs/distill.md."""
