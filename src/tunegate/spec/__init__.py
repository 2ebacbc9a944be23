"""The task file, `tunegate.yaml`, as typed, validated models: `sections` holds each section's
model, `task` the whole `Task` and its loading (one-line errors naming the file and field)."""

from tunegate.spec.sections import (
    PRIMARY_METRICS,
    RUNG_NAMES,
    TASK_FILE,
    Budget,
    DataSpec,
    LadderSpec,
    OptimizeSpec,
    OutputSpec,
    Prices,
    PromptSpec,
    RemoteSpec,
    Targets,
    Traffic,
)
from tunegate.spec.task import (
    Task,
    check_schema,
    dump_task,
    load_task,
    output_schema,
    parse_task,
    task_path,
)

__all__ = [
    "PRIMARY_METRICS",
    "RUNG_NAMES",
    "TASK_FILE",
    "Budget",
    "DataSpec",
    "LadderSpec",
    "OptimizeSpec",
    "OutputSpec",
    "Prices",
    "PromptSpec",
    "RemoteSpec",
    "Targets",
    "Task",
    "Traffic",
    "check_schema",
    "dump_task",
    "load_task",
    "output_schema",
    "parse_task",
    "task_path",
]
