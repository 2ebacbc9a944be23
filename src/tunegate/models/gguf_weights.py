"""The GGUF weight files the llamacpp engine runs and `tunegate export --gguf` writes.

- `source_gguf`: the GGUF behind a model name (the embedded Q4_1 file by default).
- `engine_gguf`: that file re-quantized once by llama.cpp (`llama_model_quantize`) to `quant`,
  cached under tunegate's cache folder (f16 by default: it holds the embedded Q4_1 values
  exactly, so the llamacpp engine answers as the torch engine does; docs/generation.md).
- `merge_lora`: a GGUF LoRA (models/gguf_lora.py) added into an f16 base, W + B A per adapted
  matrix, written as one GGUF that needs no `--lora` (`tunegate export --gguf --merge`).
"""

from __future__ import annotations

import ctypes
import os
import tempfile
from pathlib import Path
from typing import Any

from tunegate.errors import TunegateError

__all__ = ["DEFAULT_QUANT", "QUANTS", "engine_gguf", "llama_cpp", "merge_lora", "source_gguf"]

QUANTS = {"f16": 1, "q8_0": 7, "q4_1": 3}  # llama_ftype values
DEFAULT_QUANT = "f16"


def llama_cpp() -> Any:
    """The llama_cpp module, or a one-line TunegateError saying why it cannot be used."""
    try:
        import llama_cpp as lc
    except (ImportError, OSError) as exc:  # OSError: the compiled library failed to load
        raise TunegateError(f"llama-cpp-python is not usable: {exc}") from exc
    return lc


def source_gguf(model: str | Path | None, base: Path | None = None) -> Path:
    """The GGUF file behind `model`: the embedded one for None, else a .gguf path."""
    from tunegate.models.resolve import DEFAULT_MODEL, embedded_gguf

    if model is None or str(model) == DEFAULT_MODEL:
        return embedded_gguf()
    p = Path(model).expanduser()
    if not p.is_absolute() and base is not None:
        p = base / p
    if p.suffix != ".gguf" or not p.is_file():
        raise TunegateError(
            "the llamacpp engine needs a .gguf model file (Hugging Face folders run on torch)",
            str(p),
        )
    return p


def _temp_beside(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    return Path(tmp)


def quantize(source: Path, out: Path, quant: str) -> Path:
    """Write `source` re-quantized by llama.cpp to `quant` at `out`, atomically."""
    if quant not in QUANTS:
        raise TunegateError(f"quant must be one of source, {', '.join(QUANTS)}; got {quant!r}")
    lc = llama_cpp()
    tmp = _temp_beside(out)
    try:
        params = lc.llama_model_quantize_default_params()
        params.ftype = QUANTS[quant]
        params.allow_requantize = True
        params.nthread = os.cpu_count() or 1
        from llama_cpp._utils import suppress_stdout_stderr

        with suppress_stdout_stderr(disable=False):  # llama.cpp logs every tensor
            failed = lc.llama_model_quantize(
                str(source).encode(), str(tmp).encode(), ctypes.byref(params)
            )
        if failed:
            raise TunegateError(
                f"llama.cpp could not re-quantize the model to {quant}", str(source)
            )
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def engine_gguf(source: Path, quant: str) -> Path:
    """`source` re-quantized to `quant` by llama.cpp, cached (or `source` for "source")."""
    if quant == "source":
        return source
    if quant not in QUANTS:
        raise TunegateError(f"quant must be one of source, {', '.join(QUANTS)}; got {quant!r}")
    from tunegate.models.resolve import gguf_cache_dir

    out = gguf_cache_dir(source).with_name(gguf_cache_dir(source).name + f".{quant}.gguf")
    return out if out.exists() else quantize(source, out, quant)


def _lora_pairs(lora: Path) -> dict[str, dict[str, Any]]:
    """Base tensor name -> {"a": (r, in), "b": (out, r)} float32 arrays of a GGUF LoRA."""
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(lora, "r")
    kind = reader.get_field(gguf.Keys.Adapter.TYPE)
    if kind is None or kind.contents() != "lora":
        raise TunegateError("not a GGUF LoRA adapter file", str(lora))
    alpha = reader.get_field(gguf.Keys.Adapter.LORA_ALPHA)
    if alpha is not None and float(alpha.contents()) != 0.0:
        raise TunegateError("a GGUF LoRA with alpha set (scale not folded into B)", str(lora))
    pairs: dict[str, dict[str, Any]] = {}
    for t in reader.tensors:
        name, sep, ab = t.name.rpartition(".lora_")
        if not sep or ab not in ("a", "b"):
            raise TunegateError(f"GGUF LoRA tensor {t.name!r} is not a lora_a / lora_b", str(lora))
        pairs.setdefault(name, {})[ab] = np.asarray(t.data, dtype=np.float32)
    return pairs


def merge_lora(base: Path, lora: Path, out: Path) -> Path:
    """One GGUF at `out`: `base` (f16/f32 matrices) with the GGUF LoRA `lora` added into it."""
    import gguf
    import numpy as np

    pairs = _lora_pairs(lora)
    reader = gguf.GGUFReader(base, "r")
    arch_field = reader.get_field(gguf.Keys.General.ARCHITECTURE)
    if arch_field is None:
        raise TunegateError("not a GGUF model (no general.architecture)", str(base))
    exact = (gguf.GGMLQuantizationType.F16, gguf.GGMLQuantizationType.F32)
    tmp = _temp_beside(out)
    try:
        writer = gguf.GGUFWriter(tmp, str(arch_field.contents()), endianess=reader.endianess)
        for field in reader.fields.values():
            if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
                continue  # written by GGUFWriter itself
            sub = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
            writer.add_key_value(field.name, field.contents(), field.types[0], sub_type=sub)
        datas = []
        for t in reader.tensors:
            data = t.data
            ab = pairs.pop(t.name, None)
            if ab is not None:
                if t.tensor_type not in exact:
                    raise TunegateError(
                        f"merging needs f16 or f32 weights; {t.name} is {t.tensor_type.name}",
                        str(base),
                    )
                data = (np.asarray(data, dtype=np.float32) + ab["b"] @ ab["a"]).astype(data.dtype)
            writer.add_tensor_info(t.name, data.shape, data.dtype, data.nbytes, t.tensor_type)
            datas.append(data)
        if pairs:
            raise TunegateError(
                f"the LoRA adapts tensors the base model lacks: {', '.join(sorted(pairs)[:3])}",
                str(lora),
            )
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for data in datas:
            writer.write_tensor_data(data, tensor_endianess=reader.endianess)
        writer.close()
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
