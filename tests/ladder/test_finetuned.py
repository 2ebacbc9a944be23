"""Fine-tuned: the prompt the adapter was trained on, the newest trained adapter, constrained."""

from __future__ import annotations

from pathlib import Path

import pytest

from ladder_fakes import SCHEMA, ScriptedGenerator, context, make_task
from tunegate.errors import TunegateError
from tunegate.ladder import DiagnoseOptions, Generators, diagnose, finetuned, zero_shot
from tunegate.ladder.context import Context
from tunegate.ladder.rungs import RUNGS
from tunegate.models.base import Constraint
from tunegate.store import Store


def _train_run(folder: Path, adapter: Path, status: str = "done") -> None:
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text("{}")
    store = Store(folder)
    rid = store.start_run("train", {})
    store.put_artifact(rid, "adapter", adapter)
    store.set_status(rid, status)
    store.close()


def test_skipped_until_an_adapter_exists(json_task: Path, tmp_path: Path) -> None:
    reason = "no trained adapter in the store yet (run `tunegate train` first)"
    assert RUNGS["finetuned"].skip(context(json_task)) == reason
    _train_run(json_task, tmp_path / "unfinished", status="interrupted")
    assert RUNGS["finetuned"].skip(context(json_task)) == reason


def test_newest_finished_adapter_with_constraint(json_task: Path, tmp_path: Path) -> None:
    _train_run(json_task, tmp_path / "old")
    _train_run(json_task, tmp_path / "new")
    _train_run(json_task, tmp_path / "crashed", status="interrupted")
    ctx = context(json_task)
    reqs = finetuned.build(ctx, ctx.dataset.test)
    assert RUNGS["finetuned"].skip(ctx) is None
    assert {r.adapter for r in reqs} == {str((tmp_path / "new").resolve())}
    assert [r.messages for r in reqs] == [
        r.messages for r in zero_shot.build(ctx, ctx.dataset.test)
    ]
    assert all(r.constraint == Constraint(json_schema=SCHEMA) for r in reqs)


def test_label_task_sends_the_prompt_the_adapter_was_trained_on(
    label_task: Path, tmp_path: Path, embedded_model_path: Path
) -> None:
    """Training renders an example without the label list the prompt-only rungs append; the
    fine-tuned rung sends the same prompt tokens (its constraint keeps answers in the set)."""
    from transformers import AutoTokenizer

    from tunegate.train.data import encode_examples

    _train_run(label_task, tmp_path / "adapter")
    ctx = context(label_task)
    reqs = finetuned.build(ctx, ctx.dataset.test)
    tok = AutoTokenizer.from_pretrained(embedded_model_path)
    trained, _ = encode_examples(ctx.task, ctx.dataset.test, tok, 512)

    def ids(messages: list[dict[str, str]]) -> list[int]:
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return list(tok(text, add_special_tokens=False)["input_ids"])

    assert [ids(r.messages) for r in reqs] == [list(e.ids[: e.prompt_len]) for e in trained]
    assert all(r.constraint == Constraint(labels=ctx.labels) for r in reqs)
    listed = zero_shot.build(ctx, ctx.dataset.test)[0].messages[0]["content"]
    assert all(label in listed for label in ctx.labels or ())  # prompt-only rungs list them


def test_adapter_runs_on_the_local_model(tmp_path: Path, tiny_llama: Path) -> None:
    """A real PEFT adapter (made here on the tiny random Llama) through the local backend."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_llama)
    lora = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    adapter = tmp_path / ".tunegate" / "train" / "adapter"  # a "." in its path, as `train` writes
    get_peft_model(base, lora).save_pretrained(adapter)
    folder = make_task(tmp_path, "text", docs=False, extra={"model": str(tiny_llama)})
    store = Store(folder)
    rid = store.start_run("train", {})
    store.put_artifact(rid, "adapter", adapter)
    store.set_status(rid, "done")
    store.close()
    res = diagnose(folder, DiagnoseOptions(rungs=["zero_shot", "finetuned"]), measure=False)
    plain, tuned = (r.outputs for r in res.rungs)
    assert tuned.model == plain.model and len(tuned.latencies_ms) == 1
    assert all(it.error is None and it.output_tokens > 0 for it in tuned.items)
    # Same prompts, same base: only the adapter can make the answers differ.
    assert [it.text for it in tuned.items] != [it.text for it in plain.items]


def test_a_chosen_adapter_and_its_run_are_recorded(json_task: Path, tmp_path: Path) -> None:
    _train_run(json_task, tmp_path / "first")
    _train_run(json_task, tmp_path / "second")
    store = Store(json_task)
    first_run = store.runs("train")[-1].id  # oldest
    store.close()
    ctx = context(json_task)
    assert ctx.adapter == str((tmp_path / "second").resolve()) and ctx.adapter_run != first_run
    gen = ScriptedGenerator()
    res = diagnose(json_task, DiagnoseOptions(rungs=["finetuned"], adapter=first_run),
                   generators=Generators(local=lambda: gen), measure=False)  # fmt: skip
    assert {r.adapter for r in gen.generated} == {str((tmp_path / "first").resolve())}
    store = Store(json_task)
    config = store.run(res.run_id).config
    store.close()
    assert config["adapter_run"] == first_run
    assert config["adapter"] == str((tmp_path / "first").resolve())
    # A folder can be named directly; anything else is one clear line.
    folder_ctx = Context(
        ctx.task, ctx.folder, ctx.dataset, ctx.store, adapter=str(tmp_path / "first")
    )
    assert (
        folder_ctx.adapter == str((tmp_path / "first").resolve()) and folder_ctx.adapter_run is None
    )
    bad = Context(ctx.task, ctx.folder, ctx.dataset, ctx.store, adapter="train-nope")
    with pytest.raises(
        TunegateError, match="--adapter: 'train-nope' is neither a finished training"
    ):
        _ = bad.adapter
