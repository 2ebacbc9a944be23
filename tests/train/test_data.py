"""Completion-only labels token by token, over-long rows, batch plans, nested fractions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunegate.data.split import load_dataset
from tunegate.spec import load_task
from tunegate.train.config import resolve_config
from tunegate.train.data import collate, encode_examples, encode_one, plan_epoch, shared_prefix_len
from tunegate.train.session import carve


@pytest.fixture(scope="module")
def tok(tiny_llama: Path):
    from tunegate.models.resolve import load_tokenizer

    return load_tokenizer(tiny_llama)


def test_answer_tokens_alone_carry_loss(tok) -> None:
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Is 7 prime?"}]
    enc = encode_one(tok, msgs, '{"prime": true}')
    prompt = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    # every prompt token, in order, is exactly the templated prompt (generation prompt included)
    assert tok.decode(list(enc.ids[: enc.prompt_len])) == prompt
    # the answer tokens are the answer followed by the end-of-turn token, and nothing else
    answer = list(enc.ids[enc.prompt_len :])
    assert answer[-1] == tok.eos_token_id
    assert tok.decode(answer) == '{"prime": true}' + tok.eos_token
    assert enc.ids[enc.prompt_len - 1] != tok.eos_token_id or prompt.endswith(tok.eos_token)


@pytest.mark.parametrize("packed", [True, False])
def test_collated_labels_are_the_next_tokens_at_answer_positions_only(tok, packed: bool) -> None:
    encs = [encode_one(tok, [{"role": "user", "content": q}], a)
            for q, a in [("one?", "1"), ("two, please?", "two"), ("x", "a longer answer here")]]  # fmt: skip
    b = collate(encs, [0, 1, 2], packed=packed, pad_id=tok.pad_token_id)
    flat = b.input_ids.reshape(-1)
    # each selected position's next token is the label, token by token
    assert flat[b.select + 1].tolist() == b.labels.tolist()
    expected = [t for e in encs for t in e.ids[e.prompt_len :]]
    assert b.labels.tolist() == expected
    # positions that carry loss are exactly the ones right before an answer token
    width = b.input_ids.shape[1]
    wanted = []
    for (row, start, _), e in zip(b.spans, encs, strict=True):
        wanted += [row * width + start + t - 1 for t in range(e.prompt_len, len(e.ids))]
    assert b.select.tolist() == wanted
    assert b.real_tokens == sum(len(e.ids) for e in encs)
    if packed:
        assert b.input_ids.shape == (1, b.real_tokens) and b.attention_mask is None
        assert b.position_ids[0, : len(encs[0].ids)].tolist() == list(range(len(encs[0].ids)))
        assert (
            b.position_ids[0, len(encs[0].ids)] == 0
        )  # positions restart: no cross-example attention
    else:
        assert b.attention_mask.sum().item() == b.real_tokens


def test_shared_prefix_is_placed_once_and_examples_see_only_it_and_themselves(tok) -> None:
    sys_msg = {"role": "system", "content": "Answer with one word."}
    encs = [encode_one(tok, [sys_msg, {"role": "user", "content": q}], a)
            for q, a in [("one?", "1"), ("two, please?", "two")]]  # fmt: skip
    shared = shared_prefix_len(encs)
    assert tok.decode(list(encs[0].ids[:shared])).startswith(
        "<|im_start|>system\nAnswer with one word."
    )
    b = collate(encs, [0, 1], packed=True, pad_id=0, shared=shared)
    flat = b.input_ids[0]
    assert flat[:shared].tolist() == list(encs[0].ids[:shared])
    assert b.real_tokens == sum(len(e.ids) for e in encs) == flat.numel() + shared
    assert (
        flat[b.select + 1].tolist()
        == b.labels.tolist()
        == [t for e in encs for t in e.ids[e.prompt_len :]]
    )
    mask = b.attention_mask[0, 0]
    (_, s1, n1), (_, s2, n2) = b.spans
    assert (
        mask[s2:, :shared].all() and not mask[s2:, s1 : s1 + n1].any()
    )  # sees the prefix, not example 1
    assert b.position_ids[0, s2].item() == shared  # positions continue after the prefix


def test_overlong_rows_are_truncated_or_dropped_and_counted(kinds_task: Path, tok) -> None:
    task, folder = load_task(kinds_task)
    examples = load_dataset(task, folder).train
    prompt_len = encode_one(tok, [{"role": "system", "content": "Name the kind of thing."},
                                  {"role": "user", "content": "apple number 0"}], "").prompt_len  # fmt: skip
    limit = prompt_len + 1  # room for one answer token
    kept, report = encode_examples(task, examples, tok, limit, "truncate")
    assert report.overlong == len(examples) == report.truncated + report.dropped
    assert all(len(e.ids) <= limit and e.n_answer >= 1 for e in kept)
    assert "exceed max_length" in report.warning(limit)
    kept, report = encode_examples(task, examples, tok, limit, "drop")
    assert report.dropped == report.overlong and len(kept) == len(examples) - report.overlong


@pytest.mark.parametrize("batching", ["packed", "grouped", "padded"])
def test_plans_cover_each_example_once_and_depend_only_on_seed_and_epoch(batching: str) -> None:
    lengths = [5 + (i * 7) % 23 for i in range(101)]
    plan = plan_epoch(lengths, 8, batching, seed=3, epoch=1)
    assert sorted(i for b in plan for i in b) == list(range(101))
    assert plan == plan_epoch(lengths, 8, batching, seed=3, epoch=1)
    assert plan != plan_epoch(lengths, 8, batching, seed=3, epoch=2)
    if batching == "grouped":  # rows padded together have similar lengths
        spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in plan) / len(
            plan
        )
        assert spread < 6


def test_learning_curve_fractions_are_nested_with_a_shared_validation_split(
    kinds_task: Path,
) -> None:
    task, folder = load_task(kinds_task)
    examples = load_dataset(task, folder).train
    runs = [
        carve(task, examples, resolve_config("quick", None, {"fraction": f}))
        for f in (0.25, 0.5, 1.0)
    ]
    ids = [{e.id for e in r.train} for r in runs]
    assert ids[0] < ids[1] < ids[2]
    assert [len(i) for i in ids] == [
        len(ids[2]) // 4 + (len(ids[2]) % 4 > 0),
        len(ids[2]) // 2,
        len(ids[2]),
    ]
    assert len({tuple(e.id for e in r.val) for r in runs}) == 1
    assert not ids[2] & {e.id for e in runs[0].val}
    assert len(runs[2].train) + len(runs[2].val) == len(examples)
    capped = carve(
        task, examples, resolve_config("quick", None, {"val_fraction": 0.5, "val_max": 2})
    )
    assert len(capped.val) == 2 and len(capped.train) == len(examples) - 2  # the surplus trains
    # another seed draws another subset
    other = carve(task, examples, resolve_config("quick", None, {"fraction": 0.25, "seed": 1}))
    assert {e.id for e in other.train} != ids[0]
