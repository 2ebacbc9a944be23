"""The base model with LoRA, and the forward pass training uses.

Three things make this forward cheaper than `model(input_ids, labels=...)`:
- The decoder layers below the lowest LoRA layer are frozen, so they run without autograd
  (no activations kept, backward stops there) and their output — the "prefix" — can be cached
  per example and reused in later epochs and every evaluation.
- Vocabulary logits are computed only at the positions whose next token carries loss (the
  answer), not for the whole (tokens x vocabulary) matrix.
- Packed micro-batches: one row, positions restarting per example, no padding.
The split forward is checked against the model's own decoder once at load; a model whose
decoder does not follow the common layout (embed_tokens, layers, norm, rotary_emb) falls back
to its own forward, losing only the prefix cache.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tunegate.errors import TunegateError
from tunegate.models.resolve import load_causal_lm
from tunegate.train.config import TrainConfig
from tunegate.train.data import Batch

log = logging.getLogger(__name__)


def decoder_of(model: Any) -> Any:
    """The decoder stack (LlamaModel and alike) inside a causal LM or a PEFT wrapper of one."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.get_decoder()


def num_layers(model: Any) -> int:
    return int(model.config.num_hidden_layers)


def lora_layers(n_layers: int, spec: int | list[int] | str) -> list[int]:
    """Indices of the layers that get LoRA, from `all`, a top-N count or a list."""
    if spec == "all":
        return list(range(n_layers))
    if isinstance(spec, int):
        return list(range(max(0, n_layers - spec), n_layers))
    assert isinstance(spec, list)
    bad = [i for i in spec if not -n_layers <= i < n_layers]
    if bad:
        raise TunegateError(
            f"layers: index {bad[0]} is out of range; the model has {n_layers} layers"
        )
    return sorted({i % n_layers for i in spec})


def linear_names(model: Any, layer: int) -> list[str]:
    """Names (last component) of the nn.Linear modules inside one decoder layer."""
    block = decoder_of(model).layers[layer]
    return sorted(
        {n.rsplit(".", 1)[-1] for n, m in block.named_modules() if isinstance(m, nn.Linear)}
    )


def quiet_loading() -> None:
    """No per-tensor "Loading weights" bar on stderr: training shows its own progress."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def load_with_lora(
    path: Path, cfg: TrainConfig, adapter: Path | None = None
) -> tuple[Any, Any, list[int]]:
    """(PEFT model in train mode, tokenizer, adapted layer indices) for a local HF causal-LM folder.

    With `adapter`, its weights are loaded (trainable) instead of a fresh LoRA init.
    """
    from peft import LoraConfig, PeftModel, get_peft_model

    quiet_loading()
    model, tok = load_causal_lm(path)
    try:
        decoder_of(model).layers  # noqa: B018 - probe the layout
    except (AttributeError, ValueError) as exc:
        raise TunegateError(
            "not a decoder-only causal LM with a stack of layers", str(path)
        ) from exc
    n = num_layers(model)
    layers = lora_layers(n, cfg.layers)
    modules = (
        linear_names(model, layers[0]) if cfg.target_modules == "all-linear" else cfg.target_modules
    )
    missing = [m for m in modules if m not in linear_names(model, layers[0])]
    if missing:
        have = ", ".join(linear_names(model, layers[0]))
        raise TunegateError(
            f"target_modules: {missing[0]!r} is not a linear layer of this model (it has {have})"
        )
    torch.manual_seed(cfg.seed)
    if adapter is not None:
        peft_model = PeftModel.from_pretrained(model, adapter, is_trainable=True)
    else:
        lora = LoraConfig(
            r=cfg.rank,
            lora_alpha=cfg.alpha,
            lora_dropout=cfg.dropout,
            target_modules=list(modules),
            layers_to_transform=None if len(layers) == n else layers,
            task_type="CAUSAL_LM",
        )
        with (
            warnings.catch_warnings()
        ):  # peft asks transformers a deprecated question; not ours to fix
            warnings.filterwarnings(
                "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
            )
            peft_model = get_peft_model(model, lora)
    peft_model.train()
    return peft_model, tok, layers


def additive_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A boolean attention mask as eager attention adds it: 0 where allowed, dtype's minimum elsewhere."""
    return torch.zeros(mask.shape, dtype=dtype).masked_fill(~mask, torch.finfo(dtype).min)


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal up to float noise, relative to the tensors' scale (hidden states reach the 100s)."""
    return bool((a - b).abs().max() <= 1e-4 * b.abs().max().clamp(min=1.0))


class CompletionLM(nn.Module):
    """Sum of cross-entropy over answer tokens, computed as cheaply as the settings allow.

    `split` is the index of the lowest layer with LoRA: layers below it form the frozen prefix.
    """

    def __init__(self, peft_model: Any, split: int, completion_logits: bool = True) -> None:
        super().__init__()
        self.peft = peft_model
        self.split = split
        self.completion_logits = completion_logits
        split_ok, self.packing_ok, self.sharing_ok = self._reference_check()
        self.layout = "split" if split_ok else "generic"
        if self.layout == "generic":
            log.info("model layout not recognized; using its own forward (no prefix cache)")

    # the pieces of the decoder ---------------------------------------------------------------
    def _decoder(self) -> Any:
        return decoder_of(self.peft)

    def _context(
        self, h: torch.Tensor, position_ids: torch.Tensor, mask: torch.Tensor | None
    ) -> dict[str, Any]:
        from transformers.masking_utils import create_causal_mask

        dec = self._decoder()
        if (
            mask is not None and mask.dim() == 4
        ):  # explicit (B, 1, T, T) boolean mask: shared prefix
            causal = (
                mask if dec.config._attn_implementation != "eager" else additive_mask(mask, h.dtype)
            )
        else:
            causal = create_causal_mask(
                config=dec.config,
                inputs_embeds=h,
                attention_mask=mask,
                cache=None,
                position_ids=position_ids,
            )
        pe = dec.rotary_emb(h, position_ids=position_ids)
        return {"attention_mask": causal, "position_embeddings": pe, "position_ids": position_ids}

    def prefix(
        self, input_ids: torch.Tensor, position_ids: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        """Hidden states entering layer `split`, without autograd."""
        dec = self._decoder()
        with torch.no_grad():
            h = dec.embed_tokens(input_ids)
            if self.split:
                ctx = self._context(h, position_ids, mask)
                for layer in dec.layers[: self.split]:
                    h = layer(h, **ctx)
        return h

    def suffix(
        self, h: torch.Tensor, position_ids: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        """Final normalized hidden states from the prefix, through the adapted layers."""
        dec = self._decoder()
        ctx = self._context(h, position_ids, mask)
        for layer in dec.layers[self.split : dec.config.num_hidden_layers]:
            h = layer(h, **ctx)
        return dec.norm(h)

    def _reference_check(self) -> tuple[bool, bool, bool]:
        """(split forward correct, packing correct, shared-prefix packing correct), checked on
        two short sequences against the model's own forward on each sequence alone."""
        from tunegate.train.data import Encoded, collate

        dec = self._decoder()
        a, b = Encoded(tuple(range(3, 9)), 5), Encoded((3, 4, 5, 11, 12), 4)
        alone = []
        was_training = self.peft.training
        self.peft.eval()  # no dropout while comparing
        try:
            with torch.no_grad():
                for e in (a, b):
                    out = dec(input_ids=torch.tensor([e.ids]), use_cache=False).last_hidden_state[0]
                    alone.append(out)
                packed = collate([a, b], [0, 1], packed=True, pad_id=0)
                theirs = dec(
                    input_ids=packed.input_ids, position_ids=packed.position_ids, use_cache=False
                )
                packing_ok = _close(theirs.last_hidden_state[0], torch.cat(alone))
                if not all(
                    hasattr(dec, x) for x in ("embed_tokens", "layers", "norm", "rotary_emb")
                ):
                    return False, packing_ok, False
                try:
                    ours = self.suffix(self.prefix(packed.input_ids, packed.position_ids, None),
                                       packed.position_ids, None)[0]  # fmt: skip
                    sh = collate([a, b], [0, 1], packed=True, pad_id=0, shared=3)
                    mine = self.suffix(self.prefix(sh.input_ids, sh.position_ids, sh.attention_mask),
                                       sh.position_ids, sh.attention_mask)[0]  # fmt: skip
                except Exception as exc:  # any layout surprise means: use the model's own forward
                    log.info("split forward failed: %s", exc)
                    return False, packing_ok, False
                split_ok = _close(ours, torch.cat(alone))
                want = torch.cat([alone[0], alone[1][3:]])  # the shared 3 tokens once, then b's own
                return split_ok, split_ok or packing_ok, split_ok and _close(mine, want)
        finally:
            self.peft.train(was_training)

    # the training forward -------------------------------------------------------------------
    def forward(
        self,
        input_ids: torch.Tensor,
        position_ids: torch.Tensor,
        attention_mask: torch.Tensor | None,
        select: torch.Tensor,
        labels: torch.Tensor,
        prefix: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(sum of answer-token cross-entropy, the prefix hidden states or None)."""
        if self.layout == "split":
            if prefix is None:
                prefix = self.prefix(input_ids, position_ids, attention_mask)
            h = self.suffix(prefix, position_ids, attention_mask)
        else:
            out = self._decoder()(
                input_ids=input_ids,
                position_ids=position_ids,
                attention_mask=attention_mask,
                use_cache=False,
            )
            h, prefix = out.last_hidden_state, None
        head = self.peft.get_output_embeddings()
        if self.completion_logits:
            logits = head(h.reshape(-1, h.shape[-1])[select])  # (N, V): answer positions only
        else:
            logits = head(h).reshape(-1, head.out_features)[select]  # (B*T, V) then picked
        loss = nn.functional.cross_entropy(logits.float(), labels, reduction="sum")
        return loss, prefix


class PrefixCache:
    """Per-example prefix hidden states kept in memory up to a byte budget.

    With a shared prompt prefix, its hidden states are kept once (key SHARED) and each example's
    entry holds only its own tokens.
    """

    SHARED = -1

    def __init__(self, budget_mb: int) -> None:
        self.budget = budget_mb * 2**20
        self.used = 0
        self.items: dict[int, torch.Tensor] = {}

    def get(self, batch: Batch) -> torch.Tensor | None:
        """The batch's prefix (1, T, H) packed or (B, T, H) padded, or None if any is missing."""
        keys = batch.keys + ([self.SHARED] if batch.shared else [])
        if not batch.keys or any(k not in self.items for k in keys):
            return None
        parts = [self.items[k] for k in batch.keys]
        if batch.packed:
            head = [self.items[self.SHARED]] if batch.shared else []
            return torch.cat(head + parts, dim=0).unsqueeze(0)
        width = max(p.shape[0] for p in parts)
        out = parts[0].new_zeros((len(parts), width, parts[0].shape[-1]))
        for r, p in enumerate(parts):
            out[r, : p.shape[0]] = p
        return out

    def put(self, batch: Batch, prefix: torch.Tensor) -> None:
        pieces = [(self.SHARED, (0, 0, batch.shared))] if batch.shared else []
        for key, span in [*pieces, *zip(batch.keys, batch.spans, strict=True)]:
            row, start, n = span
            if key in self.items:
                continue
            piece = prefix[row, start : start + n].detach().clone()
            size = piece.numel() * piece.element_size()
            if self.used + size > self.budget:
                return
            self.items[key] = piece
            self.used += size
