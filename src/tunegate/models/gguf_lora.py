"""A PEFT LoRA adapter as a GGUF LoRA file that llama.cpp loads (`llama_adapter_lora_init`).

Written once with the `gguf` package and cached beside the adapter (`tunegate-lora.gguf`,
rewritten when the adapter's weights are newer). What llama.cpp's own `convert_lora_to_gguf.py`
does for a llama-architecture model, for plain LoRA on linear layers:

- tensor names through gguf's name map (`model.layers.3.self_attn.q_proj` -> `blk.3.attn_q`),
  suffixed `.weight.lora_a` / `.weight.lora_b`; A is (r, in) and B is (out, r), as PEFT has them;
- the rows of B for q_proj / k_proj permuted like the base GGUF's q/k weights (llama.cpp's rotary
  layout interleaves what Hugging Face keeps in halves);
- PEFT's scale (alpha / r, alpha / sqrt(r) for rsLoRA, per-module rank and alpha patterns)
  folded into B, and `adapter.lora.alpha` written as 0 so that llama.cpp applies scale 1.

DoRA, LoRA on embeddings, `modules_to_save` and non-llama models cannot be converted: the
error says which, and the caller serves that adapter with the torch engine.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from tunegate.errors import TunegateError

__all__ = ["LORA_GGUF", "AdapterNotConverted", "lora_gguf"]

LORA_GGUF = "tunegate-lora.gguf"
_KEY = re.compile(r"^base_model\.model\.(?P<module>.+)\.lora_(?P<ab>[AB])\.weight$")
_ARCHS = {"LlamaForCausalLM": "llama"}


class AdapterNotConverted(TunegateError):
    """The adapter has something a GGUF LoRA cannot hold (the message says what)."""


def lora_gguf(adapter: str | Path, base: str | Path) -> Path:
    """The GGUF LoRA of the PEFT adapter folder `adapter` for the HF base folder `base`.

    Converted on first use and cached in the adapter folder. Raises TunegateError saying why
    when the adapter cannot be converted.
    """
    folder = Path(adapter)
    weights = _weights_file(folder)
    out = folder / LORA_GGUF
    if out.exists() and out.stat().st_mtime >= weights.stat().st_mtime:
        return out
    tensors = _load(weights)
    config = _read_json(folder / "adapter_config.json", "adapter")
    base_config = _read_json(Path(base) / "config.json", "base model")
    _write(out, _convert(tensors, config, base_config))
    return out


def _weights_file(folder: Path) -> Path:
    for name in ("adapter_model.safetensors", "adapter_model.bin"):
        if (folder / name).exists():
            return folder / name
    raise TunegateError("not a PEFT adapter folder (no adapter_model weights)", str(folder))


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise TunegateError(f"cannot read the {what}'s {path.name}: {exc}", str(path)) from exc
    if not isinstance(data, dict):
        raise TunegateError(f"the {what}'s {path.name} is not a JSON object", str(path))
    return data


def _load(weights: Path) -> dict[str, Any]:
    if weights.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(weights)))
    import torch

    return dict(torch.load(weights, map_location="cpu", weights_only=True))


def _scale(module: str, r: int, config: dict[str, Any]) -> float:
    """PEFT's scale of `module` (alpha / r, or alpha / sqrt(r) with rsLoRA; patterns win)."""
    alpha = float(config.get("lora_alpha", 8))
    for pattern, value in (config.get("alpha_pattern") or {}).items():
        if re.search(rf"(^|\.){pattern}$", module):
            alpha = float(value)
    return alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r


def _permute(w: Any, heads: int) -> Any:
    """Rows of a q/k projection (or of its LoRA B) from HF's rotary halves to GGUF's layout."""
    return (
        w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)
    )


def _convert(
    tensors: dict[str, Any], config: dict[str, Any], base: dict[str, Any]
) -> dict[str, Any]:
    """GGUF tensor name -> float32 numpy array, for every LoRA pair of the adapter."""
    import gguf

    archs = base.get("architectures") or []
    arch = next((_ARCHS[a] for a in archs if a in _ARCHS), None)
    if arch is None:
        raise AdapterNotConverted(f"GGUF LoRA conversion supports llama models only, not {archs}")
    if config.get("use_dora"):
        raise AdapterNotConverted("a DoRA adapter cannot be converted to a GGUF LoRA")
    if config.get("modules_to_save"):
        raise AdapterNotConverted(
            f"an adapter with modules_to_save {config['modules_to_save']} cannot be converted"
        )
    n_layers = int(base["num_hidden_layers"])
    heads = int(base["num_attention_heads"])
    kv_heads = int(base.get("num_key_value_heads") or heads)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, n_layers)
    pairs: dict[str, dict[str, Any]] = {}
    for key, value in tensors.items():
        m = _KEY.match(key)
        if m is None:
            raise AdapterNotConverted(
                f"adapter tensor {key!r} is not a LoRA A/B weight of a linear layer"
            )
        pairs.setdefault(m["module"], {})[m["ab"]] = value.float()
    out: dict[str, Any] = {}
    for module, ab in sorted(pairs.items()):
        name = names.get_name(module)
        if name is None or "A" not in ab or "B" not in ab:
            raise AdapterNotConverted(f"adapter module {module!r} has no llama.cpp tensor to adapt")
        if name.endswith("token_embd"):
            raise AdapterNotConverted("LoRA on the token embeddings cannot be converted")
        a, b = ab["A"], ab["B"]
        b = b * _scale(module, int(a.shape[0]), config)
        if name.endswith("attn_q"):
            b = _permute(b, heads)
        elif name.endswith("attn_k"):
            b = _permute(b, kv_heads)
        out[f"{name}.weight.lora_a"] = a.contiguous().numpy()
        out[f"{name}.weight.lora_b"] = b.contiguous().numpy()
    if not out:
        raise AdapterNotConverted("the adapter holds no LoRA weights")
    return out


def _write(path: Path, tensors: dict[str, Any]) -> None:
    """Write a GGUF LoRA (alpha 0: the scales are in B) atomically."""
    import gguf

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        writer = gguf.GGUFWriter(tmp, "llama")
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, 0.0)
        for name, array in tensors.items():
            writer.add_tensor(name, array)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
