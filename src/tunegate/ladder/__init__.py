"""The ladder: cheapest-first interventions (zero-shot, few-shot, constrained decoding,
retrieval, fine-tuned, remote) run on one held-out split, cached, timed and measured.

`diagnose(task_folder)` runs it; `load(store)` rebuilds a stored result; `RUNGS` lists the rungs.
"""

from tunegate.ladder.result import DiagnoseResult, RungResult, load
from tunegate.ladder.rungs import RUNGS, parse_rungs, select
from tunegate.ladder.runner import DiagnoseOptions, Generators, diagnose

__all__ = [
    "RUNGS",
    "DiagnoseOptions",
    "DiagnoseResult",
    "Generators",
    "RungResult",
    "diagnose",
    "load",
    "parse_rungs",
    "select",
]
