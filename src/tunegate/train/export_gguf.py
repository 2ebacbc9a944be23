"""`tunegate export --gguf`: the trained adapter as llama.cpp and Ollama deploy it.

Writes the base model GGUF that the llamacpp engine measured (the task's GGUF re-quantized to
f16, models/llamacpp.py) and the adapter as a GGUF LoRA (models/gguf_lora.py), plus an Ollama
`Modelfile` naming both; returns the llama-server command that serves them. The chat template in
the Modelfile is ChatML, the embedded SmolLM2's; another model's template must be checked.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tunegate import atomic
from tunegate.errors import TunegateError

__all__ = ["GgufExport", "export_gguf"]

BASE_FILE = "model-{quant}.gguf"
LORA_FILE = "adapter-lora.gguf"
MODELFILE = """FROM ./{base}
ADAPTER ./{lora}
TEMPLATE \"\"\"{{{{- range .Messages }}}}<|im_start|>{{{{ .Role }}}}
{{{{ .Content }}}}<|im_end|>
{{{{ end }}}}<|im_start|>assistant
\"\"\"
PARAMETER stop "<|im_end|>"
PARAMETER temperature 0
"""


@dataclass(frozen=True)
class GgufExport:
    """What was written, and how to serve it."""

    folder: Path
    base: Path
    lora: Path
    modelfile: Path
    run_id: str

    def llama_server(self) -> str:
        return f"llama-server -m {self.base} --lora {self.lora} --host 127.0.0.1 --port 8080"

    def ollama(self) -> str:
        return f"cd {self.folder} && ollama create tunegate-{self.run_id} -f Modelfile"


def export_gguf(
    task: str | Path, out: str | Path, run_id: str | None = None, quant: str = "f16"
) -> GgufExport:
    """Write the base GGUF, the adapter's GGUF LoRA and a Modelfile for run `run_id` (default:
    the latest) of `task` into the new folder `out`."""
    from tunegate.models.gguf_lora import lora_gguf
    from tunegate.models.llamacpp import engine_gguf, source_gguf
    from tunegate.models.resolve import resolve_model
    from tunegate.runs import latest_adapter
    from tunegate.spec import load_task

    spec, folder = load_task(task)
    rid, adapter = latest_adapter(spec, folder, run_id)
    target = Path(out)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise TunegateError(
            "output folder exists and is not empty; choose another or remove it", str(target)
        )
    source = source_gguf(spec.model, folder)
    base = engine_gguf(source, quant)
    lora = lora_gguf(adapter, resolve_model(str(source)))
    names = {"base": BASE_FILE.format(quant=quant), "lora": LORA_FILE}
    try:
        with atomic.directory(target) as tmp:
            shutil.copyfile(base, tmp / names["base"])
            shutil.copyfile(lora, tmp / names["lora"])
            (tmp / "Modelfile").write_text(MODELFILE.format(**names), encoding="utf-8")
    except OSError as exc:
        raise TunegateError(
            f"could not write the export ({exc.strerror or exc})", str(target)
        ) from exc
    target = target.resolve()
    return GgufExport(
        target, target / names["base"], target / names["lora"], target / "Modelfile", rid
    )
