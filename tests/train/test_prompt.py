"""The prompt an adapter is trained on travels with it: recorded by training, sent by the rung."""

from __future__ import annotations

from pathlib import Path

import pytest

from ladder_fakes import ScriptedGenerator
from tunegate.data.examples import Example, to_messages
from tunegate.data.split import load_dataset
from tunegate.errors import TunegateError
from tunegate.ladder import DiagnoseOptions, Generators, diagnose, finetuned
from tunegate.ladder.context import Context
from tunegate.spec import load_task
from tunegate.store import Store
from tunegate.train import train
from tunegate.train.prompt import PROMPT_FILE, PromptForm, load_prompt, prompt_form


def _task(folder: Path, model: Path, task_writer, description: str = "") -> Path:
    extra = f"description: {description}\n" if description else ""
    return task_writer(folder, model, rows=24, extra=extra)


def test_forms_of_a_label_task(tmp_path: Path, tiny_llama: Path, task_writer) -> None:
    folder = _task(tmp_path / "kinds", tiny_llama, task_writer, "Sort a word into its kind.")
    task, folder = load_task(folder)
    ex = load_dataset(task, folder).train[0]
    full = prompt_form(task, "full")
    assert full.messages(task, ex) == to_messages(task, ex)  # today's training prompt
    compact = prompt_form(task, "compact")
    assert compact == PromptForm("compact", "Sort a word into its kind.", "{text}")
    assert compact.messages(task, ex) == [
        {"role": "system", "content": "Sort a word into its kind."},
        {"role": "user", "content": ex.inputs["text"]},
    ]
    # no description: the system prompt's first sentence (a system turn stays: without one,
    # SmolLM2's template inserts its own default system prompt)
    system = "Name the kind of thing.  It is a fruit, an animal or a tool!"
    bare = task.model_copy(update={"description": "", "prompt": task.prompt.model_copy(
        update={"system": system})})  # fmt: skip
    assert prompt_form(bare, "compact").system == "Name the kind of thing."
    assert prompt_form(bare, "full").system == system
    chat = Example("c", {}, "fruit", "x", messages=({"role": "user", "content": "kiwi"},))
    assert compact.messages(task, chat)[0] == {"role": "system", "content": compact.system}
    with pytest.raises(TunegateError, match="does not fit the task's inputs"):
        PromptForm("compact", "", "{missing}").messages(task, ex)


def test_a_folder_without_a_record_gets_the_full_prompt(
    tmp_path: Path, tiny_llama: Path, task_writer
) -> None:
    task, _ = load_task(_task(tmp_path / "kinds", tiny_llama, task_writer))
    assert load_prompt(tmp_path, task) == prompt_form(task, "full")
    (tmp_path / PROMPT_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(TunegateError, match="unreadable prompt record"):
        load_prompt(tmp_path, task)


def _key(messages: list[dict[str, str]]) -> str:
    return messages[-1]["content"]


def _asked(folder: Path, run_id: str) -> list[list[dict[str, str]]]:
    """The messages diagnose's fine-tuned rung sends with `run_id`'s adapter (timed or batched),
    in the order of the test items."""
    gen = ScriptedGenerator(lambda req: "fruit")
    diagnose(folder, DiagnoseOptions(rungs=["finetuned"], adapter=run_id),
             generators=Generators(local=lambda: gen), measure=False)  # fmt: skip
    task, folder = load_task(folder)
    sent = {_key(r.messages): r.messages for r in gen.generated + gen.timed}
    return [sent[_key(to_messages(task, ex))] for ex in load_dataset(task, folder).test]


def _built(folder: Path, run_id: str) -> list[list[dict[str, str]]]:
    """The fine-tuned rung's requests for the test items, built afresh (no answer cache)."""
    task, folder = load_task(folder)
    ctx = Context(task, folder, load_dataset(task, folder), Store(folder), adapter=run_id)
    return [r.messages for r in finetuned.build(ctx, ctx.dataset.test)]


def test_the_rung_sends_the_prompt_its_adapter_was_trained_on(
    tmp_path: Path, trainable_llama: Path, fast: dict, task_writer
) -> None:
    """Train compact on the tiny Llama: the adapter folder, the run's config and summary record
    the form; the fine-tuned rung sends it (the very prompt tokens training encoded), even after
    the task's prompt changed. Without the record (an adapter from before), it gets the full
    prompt, and still loads and answers on the real model."""
    from transformers import AutoTokenizer

    from tunegate.train.data import encode_examples

    folder = _task(tmp_path / "kinds", trainable_llama, task_writer, "Sort a word into its kind.")
    result = train(folder, "quick", {**fast, "steps": 3, "prompt": "compact"}, show_progress=False)
    task, _ = load_task(folder)
    compact = prompt_form(task, "compact")
    assert load_prompt(result.adapter, task) == compact
    assert result.prompt == compact.to_json()
    store = Store(folder)
    run = store.run(result.run_id)
    summary = store.result(result.run_id, "summary")
    store.close()
    assert run.config["train"]["prompt"] == "compact"
    assert run.config["prompt"] == summary["prompt"] == compact.to_json()

    test = load_dataset(task, folder).test
    asked = _asked(folder, result.run_id)
    assert asked == [compact.messages(task, ex) for ex in test]
    assert all(m[0]["content"] == "Sort a word into its kind." for m in asked)
    tok = AutoTokenizer.from_pretrained(trainable_llama)
    trained, _ = encode_examples(task, test, tok, 256, prompt=compact)
    sent = [tok.apply_chat_template(m, tokenize=True, add_generation_prompt=True) for m in asked]
    assert [list(getattr(s, "input_ids", s)) for s in sent] == [
        list(e.ids[: e.prompt_len]) for e in trained
    ]

    # The task's prompt is edited after training: the adapter keeps the prompt it learned.
    yaml = (folder / "tunegate.yaml").read_text(encoding="utf-8")
    (folder / "tunegate.yaml").write_text(
        yaml.replace("user: '{text}'", "user: 'Word: {text}'"), encoding="utf-8"
    )
    assert _built(folder, result.run_id) == asked

    # An adapter trained before prompts were recorded: no record, the (current) full prompt.
    (result.adapter / PROMPT_FILE).unlink()
    task, _ = load_task(folder)
    assert _built(folder, result.run_id) == [to_messages(task, ex) for ex in test]
    assert _built(folder, result.run_id)[0][-1]["content"].startswith("Word: ")
    res = diagnose(folder, DiagnoseOptions(rungs=["finetuned"], adapter=result.run_id),
                   measure=False)  # fmt: skip
    items = res.rungs[0].outputs.items
    assert len(items) == len(test) and all(it.error is None for it in items)


def test_auto_prefers_the_lower_dev_loss_and_the_cheaper_form_when_close() -> None:
    """The rule on measured probes: the lowest dev loss wins; a form within 2% of it that reads
    fewer input tokens per request wins instead."""
    from tunegate.train.choose import Probe, decide

    full = Probe("full", 0.50, 16, 3.0, 185, 148)
    assert decide([full, Probe("compact", 0.60, 16, 2.0, 105, 68)], 50).form == "full"
    close = decide([full, Probe("compact", 0.505, 16, 2.0, 105, 68)], 50)
    assert close.form == "compact" and "80 fewer input tokens" in close.why
    assert "full 0.5000, compact 0.5050" in close.why and close.seconds == 5.0
    better = decide([full, Probe("compact", 0.40, 16, 2.0, 105, 68)], 50)
    assert better.form == "compact" and "compact learns best" in better.why


def _weights(adapter: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(adapter / "adapter_model.safetensors"))


def test_auto_measures_both_forms_then_trains_the_chosen_one_afresh(
    tmp_path: Path, tiny_llama: Path, fast: dict, task_writer
) -> None:
    """prompt auto on the tiny Llama: both forms probed on the dev split, the choice and its
    reason recorded (adapter folder, run config, summary, report note), and the adapter is the
    one a run that set the chosen form itself trains (same init, batches, schedule)."""
    import torch

    from tunegate.train.prompt import describe

    folder = _task(tmp_path / "auto", tiny_llama, task_writer, "Sort a word into its kind.")
    result = train(folder, "quick", {**fast, "steps": 3, "prompt": "auto", "probe_steps": 2},
                   show_progress=False)  # fmt: skip
    task, _ = load_task(folder)
    store = Store(folder)
    run = store.run(result.run_id)
    store.close()
    choice = run.config["prompt_choice"]
    assert [p["form"] for p in choice["probes"]] == ["full", "compact"]
    assert all(p["steps"] == 2 and p["dev_loss"] > 0 for p in choice["probes"])
    full, compact = choice["probes"]
    assert compact["input_tokens"] != full["input_tokens"] and full["tokens_per_example"] > 0
    chosen = run.config["train"]["prompt"]
    assert chosen == choice["form"] in ("full", "compact")
    recorded = load_prompt(result.adapter, task)
    assert recorded == prompt_form(task, chosen) and recorded.why == choice["why"]
    assert result.prompt["why"].startswith("prompt auto: dev-split loss after 2 steps")
    assert describe(result.run_id, result.prompt).endswith(choice["why"] + ".")

    folder2 = _task(tmp_path / "set", tiny_llama, task_writer, "Sort a word into its kind.")
    again = train(folder2, "quick", {**fast, "steps": 3, "prompt": chosen}, show_progress=False)
    a, b = _weights(result.adapter), _weights(again.adapter)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not load_prompt(again.adapter, task).why  # set, not chosen


def test_auto_without_anything_to_measure_takes_compact(
    tmp_path: Path, tiny_llama: Path, fast: dict, task_writer
) -> None:
    """The two forms are the same text (a one-sentence system prompt, no description), or there
    is no dev split: no probe runs, compact is taken, and the reason says so."""
    folder = _task(tmp_path / "same", tiny_llama, task_writer)
    same = train(folder, "quick", {**fast, "steps": 2, "prompt": "auto"}, show_progress=False)
    assert same.prompt["form"] == "compact" and "the same text" in same.prompt["why"]
    folder = _task(tmp_path / "nodev", tiny_llama, task_writer, "Sort a word into its kind.")
    nodev = train(folder, "quick", {**fast, "steps": 2, "prompt": "auto", "val_fraction": 0},
                  show_progress=False)  # fmt: skip
    assert nodev.prompt["form"] == "compact" and "no dev split" in nodev.prompt["why"]
    store = Store(folder)
    assert store.run(nodev.run_id).config["prompt_choice"]["probes"] == []
    store.close()


def test_a_resumed_auto_run_keeps_its_choice(
    tmp_path: Path, tiny_llama: Path, fast: dict, task_writer
) -> None:
    """Stopped after its first step and resumed, an auto run does not choose again: same form,
    same reason, the run finishes with the prompt it started with."""
    from tunegate.train import TrainInterrupted

    folder = _task(tmp_path / "auto", tiny_llama, task_writer, "Sort a word into its kind.")
    steps = [0]

    def stop() -> bool:
        steps[0] += 1
        return steps[0] == 1

    settings = {**fast, "steps": 3, "prompt": "auto", "probe_steps": 2}
    with pytest.raises(TrainInterrupted) as halt:
        train(folder, "quick", settings, show_progress=False, should_stop=stop)
    store = Store(folder)
    first = store.run(halt.value.run_id).config["prompt_choice"]
    store.close()
    result = train(folder, resume=True, show_progress=False)
    assert result.run_id == halt.value.run_id and result.steps == 3
    assert result.prompt["form"] == first["form"] and result.prompt["why"] == first["why"]
    store = Store(folder)
    assert store.run(result.run_id).config["prompt_choice"] == first
    store.close()
