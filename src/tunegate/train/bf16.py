"""Training under bf16 autocast on CPU: two kernels' worth of time autocast leaves on the table.

1. Attention. torch's fused CPU attention (SDPA) gains little from bf16 on short rows; the
   model's own eager attention (two matrix products, which autocast runs in bf16, and a float32
   softmax) runs them faster. On long rows, in fp32, or on CUDA, SDPA wins. Forward + backward
   of one layer's attention under autocast, SmolLM2-135M's heads (9 query, 3 key/value, dim
   64), a packed row of 8 examples, 2-core AVX-512 BF16 CPU (`bench/attention.py`):

       row width      216    400    700    1200   2000
       SDPA           3.4    9.4    28.2   61.8   194   ms
       eager          2.2    7.6    20.8   92.6   484   ms

   So `train_attention` sends rows up to `EAGER_MAX_KEYS` keys to eager, longer ones to SDPA
   (512, not the ~900 where the times cross: eager keeps the (heads x width x width) scores for
   backward, about 25 MB a layer at 512). The choice is the kernel's, never the loss's: both
   compute the same masked softmax.
2. Frozen weights. Autocast casts every frozen Linear weight to bf16 on every forward (it caches
   casts only of weights that train): 7% of a step's CPU time for SmolLM2-135M with LoRA on
   every layer, by torch's profiler. `cast_frozen_linears` stores them in bf16 once. Autocast
   rounds the same way, so the forward computes the same values; a tied output head gets its
   own bf16 copy, leaving the embedding in float32.

`train.attention: sdpa` turns both off. The attention is registered with transformers under
`NAME` (a name the model's config can hold).
"""

from __future__ import annotations

import sys
from typing import Any

import torch
from torch import nn
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

from tunegate.train.model import additive_mask

NAME = "tunegate_train"
EAGER_MAX_KEYS = 512


def _bf16_on_cpu(query: torch.Tensor) -> bool:
    """bf16 tensors, or bf16 autocast (PEFT hands LoRA layers' outputs back in float32, so under
    autocast the query arrives float32 and the eager matrix products run in bf16)."""
    if query.device.type != "cpu":
        return False
    if query.dtype == torch.bfloat16:
        return True
    return torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16


def train_attention(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    **kwargs: Any,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Eager attention for short bf16 rows on CPU, SDPA otherwise (same result, faster kernel)."""
    eager = getattr(sys.modules.get(type(module).__module__), "eager_attention_forward", None)
    short = key.shape[-2] <= EAGER_MAX_KEYS
    if eager is not None and short and _bf16_on_cpu(query):
        if attention_mask is not None and attention_mask.dtype == torch.bool:
            attention_mask = additive_mask(attention_mask, torch.float32)
        out: tuple[torch.Tensor, torch.Tensor | None] = eager(
            module, query, key, value, attention_mask, **kwargs
        )
        return out
    return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


def use_train_attention(model: Any) -> bool:
    """Switch a model that runs SDPA to `train_attention`; False (unchanged) for any other."""
    if getattr(model.config, "_attn_implementation", None) != "sdpa":
        return False
    model.set_attn_implementation(NAME)
    return True


def cast_frozen_linears(model: nn.Module) -> int:
    """Store each frozen float32 Linear's weight and bias in bf16; the number of Linears cast.

    Only for a model that runs every forward under bf16 autocast from now on: outside it, a
    float32 input meets a bf16 weight and the product fails. A weight shared with another module
    (a tied output head) is copied, so that module keeps its float32 weight.
    """
    n = 0
    for m in model.modules():
        if type(m) is not nn.Linear or m.weight.requires_grad or m.weight.dtype != torch.float32:
            continue
        m.weight = nn.Parameter(m.weight.detach().to(torch.bfloat16), requires_grad=False)
        if m.bias is not None and not m.bias.requires_grad:
            m.bias = nn.Parameter(m.bias.detach().to(torch.bfloat16), requires_grad=False)
        n += 1
    return n


AttentionInterface.register(NAME, train_attention)
AttentionMaskInterface.register(NAME, sdpa_mask)
