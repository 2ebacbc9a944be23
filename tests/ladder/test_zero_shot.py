"""Zero-shot: the task's own prompt, exactly; label tasks also get their label set."""

from __future__ import annotations

from pathlib import Path

from ladder_fakes import ScriptedGenerator, context, make_task
from tunegate.ladder import DiagnoseOptions, Generators, diagnose, zero_shot
from tunegate.models.base import GenRequest


def test_json_task_sends_the_task_prompt_verbatim(json_task: Path) -> None:
    gen = ScriptedGenerator()
    diagnose(
        json_task,
        DiagnoseOptions(rungs=["zero_shot"]),
        generators=Generators(local=lambda: gen),
        measure=False,
    )
    asked = gen.generated + gen.timed
    assert len(asked) == 5
    assert gen.timed[0] == GenRequest(
        messages=[
            {"role": "system", "content": "Triage the support message."},
            {"role": "user", "content": "Message: charged twice, need a refund on invoice"},
        ],
        max_tokens=32,
    )
    assert all(r.constraint is None and r.adapter is None for r in asked)


def test_label_task_lists_the_labels_by_frequency(label_task: Path) -> None:
    ctx = context(label_task)
    (req,) = zero_shot.build(ctx, ctx.dataset.test[2:3])
    assert req.messages == [
        {
            "role": "system",
            "content": "Triage the support message.\n\n"
            "Answer with exactly one of these labels and nothing else: billing, login, shipping",
        },
        {"role": "user", "content": "Message: where is my parcel"},
    ]


def test_labels_placeholder_and_declared_labels(tmp_path: Path) -> None:
    prompt = {"system": "Pick one of [{labels}].", "user": "{message}"}
    folder = make_task(tmp_path, "label", docs=False, extra={"prompt": prompt})
    ctx = context(folder)
    assert zero_shot.build(ctx, ctx.dataset.test[:1])[0].messages[0]["content"] == (
        "Pick one of [billing, login, shipping]."
    )
    task_file = folder / "tunegate.yaml"
    task_file.write_text(
        task_file.read_text().replace(
            "type: label", "type: label\n  labels: [shipping, billing, login]"
        )
    )
    ctx = context(folder)
    assert ctx.labels == ("shipping", "billing", "login")
