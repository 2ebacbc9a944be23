"""Which engine runs the local model: `llamacpp` (llama.cpp in-process), `torch` (the reference
loop) or `openai` (an OpenAI-compatible server, the task's `remote` endpoint).

The choice is made before any model loads, so that it can enter cache keys and labels: llamacpp
needs llama-cpp-python to import and a .gguf model (the embedded one by default); when either is
missing the run falls back to torch and says so in one line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tunegate.errors import TunegateError

__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "EngineChoice",
    "choose_engine",
    "describe",
    "hardware",
    "local_generator",
]

Engine = Literal["llamacpp", "torch", "openai"]
ENGINES: tuple[str, ...] = ("llamacpp", "torch", "openai")
DEFAULT_ENGINE: Engine = "llamacpp"


@dataclass(frozen=True)
class EngineChoice:
    """The engine that will run, its weights (`quant`), and why it differs from the request."""

    engine: str
    quant: str | None = None
    note: str | None = None

    def label(self) -> str:
        """As stored beside outputs and shown in reports: `torch:fp32`, `llamacpp:q8_0`, `openai`."""
        return self.engine if self.quant is None else f"{self.engine}:{self.quant}"


def hardware() -> str:
    """This machine as latency and cost figures hold for: CPU model, cores, AVX-512 or not
    (e.g. `AMD EPYC 9R14, 2 cores, AVX-512`), or the platform's processor name."""
    import os
    import platform

    name, flags = "", ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not name:
                    name = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = value
    except OSError:
        pass
    name = name or platform.processor() or platform.machine() or "unknown CPU"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    avx = ", AVX-512" if "avx512f" in flags.split() else ""
    return f"{name}, {cores} cores{avx}"


def describe(model: str, remote: bool = False) -> str:
    """What ran a rung, from its stored model label: `llamacpp f16`, `torch fp32` or `remote`."""
    if remote or model.startswith("remote:"):
        return "remote endpoint"
    engine = model.rpartition("@")[2] if "@" in model else "torch:fp32"
    return engine.replace(":", " ")


def llama_cpp_missing() -> str | None:
    """Why llama-cpp-python cannot be used here (None: it imports)."""
    try:
        import llama_cpp  # noqa: F401
    except (ImportError, OSError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def _is_gguf(model: str | None, folder: Path | None) -> bool:
    if model is None or model == "smollm2-135m":
        return True
    p = Path(model).expanduser()
    if not p.is_absolute() and folder is not None:
        p = folder / p
    return p.suffix == ".gguf"


def choose_engine(
    requested: str | None, model: str | None, folder: Path | None = None, quant: str | None = None
) -> EngineChoice:
    """The engine for `requested` (None: the default) on `model`, falling back to torch."""
    from tunegate.models.llamacpp import DEFAULT_QUANT

    engine = requested or DEFAULT_ENGINE
    if engine not in ENGINES:
        raise TunegateError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if engine == "torch":
        return EngineChoice("torch", "fp32")
    if engine == "openai":
        return EngineChoice("openai")
    if not _is_gguf(model, folder):
        note = "the llamacpp engine needs a .gguf model; running this Hugging Face folder on torch"
        return EngineChoice("torch", "fp32", note)
    missing = llama_cpp_missing()
    if missing is not None:
        note = f"llama-cpp-python is not usable ({missing}); falling back to the torch engine"
        return EngineChoice("torch", "fp32", note)
    return EngineChoice("llamacpp", quant or DEFAULT_QUANT)


def say(note: str | None) -> None:
    """Print a fallback note as one line on stderr."""
    if note:
        print(f"tunegate: {note}", file=sys.stderr)


def local_generator(
    choice: EngineChoice,
    model: str | None,
    folder: Path | None,
    adapters: dict[str, str] | None,
    *,
    name: str,
    batch_size: int,
    remote: Any = None,
) -> Any:
    """Build the chosen engine's generator for the task's model (+ adapters by name).

    An adapter llama.cpp cannot take (see models/gguf_lora.py) falls back to the torch engine,
    with one line saying why.
    """
    say(choice.note)
    if choice.engine == "openai":
        from tunegate.models.remote import RemoteGenerator

        if remote is None:
            raise TunegateError("engine openai needs a `remote:` endpoint in tunegate.yaml")
        gen = RemoteGenerator(remote)
        for adapter_name, adapter_dir in (adapters or {}).items():
            gen.load_adapter(adapter_name, adapter_dir)  # POST /v1/load_lora_adapter (vLLM's API)
        return gen
    if choice.engine == "llamacpp":
        from tunegate.models.gguf_lora import AdapterNotConverted
        from tunegate.models.llamacpp import LlamaCppGenerator, source_gguf

        try:
            return LlamaCppGenerator(
                source_gguf(model, folder),
                adapters,
                name=name,
                quant=choice.quant or "f16",
                batch_size=batch_size,
            )
        except AdapterNotConverted as exc:
            say(f"{exc}; this run uses the torch engine")
    from tunegate.models.local import LocalGenerator
    from tunegate.models.resolve import resolve_model

    return LocalGenerator(
        resolve_model(model, folder), adapters=adapters, name=name, batch_size=batch_size
    )
