"""What the training benches measure an adapter by, one function for every side: the held-out loss
and the accuracy of decoding constrained to banking77's labels."""

from __future__ import annotations

import json
import time
from pathlib import Path

from _data import banking77_dir

DATA = banking77_dir()
MAX_LENGTH = 256


def heldout_loss(task_dir: Path, adapter: Path) -> dict[str, float]:
    """The adapter's loss on the task's test rows, computed the same way for every side: the fp32
    base model with the adapter loaded by PEFT, one row at a time, the mean cross-entropy over all
    answer tokens (what `model(input_ids, labels=...)` averages, summed over rows)."""
    import torch
    from peft import PeftModel

    from tunegate.data.split import load_dataset
    from tunegate.models.resolve import load_causal_lm, resolve_model
    from tunegate.spec import load_task
    from tunegate.train.data import encode_examples

    task, folder = load_task(task_dir)
    model, tok = load_causal_lm(resolve_model(task.model, folder))
    model = PeftModel.from_pretrained(model, adapter).eval()
    encoded, _ = encode_examples(task, load_dataset(task, folder).test, tok, MAX_LENGTH)
    total, count = 0.0, 0
    with torch.no_grad():
        for e in encoded:
            ids = torch.tensor([e.ids])
            labels = torch.tensor([[-100] * e.prompt_len + list(e.ids[e.prompt_len :])])
            n = e.n_answer
            total += float(model(input_ids=ids, labels=labels).loss) * n
            count += n
    return {"heldout_loss": total / max(1, count), "heldout_rows": len(encoded)}


def constrained_accuracy(task_dir: Path, adapter: Path | None) -> dict[str, float]:
    """Accuracy on the task's test rows: greedy decoding constrained to the label set (a token
    trie over the labels; the end-of-turn token closes a label), base model + adapter merged."""
    import torch
    from peft import PeftModel

    from tunegate.data.examples import to_messages
    from tunegate.data.split import load_dataset
    from tunegate.models.resolve import load_causal_lm, resolve_model
    from tunegate.spec import load_task

    task, folder = load_task(task_dir)
    data = load_dataset(task, folder)
    model, tok = load_causal_lm(resolve_model(task.model, folder))
    if adapter is not None:
        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    model.eval()
    labels = sorted(json.loads((DATA / "categories.json").read_text()))
    seqs = {
        tuple(tok(label, add_special_tokens=False)["input_ids"]) + (tok.eos_token_id,): label
        for label in labels
    }
    hits = valid = 0
    t0 = time.perf_counter()
    for ex in data.test:
        text = tok.apply_chat_template(
            to_messages(task, ex), tokenize=False, add_generation_prompt=True
        )
        ids = torch.tensor([tok(text, add_special_tokens=False)["input_ids"]])
        prefix: tuple[int, ...] = ()
        with torch.no_grad():
            out = model(input_ids=ids, use_cache=True)
            while True:
                allowed = sorted({s[len(prefix)] for s in seqs if s[: len(prefix)] == prefix})
                logits = out.logits[0, -1, allowed]
                nxt = allowed[int(torch.argmax(logits))]
                prefix += (nxt,)
                if prefix in seqs:
                    break
                out = model(
                    input_ids=torch.tensor([[nxt]]),
                    past_key_values=out.past_key_values,
                    use_cache=True,
                )
        pred = seqs[prefix]
        valid += pred in labels
        hits += pred == ex.target
    n = len(data.test)
    return {"accuracy": hits / n, "valid": valid / n, "n": n, "seconds": time.perf_counter() - t0}
