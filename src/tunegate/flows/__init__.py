"""Workflows: the orchestration of several stages, over each stage's public functions.

The stages (check, diagnose, train, decide, report) each do one thing and never call one
another upward; a flow strings them together: the learning curve (train at several fractions,
then diagnose each adapter), the demo, distillation, and the web UI's background jobs.
"""
