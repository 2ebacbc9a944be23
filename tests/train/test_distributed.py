"""The same training under `accelerate launch` with 2 CPU processes (DDP over gloo)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tunegate.store import Store
from tunegate.train import train

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow  # three fresh python processes (launcher + 2 workers): 25-65 s on a busy 2-core machine
def test_two_processes_follow_the_single_process_loss(
    trainable_llama: Path, tmp_path: Path, fast: dict, task_writer
) -> None:
    """2 processes x batch 4 consume the same micro-batches per step as 1 process x batch 4 x
    2 accumulation steps, so both runs must produce the same per-step losses."""
    launcher = Path(sys.executable).parent / "accelerate"
    if not launcher.exists():
        pytest.skip("accelerate's launcher is not installed beside this python")
    settings = {**fast, "steps": 4, "eval_every": 2}  # in both task files: only grad_accum differs
    task = task_writer(tmp_path / "one", trainable_llama, train=settings)
    single = train(task, "quick", {"grad_accum": 2}, show_progress=False)
    twin = task_writer(tmp_path / "two", trainable_llama, train=settings)
    cmd = [str(launcher), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()),
           "-m", "tunegate", "train", str(twin), "--preset", "quick", "--no-progress",
           "--grad-accum", "1"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("adapter:") == 1  # only the main process reports
    store_1, store_2 = Store(task), Store(twin)
    (run,) = store_2.runs("train")
    assert run.status == "done" and run.config["processes"] == 2
    for name in ("loss", "eval_loss"):
        one = [v for _, _, v in store_1.metrics(single.run_id, name)]
        two = [v for _, _, v in store_2.metrics(run.id, name)]
        assert len(two) == len(one) > 0
        assert two == pytest.approx(one, rel=1e-4)
    assert Path(store_2.artifacts(run.id)["adapter"]).exists()
