"""Training end to end on the tiny random Llama: the loss falls, runs resume exactly, errors are one line."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tunegate.errors import TunegateError
from tunegate.flows.curve import train_curve
from tunegate.store import Store
from tunegate.train import TrainInterrupted, latest_adapter, train
from tunegate.train.api import run_dir
from tunegate.train.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[2]


def losses(folder: Path, run_id: str, name: str = "loss") -> list[float]:
    store = Store(folder)
    try:
        return [v for _, _, v in store.metrics(run_id, name)]
    finally:
        store.close()


@pytest.fixture(scope="module")
def unbroken(
    tmp_path_factory: pytest.TempPathFactory, trainable_llama: Path, fast: dict, task_writer
) -> tuple[Path, str]:
    """One uninterrupted FAST run, the reference the resumed runs must reproduce."""
    folder = task_writer(tmp_path_factory.mktemp("unbroken") / "kinds", trainable_llama)
    result = train(folder, "quick", fast, show_progress=False)
    return folder, result.run_id


def test_loss_falls_and_the_run_is_recorded(unbroken: tuple[Path, str], fast: dict) -> None:
    folder, run_id = unbroken
    curve = losses(folder, run_id)
    assert len(curve) == fast["steps"]
    assert sum(curve[-2:]) / 2 < sum(curve[:2]) / 2 - 1.0  # nats
    evals = losses(folder, run_id, "eval_loss")
    assert len(evals) == 2 and evals[-1] < evals[0]
    store = Store(folder)
    run = store.run(run_id)
    assert run.kind == "train" and run.status == "done"
    assert run.config["preset"] == "quick" and run.config["train"]["lr"] == fast["lr"]
    assert run.config["fraction"] == 1.0
    assert store.latest("train").id == run_id
    adapter = Path(store.artifacts(run_id)["adapter"])
    assert adapter == run_dir(store, run_id) / "adapter"
    assert {"tokens_per_s", "lr"} <= {n for _, n, _ in store.metrics(run_id)}
    summary = store.result(run_id, "summary")
    assert summary["steps"] == fast["steps"] and summary["best_eval_loss"] == min(evals)
    store.close()


def test_the_adapter_loads_with_peft(unbroken: tuple[Path, str], trainable_llama: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    folder, run_id = unbroken
    store = Store(folder)
    adapter = Path(store.artifacts(run_id)["adapter"])
    store.close()
    model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(trainable_llama), adapter
    )
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_b and any(torch.count_nonzero(p) for p in lora_b)  # trained, not the zero init


KILL_AT_STEP_5 = """
import json, os, signal, sys
from tunegate.train import train
def die(info):
    if info.step == 5:
        os.kill(os.getpid(), signal.SIGKILL)
train(sys.argv[1], "quick", json.loads(sys.argv[2]), show_progress=False, callback=die)
"""


def test_a_killed_run_resumes_on_the_unbroken_loss_curve(
    unbroken: tuple[Path, str], tmp_path: Path, trainable_llama: Path, fast: dict, task_writer
) -> None:
    folder = task_writer(tmp_path / "kinds", trainable_llama)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, "-c", KILL_AT_STEP_5, str(folder), json.dumps(fast)],
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    store = Store(folder)
    (run,) = store.runs("train")
    assert run.status == "running"  # killed: nobody could record anything else
    assert load_checkpoint(run_dir(store, run.id) / "checkpoint")["progress"].step == 4
    store.close()
    result = train(folder, resume=True, show_progress=False)
    assert result.run_id == run.id and result.steps == fast["steps"]
    assert losses(folder, run.id) == pytest.approx(losses(*unbroken), rel=1e-5)
    assert losses(folder, run.id, "eval_loss") == pytest.approx(
        losses(*unbroken, "eval_loss"), rel=1e-5
    )


def test_ctrl_c_saves_a_checkpoint_and_resume_refuses_other_settings(
    unbroken: tuple[Path, str], tmp_path: Path, trainable_llama: Path, fast: dict, task_writer
) -> None:
    folder = task_writer(tmp_path / "kinds", trainable_llama)

    def press_ctrl_c(info) -> None:
        if info.step == 3:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainInterrupted) as stop:
        train(folder, "quick", fast, show_progress=False, callback=press_ctrl_c)
    assert stop.value.step == 3
    store = Store(folder)
    run = store.run(stop.value.run_id)
    assert run.status == "interrupted"
    assert load_checkpoint(run_dir(store, run.id) / "checkpoint")["progress"].step == 3
    store.close()
    with pytest.raises(
        TunegateError, match=r"cannot resume .*settings differ.*: lr 0\.02 -> 0\.001"
    ):
        train(folder, resume=True, overrides={"lr": 1e-3}, show_progress=False)
    result = train(folder, resume=True, show_progress=False)
    assert result.steps == fast["steps"]
    assert losses(folder, run.id) == pytest.approx(losses(*unbroken), rel=1e-5)
    with pytest.raises(TunegateError, match="no interrupted training run"):
        train(folder, resume=True, show_progress=False)


def test_a_full_disk_while_checkpointing_keeps_the_previous_checkpoint(
    kinds_task: Path, monkeypatch: pytest.MonkeyPatch, fast: dict
) -> None:
    import tunegate.train.checkpoint as ckpt

    real_save = ckpt.torch.save
    calls = []

    def save(obj, path, *a, **kw):  # the second checkpoint finds the disk full
        calls.append(path)
        if len(calls) == 2:
            Path(path).write_bytes(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, path, *a, **kw)

    monkeypatch.setattr(ckpt.torch, "save", save)
    with pytest.raises(
        TunegateError, match=r"could not write the checkpoint \(No space left on device\)"
    ):
        train(kinds_task, "quick", fast, show_progress=False)
    store = Store(kinds_task)
    (run,) = store.runs("train")
    assert run.status == "failed"
    folder = run_dir(store, run.id)
    assert load_checkpoint(folder / "checkpoint")["progress"].step == 2
    assert sorted(p.name for p in folder.iterdir()) == [
        "adapter",
        "checkpoint",
    ]  # no temp folder left
    store.close()


def test_learning_curve_trains_one_tagged_run_per_nested_fraction(
    kinds_task: Path, fast: dict
) -> None:
    results = train_curve(
        kinds_task, [1.0, 0.5], "quick", {**fast, "steps": 2}, show_progress=False, evaluate=False
    )
    assert [r.fraction for r in results] == [0.5, 1.0]
    assert results[0].train_examples == results[1].train_examples // 2
    store = Store(kinds_task)
    runs = [store.run(r.run_id) for r in results]
    assert len({r.config["curve"] for r in runs}) == 1 and runs[0].config["curve"]
    assert [r.config["fraction"] for r in runs] == [0.5, 1.0]
    assert all(Path(store.artifacts(r.id)["adapter"]).exists() for r in runs)
    store.close()
    # the fine-tuned rung's adapter: the newest run on the whole split, not a later partial one
    train_curve(kinds_task, [0.25], "quick", {**fast, "steps": 1}, show_progress=False,
                evaluate=False)  # fmt: skip
    assert latest_adapter(kinds_task) == (results[1].run_id, results[1].adapter)


def test_a_time_budget_fixes_the_number_of_steps_and_resume_keeps_it(
    kinds_task: Path, fast: dict
) -> None:
    budget = {**fast, "steps": None, "epochs": 40, "minutes": 0.03, "eval_every": 1000}

    def stop(info) -> None:
        if info.step == 1:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainInterrupted) as halt:
        train(kinds_task, "quick", budget, show_progress=False, callback=stop)
    store = Store(kinds_task)
    planned = store.run(halt.value.run_id).config["planned_steps"]
    store.close()
    assert 1 <= planned < 40 * 11  # measured to fit 1.8 s, far fewer than 40 epochs
    result = train(kinds_task, resume=True, show_progress=False)
    assert result.total_steps == result.steps == planned


def test_over_long_rows_warn_with_counts(
    trainable_llama: Path, tmp_path: Path, caplog, fast: dict, task_writer
) -> None:
    folder = task_writer(tmp_path / "kinds", trainable_llama)
    with caplog.at_level("WARNING"):
        train(folder, "quick", {**fast, "steps": 1, "max_length": 27}, show_progress=False)
    (msg,) = [r.getMessage() for r in caplog.records if "exceed max_length" in r.getMessage()]
    assert re.search(
        r"\d+ of 36 examples exceed max_length 27 tokens \(longest 2\d\); truncated \d+", msg
    )


def test_one_rule_for_the_latest_adapter_everywhere(tmp_path: Path, task_writer) -> None:
    """`pick_adapter`'s rule (newest finished whole-split run, else newest finished) is what the
    fine-tuned rung, the report, the server's task alias and export all use."""
    from tunegate.data.split import load_dataset
    from tunegate.ladder.context import Context
    from tunegate.report.gather import _adapter_run
    from tunegate.runs import pick_adapter
    from tunegate.serve import task_table
    from tunegate.spec import load_task

    folder = task_writer(tmp_path / "kinds", tmp_path / "no-model")
    store = Store(folder)

    def run(fraction: float, status: str = "done", adapter: bool = True) -> str:
        rid = store.start_run("train", {"fraction": fraction})
        if adapter:
            path = tmp_path / rid
            path.mkdir()
            (path / "adapter_config.json").write_text("{}")
            store.put_artifact(rid, "adapter", path)
        store.set_status(rid, status)
        return rid

    assert pick_adapter(store) is None
    with pytest.raises(TunegateError, match="no finished training run"):
        latest_adapter(folder)
    only_partial = run(0.25)
    assert pick_adapter(store) == (only_partial, (tmp_path / only_partial).resolve())
    whole = run(1.0)
    run(0.5)  # newer, but a learning curve's fraction
    run(1.0, status="interrupted")  # newer, unfinished
    run(1.0, adapter=False)  # newer, no adapter
    expected = (whole, (tmp_path / whole).resolve())
    assert pick_adapter(store) == expected
    assert latest_adapter(folder) == expected
    task, _ = load_task(folder)
    ctx = Context(task, folder, load_dataset(task, folder), store)
    assert (ctx.adapter_run, ctx.adapter) == (whole, str(expected[1]))
    diag = store.start_run("diagnose", {})
    assert _adapter_run(store, store.run(diag)) == whole
    assert task_table(folder).names["kinds"] == task_table(folder).names[whole]
    store.close()


def test_learning_curve_adapters_are_measured_for_the_report(
    tmp_path: Path, trainable_llama: Path, fast: dict, task_writer
) -> None:
    """`train_curve` evaluates each adapter with the fine-tuned rung on the latest diagnose's
    items; the report's gather turns them into curve points and decide into a slope, while the
    main diagnose stays the one the report shows."""
    from tunegate.decide import curve_slope
    from tunegate.ladder import DiagnoseOptions, diagnose, load
    from tunegate.report.gather import gather
    from tunegate.spec import load_task

    folder = task_writer(
        tmp_path / "kinds", trainable_llama, extra="ladder:\n  latency_samples: 0\n"
    )
    main = diagnose(folder, DiagnoseOptions(rungs=["constrained"], limit=2)).run_id
    results = train_curve(folder, [0.5, 1.0], "quick", {**fast, "steps": 2}, show_progress=False)
    store = Store(folder)
    evals = [r for r in store.runs("diagnose") if r.config.get("curve")]
    tag = store.run(results[0].run_id).config["curve"]
    assert sorted(r.config["adapter_run"] for r in evals) == sorted(r.run_id for r in results)
    assert all(r.config["curve"] == tag and r.config["rungs"] == ["finetuned"] for r in evals)
    assert all(r.config["limit"] == 2 and r.status == "done" for r in evals)
    assert load(store).run_id == main  # a curve's evaluations are not the main diagnose
    task, _ = load_task(folder)
    g = gather(task, folder, store)
    store.close()
    assert g.evidence.runs == [main] and g.curve_tag == tag
    assert [c.run_id for c in g.curve] == [r.run_id for r in results]
    points = g.evidence.training.curve if g.evidence.training else []
    assert [p.n_train for p in points] == [r.train_examples for r in results]
    assert all(0.0 <= p.value <= 1.0 and p.lo <= p.value <= p.hi for p in points)
    assert curve_slope(points) is not None
