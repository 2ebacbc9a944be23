"""Fixtures for training tests: small hand-made task folders on the tiny random Llama."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

WORDS = {
    "fruit": ["apple", "banana", "cherry", "grape", "mango", "peach"],
    "animal": ["horse", "tiger", "otter", "camel", "eagle", "zebra"],
    "tool": ["hammer", "wrench", "chisel", "pliers", "saw", "drill"],
}


def write_task(
    folder: Path, model: Path, rows: int = 48, train: dict | None = None, extra: str = ""
) -> Path:
    """A label task ("which kind of thing is this word?") with `rows` examples and a test file."""
    folder.mkdir(parents=True, exist_ok=True)
    labels = sorted(WORDS)
    lines = []
    for i in range(rows):
        label = labels[i % len(labels)]
        word = WORDS[label][(i // len(labels)) % len(WORDS[label])]
        lines.append(json.dumps({"text": f"{word} number {i}", "kind": label}))
    (folder / "train.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    test = [json.dumps({"text": f"{WORDS[k][0]} again", "kind": k}) for k in labels]
    (folder / "test.jsonl").write_text("\n".join(test) + "\n", encoding="utf-8")
    text = (
        "name: kinds\n"
        "inputs: [text]\n"
        "prompt:\n  system: Name the kind of thing.\n  user: '{text}'\n"
        "output:\n  type: label\n  field: kind\n"
        "data:\n  train: train.jsonl\n  test: test.jsonl\n"
        f"model: {model}\n" + extra
    )
    if train:
        text += "train:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in train.items())
    (folder / "tunegate.yaml").write_text(text, encoding="utf-8")
    return folder


# Settings that make a tiny-model run take seconds: few steps, frequent evals and checkpoints.
FAST = {"steps": 8, "batch_size": 4, "lr": 2e-2, "eval_every": 4, "checkpoint_every": 2, "patience": 0,
        "val_fraction": 0.25, "layers": 1, "warmup": 0, "schedule": "constant", "threads": 1}  # fmt: skip


@pytest.fixture(scope="session")
def fast() -> dict:
    """Settings that make a tiny-model run take seconds (see FAST)."""
    return dict(FAST)


@pytest.fixture(scope="session")
def task_writer():
    """`write_task` for tests that build their own task folders."""
    return write_task


@pytest.fixture(scope="session")
def trainable_llama(tmp_path_factory: pytest.TempPathFactory, tiny_llama: Path) -> Path:
    """The tiny random Llama re-initialized with larger weights (std 0.2, not 0.02).

    At the default scale its tied output embeddings make every logit nearly equal, so no
    adapter can move the loss far from ln(vocab); at this scale a few steps visibly learn.
    """
    import torch
    from transformers import AutoConfig, AutoTokenizer, LlamaForCausalLM

    out = tmp_path_factory.mktemp("trainable-llama")
    config = AutoConfig.from_pretrained(tiny_llama)
    config.initializer_range = 0.2
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny_llama).save_pretrained(out)
    return out


@pytest.fixture
def kinds_task(tmp_path: Path, trainable_llama: Path) -> Path:
    return write_task(tmp_path / "kinds", trainable_llama)
