"""Few-shot: retrieved (nearest training inputs, closest last) and fixed examples, as chat turns."""

from __future__ import annotations

import json
from pathlib import Path

from ladder_fakes import BagOfWords, ScriptedGenerator, context, make_task
from tunegate.ladder import DiagnoseOptions, Generators, diagnose, few_shot
from tunegate.ladder.rungs import RUNGS

SYSTEM = {"role": "system", "content": "Triage the support message."}


def _turns(message: str, category: str, urgency: str) -> list[dict[str, str]]:
    target = f'{{"category": "{category}", "urgency": "{urgency}"}}'
    return [
        {"role": "user", "content": f"Message: {message}"},
        {"role": "assistant", "content": target},
    ]


def test_retrieved_examples_closest_last(json_task: Path, bow: BagOfWords) -> None:
    gen = ScriptedGenerator()
    diagnose(
        json_task,
        DiagnoseOptions(rungs=["few_shot"]),
        generators=Generators(local=lambda: gen),
        embedder=bow,
        measure=False,
    )
    first = gen.timed[0]  # latency_samples=1: item 0 is answered by the timed request
    assert first.messages == [
        SYSTEM,
        *_turns("refund the invoice charge please", "billing", "low"),
        *_turns("I was charged twice on my invoice", "billing", "high"),
        {"role": "user", "content": "Message: charged twice, need a refund on invoice"},
    ]
    assert first.constraint is None
    second = gen.generated[0]  # item 1 ("password reset email never arrives for login")
    assert second.messages[-2]["content"] == '{"category": "login", "urgency": "high"}'
    assert second.messages[-3]["content"] == "Message: cannot login, password reset fails"


def test_a_training_row_identical_to_the_test_item_is_never_a_shot(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "json")
    train = (folder / "train.jsonl").read_text()
    test_row = (folder / "test.jsonl").read_text().splitlines()[0]
    (folder / "train.jsonl").write_text(train + test_row + "\n")
    ctx = context(folder, BagOfWords())
    shots = few_shot.retrieved_shots(ctx, ctx.dataset.test[:1])[0]
    assert ctx.dataset.test[0].id in {ex.id for ex in ctx.train}
    assert ctx.dataset.test[0].id not in {ex.id for ex in shots}
    assert len(shots) == 2


def test_fixed_examples_cover_the_most_frequent_labels_first(label_task: Path) -> None:
    ctx = context(label_task)
    shots = few_shot.fixed_shots(ctx)
    assert [s.target for s in shots] == ["billing", "login"]
    reqs = few_shot.build_fixed(ctx, ctx.dataset.test)
    head = reqs[0].messages[:-1]
    assert all(r.messages[:-1] == head for r in reqs)  # one shared prefix for every item
    assert head[1:] == [
        {"role": "user", "content": f"Message: {shots[0].inputs['message']}"},
        {"role": "assistant", "content": "billing"},
        {"role": "user", "content": f"Message: {shots[1].inputs['message']}"},
        {"role": "assistant", "content": "login"},
    ]
    assert [r.messages[-1]["content"] for r in reqs] == [
        f"Message: {ex.inputs['message']}" for ex in ctx.dataset.test
    ]


def test_few_shot_needs_labelled_training_rows(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "label", docs=False)
    rows = [json.loads(line) for line in (folder / "train.jsonl").read_text().splitlines()]
    (folder / "train.jsonl").write_text(
        "".join(json.dumps({**r, "ticket": ""}) + "\n" for r in rows)
    )
    ctx = context(folder)
    assert RUNGS["few_shot"].skip(ctx) == "no labelled training examples to draw shots from"
    assert RUNGS["few_shot_fixed"].skip(ctx) == "no labelled training examples to draw shots from"


def test_real_minilm_retrieves_the_semantically_closest_example(json_task: Path) -> None:
    ctx = context(json_task)  # the default MiniLM embedder
    shots = few_shot.retrieved_shots(ctx, ctx.dataset.test[2:3])[0]  # "where is my parcel"
    assert {s.inputs["message"] for s in shots} == {
        "my parcel shipping is late",
        "shipping address is wrong on the parcel",
    }
