"""`tunegate train` / `tunegate export` from the command line; each bad input is one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import cli
from tunegate.store import Store


def one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_train_then_export_adapter_and_merged_model(
    kinds_task: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    code, out, err = cli(monkeypatch, capsys, "train", str(kinds_task), "--preset", "quick", "--steps", "3",
                         "--batch", "4", "--layers", "1", "--lr", "0.02", "--prompt", "compact",
                         "--no-progress")  # fmt: skip
    assert code == 0, err
    assert "3 steps on" in out and "(trained on the compact prompt)" in out
    store = Store(kinds_task)
    run = store.latest("train")
    assert (
        run is not None
        and run.config["train"]["layers"] == 1
        and run.config["options"]["steps"] == 3
        and run.config["train"]["prompt"] == "compact"
    )
    store.close()

    code, out, err = cli(monkeypatch, capsys, "export", str(kinds_task), str(tmp_path / "adapter"))
    assert code == 0, err
    assert (tmp_path / "adapter" / "adapter_config.json").exists()
    code, out, err = cli(
        monkeypatch, capsys, "export", str(kinds_task), "--merge", str(tmp_path / "merged")
    )
    assert code == 0, err
    base = json.loads(
        (kinds_task / "tunegate.yaml").read_text().split("model: ")[1].split("\n")[0].join('""')
    )
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged")
    with_adapter = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(base), tmp_path / "adapter"
    )
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, with_adapter(ids).logits, atol=1e-4)
    code, _, err = cli(monkeypatch, capsys, "export", str(kinds_task), str(tmp_path / "merged"))
    assert "not empty" in one_line_error(code, err)


def test_a_train_split_with_no_answers_is_refused(
    trainable_llama: Path, tmp_path: Path, monkeypatch, capsys, task_writer
) -> None:
    folder = task_writer(tmp_path / "kinds", trainable_llama)
    rows = [json.loads(line) for line in (folder / "train.jsonl").read_text().splitlines()]
    (folder / "train.jsonl").write_text("".join(json.dumps({**r, "kind": ""}) + "\n" for r in rows))
    code, _, err = cli(monkeypatch, capsys, "train", str(folder), "--steps", "1", "--no-progress")
    assert "no training examples left" in one_line_error(code, err)


def test_a_model_folder_that_is_not_a_causal_lm_is_refused(
    tmp_path: Path, monkeypatch, capsys, task_writer
) -> None:
    from transformers import T5Config

    model = tmp_path / "t5"
    T5Config(d_model=32, num_layers=1, num_heads=2, d_ff=64, vocab_size=100).save_pretrained(model)
    folder = task_writer(tmp_path / "kinds", model)
    code, _, err = cli(monkeypatch, capsys, "train", str(folder), "--steps", "1", "--no-progress")
    line = one_line_error(code, err)
    assert "not a causal language model" in line and str(model) in line


def test_every_row_over_max_length_with_drop_is_refused(
    kinds_task: Path, monkeypatch, capsys
) -> None:
    text = (kinds_task / "tunegate.yaml").read_text() + "train:\n  overlong: drop\n"
    (kinds_task / "tunegate.yaml").write_text(text)
    code, _, err = cli(
        monkeypatch, capsys, "train", str(kinds_task), "--max-length", "12", "--no-progress"
    )
    assert "no training examples left" in one_line_error(code, err)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--preset", "quik"], "unknown preset 'quik' (did you mean 'quick'?)"),
        (["--lr", "-1"], "lr: Input should be greater than 0"),
        (["--layers", "top"], "--layers: expected all"),
        (["--prompt", "short"], "prompt: Input should be 'auto', 'full' or 'compact'"),
        (["--curve", "0,2"], "--curve: each fraction must be in (0, 1]"),
        (["--set", "learning_rate=0.1"], "unknown training setting 'learning_rate'"),
        (["--set", "patience=-1"], "patience: Input should be greater than or equal to 0"),
        (["--set", "patience"], "--set: expected KEY=VALUE, got 'patience'"),
        (["--resume"], "no interrupted training run with a checkpoint to resume"),
        (["--run", "train-x"], "--run names a run to continue: use it with --resume"),
    ],
)
def test_bad_options_are_one_line_errors(
    kinds_task: Path, monkeypatch, capsys, args, expected
) -> None:
    code, _, err = cli(monkeypatch, capsys, "train", str(kinds_task), *args, "--no-progress")
    assert expected in one_line_error(code, err)


def test_an_unknown_setting_in_the_task_file_is_named(
    kinds_task: Path, monkeypatch, capsys, task_writer
) -> None:
    task_writer(kinds_task, Path("unused"), train={"learning_rate": 0.1})
    code, _, err = cli(monkeypatch, capsys, "train", str(kinds_task), "--no-progress")
    line = one_line_error(code, err)
    assert "tunegate.yaml: unknown training setting 'train.learning_rate'" in line


def test_resume_with_a_different_setting_names_it(
    kinds_task: Path, monkeypatch, capsys, fast: dict
) -> None:
    import os
    import signal

    from tunegate.train import TrainInterrupted, train

    def stop(info) -> None:
        os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainInterrupted):
        train(kinds_task, "quick", fast, show_progress=False, callback=stop)
    code, _, err = cli(
        monkeypatch, capsys, "train", str(kinds_task), "--resume", "--rank", "4", "--no-progress"
    )
    line = one_line_error(code, err)
    assert "cannot resume" in line and "rank 16 -> 4" in line
