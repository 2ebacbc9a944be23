"""The teacher: an OpenAI-compatible endpoint that labels the user's unlabeled inputs.

Each input becomes the request the remote rung would send (the task's prompt, the schema or
label set as `response_format`; a server that refuses it is asked with less, see
`tunegate.models.remote`). Answers are cached in the run store under a hash of the request
(chunk by chunk, as they arrive), so an interrupted labelling resumes where it stopped and a
re-run asks the teacher nothing it has answered. Every answer is checked against the task's
output contract (JSON that satisfies the schema, a label of the set, non-empty text) before it
may become a training target.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tunegate.data.examples import Example
from tunegate.data.load import detect_shape, read_rows, to_example
from tunegate.errors import TunegateError
from tunegate.ladder import cache
from tunegate.ladder.context import Context
from tunegate.models.base import Generation, Generator, Progress
from tunegate.spec import RemoteSpec, Task
from tunegate.store import Store

RUNG = "distill.teacher"  # the rung name the teacher's answers are cached under


def teacher_spec(
    task: Task,
    url: str,
    model: str | None,
    api_key_env: str | None,
    concurrency: int | None = None,
) -> RemoteSpec:
    """The teacher as a `RemoteSpec`: URL and model given, the rest from the task's `remote:`
    when it is the same endpoint. No key variable given (and none in the task): no key is sent."""
    base = task.remote if task.remote is not None and _same(task.remote.base_url, url) else None
    name = model or (base.model if base else None)
    if name is None:
        name = _only_model(url, api_key_env)
    key_env = api_key_env if api_key_env is not None else (base.api_key_env if base else None)
    fields: dict[str, Any] = {"base_url": url.rstrip("/"), "model": name, "api_key_env": key_env}
    if base is not None:
        fields.update(timeout_s=base.timeout_s, retries=base.retries, concurrency=base.concurrency)
    if concurrency is not None:
        fields["concurrency"] = concurrency
    return RemoteSpec(**fields)


def _same(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def _only_model(url: str, api_key_env: str | None) -> str:
    """The endpoint's model when it serves exactly one (else ask for --model)."""
    ids = list_models(RemoteSpec(base_url=url, model="?", api_key_env=api_key_env))
    if len(ids) == 1:
        return ids[0]
    served = f"; it serves {', '.join(ids[:8])}" if ids else ""
    raise TunegateError(f"name the teacher model with --model{served}", url)


def list_models(spec: RemoteSpec) -> list[str]:
    """The model ids the endpoint lists (GET /models). An endpoint that cannot be reached is a
    one-line error; one without the listing returns []."""
    import openai

    from tunegate.models.remote import api_key

    client = openai.OpenAI(
        base_url=spec.base_url,
        api_key=api_key(spec),
        timeout=min(spec.timeout_s, 15),
        max_retries=1,
    )
    try:
        return [m.id for m in client.models.list()]
    except openai.APIConnectionError as exc:
        raise TunegateError(
            f"cannot reach the teacher: {exc.__cause__ or exc}", spec.base_url
        ) from exc
    except openai.AuthenticationError as exc:
        raise TunegateError(
            f"the teacher refused the API key (HTTP 401); check {spec.api_key_env or '--api-key-env'}",
            spec.base_url,
        ) from exc
    except openai.APIStatusError:
        return []  # not every server lists its models


def read_inputs(task: Task, path: Path) -> list[Example]:
    """The unlabeled inputs: rows with the task's input fields (a target, if present, is ignored),
    or chat rows (`messages`) for chat-shaped tasks. Duplicate inputs are kept once."""
    examples: list[Example] = []
    seen: set[str] = set()
    shape = task.data.shape
    for n, row in read_rows(path):
        where = f"{path}:{n}"
        row_shape = detect_shape(row) if shape == "auto" else shape
        if row_shape == "columns":
            absent = [c for c in (task.data.columns.get(f, f) for f in task.inputs) if c not in row]
            if absent:
                raise TunegateError(
                    f"missing input field {absent[0]!r} (each row needs {', '.join(task.inputs)})",
                    where,
                )
        ex = to_example(task, row_shape, _unlabeled(task, row_shape, row), where)
        if not any(v.strip() for v in ex.inputs.values()) and not ex.messages:
            raise TunegateError("empty input: there is nothing to label", where)
        if ex.id not in seen:
            seen.add(ex.id)
            examples.append(ex)
    if not examples:
        raise TunegateError("no inputs in the file", str(path))
    return examples


def _unlabeled(task: Task, shape: str, row: dict[str, Any]) -> dict[str, Any]:
    """The row without any answer, so identical inputs share an id whatever their label."""
    if shape == "columns":
        return {
            k: v
            for k, v in row.items()
            if k != task.data.columns.get(task.output.field, task.output.field)
        }
    if shape == "alpaca":
        return {**row, "output": ""}
    return row


@dataclass
class Labelled:
    """The teacher's answers: the valid ones as training targets, and what went wrong."""

    examples: list[Example]  # inputs with the teacher's answer as target
    failed: list[tuple[Example, str]]  # no answer after retries
    invalid: list[tuple[Example, str, str]]  # (input, answer, why it breaks the contract)
    cached: int  # answers reused from the store
    input_tokens: int
    output_tokens: int


def label(
    ctx: Context,
    spec: RemoteSpec,
    inputs: Sequence[Example],
    store: Store,
    run_id: str | None,
    generator: Callable[[], Generator],
    progress: Progress | None = None,
) -> Labelled:
    """Ask the teacher for every input not already answered in the store; check every answer."""
    from tunegate.ladder.remote_rung import build

    reqs = build(ctx, inputs)
    model = f"remote:{spec.base_url}:{spec.model}"
    keys = [cache.request_key(model, RUNG, r) for r in reqs]
    answers = cache.cached(store, keys)
    reused = len(answers)
    todo = [(k, ex.id, r) for k, ex, r in zip(keys, inputs, reqs, strict=True) if k not in answers]
    if progress is not None and reused:
        progress(reused, 0)
    chunk = max(1, spec.concurrency * 4)
    answers.update(cache.generate_missing(store, run_id, RUNG, generator, todo, chunk, progress))
    out = Labelled([], [], [], reused, 0, 0)
    check = contract(ctx)
    for ex, key in zip(inputs, keys, strict=True):
        gen: Generation = answers[key]
        if gen.error is not None:
            out.failed.append((ex, gen.error))
            continue
        out.input_tokens += gen.input_tokens
        out.output_tokens += gen.output_tokens
        target, why = check(gen.text)
        if why is not None:
            out.invalid.append((ex, gen.text, why))
        else:
            out.examples.append(replace(ex, target=target))
    return out


def contract(ctx: Context) -> Callable[[str], tuple[str, str | None]]:
    """A checker of one answer against the task's output: (canonical target, None) when it
    holds, else (text, the reason it does not)."""
    kind = ctx.task.output.type
    if kind == "json":
        import jsonschema

        schema = ctx.schema or {}
        validator = jsonschema.Draft202012Validator(schema)

        def check_json(text: str) -> tuple[str, str | None]:
            try:
                value = json.loads(text)
            except ValueError:
                return text, "not JSON"
            err = next(iter(validator.iter_errors(value)), None)
            if err is not None:
                at = "/".join(str(p) for p in err.absolute_path) or "(root)"
                return text, f"breaks the schema at {at}: {err.message}"
            return json.dumps(value, ensure_ascii=False), None

        return check_json
    if kind == "label":
        labels = {lab.casefold(): lab for lab in ctx.labels or ()}

        def check_label(text: str) -> tuple[str, str | None]:
            found = labels.get(text.strip().casefold())
            if found is None:
                return text, "not one of the task's labels"
            return found, None

        return check_label

    def check_text(text: str) -> tuple[str, str | None]:
        return (text.strip(), None) if text.strip() else (text, "empty answer")

    return check_text
