"""Training attention on this CPU: torch's fused SDPA against the model's eager attention.

    PYTHONPATH=src python bench/attention.py                 # bf16 autocast and fp32, 5 widths
    PYTHONPATH=src python bench/attention.py --widths 256,512,768

Forward + backward of one layer's attention with SmolLM2-135M's heads (9 query, 3 key/value,
dim 64) over one packed row of 8 examples (a block-diagonal causal mask, as training builds),
at several row widths. Both sides are the functions train/bf16.py's `train_attention` dispatches to
(transformers' SDPA integration and the Llama file's eager attention), given the same float32
query/key/value (what the LoRA-adapted projections hand over under autocast) under the same
autocast setting; each is timed as the best of 3 interleaved rounds. The ratio is SDPA's time over eager's: above 1, eager is
faster. train/bf16.py sends rows up to EAGER_MAX_KEYS keys to eager under bf16 autocast on CPU.
"""

from __future__ import annotations

import argparse
import time

import torch
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.models.llama.modeling_llama import eager_attention_forward

from tunegate.train.bf16 import EAGER_MAX_KEYS
from tunegate.train.model import additive_mask

HEADS, KV_HEADS, DIM, EXAMPLES = 9, 3, 64, 8


class Heads(torch.nn.Module):
    """What the two attention functions read from the attention module they are handed."""

    num_key_value_groups = HEADS // KV_HEADS
    is_causal = True


def block_mask(width: int) -> torch.Tensor:
    """(1, 1, width, width) bool: causal within each of EXAMPLES equal blocks, nothing across."""
    mask = torch.zeros(width, width, dtype=torch.bool)
    bounds = [round(i * width / EXAMPLES) for i in range(EXAMPLES + 1)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        mask[a:b, a:b] = torch.ones(b - a, b - a, dtype=torch.bool).tril()
    return mask[None, None]


def sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return sdpa_attention_forward(Heads(), q, k, v, mask, scaling=DIM**-0.5)[0]


def eager(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """As train_attention runs it: the Llama file's own eager attention, an additive mask."""
    additive = additive_mask(mask, torch.float32)
    return eager_attention_forward(Heads(), q, k, v, additive, scaling=DIM**-0.5)[0]


def time_it(fn, width: int, bf16: bool, reps: int) -> float:  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    q = torch.randn(1, HEADS, width, DIM, requires_grad=True)
    k = torch.randn(1, KV_HEADS, width, DIM, requires_grad=True)
    v = torch.randn(1, KV_HEADS, width, DIM, requires_grad=True)
    mask = block_mask(width)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        out = fn(q, k, v, mask)
    grad = torch.randn_like(out)
    out.backward(grad)
    t0 = time.perf_counter()
    for _ in range(reps):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = fn(q, k, v, mask)
        out.backward(grad)
    return (time.perf_counter() - t0) / reps * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", default="216,400,700,1200,2000")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(
        f"threads {torch.get_num_threads()}; eager is used under bf16 up to {EAGER_MAX_KEYS} keys"
    )
    print(f"{'precision':9} {'width':>6} {'SDPA ms':>8} {'eager ms':>9} {'SDPA/eager':>11}")
    for bf16 in (True, False):
        for width in (int(w) for w in args.widths.split(",")):
            reps = max(3, 4000 // width)
            best = {"sdpa": float("inf"), "eager": float("inf")}
            for _ in range(args.rounds):
                for name, fn in (("sdpa", sdpa), ("eager", eager)):
                    best[name] = min(best[name], time_it(fn, width, bf16, reps))
            print(f"{'bf16' if bf16 else 'fp32':9} {width:6d} {best['sdpa']:8.2f} "
                  f"{best['eager']:9.2f} {best['sdpa'] / best['eager']:10.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
