"""`tunegate export --gguf`: the trained adapter as llama.cpp and Ollama deploy it.

Writes the base model GGUF that the llamacpp engine measured (the task's GGUF re-quantized to
f16, models/gguf_weights.py) and the adapter as a GGUF LoRA (models/gguf_lora.py), plus an Ollama
`Modelfile` naming both; returns the llama-server command that serves them. With `merge`, one
GGUF instead: the LoRA added into the f16 weights (`merge_lora`), served without `--lora`. The chat template in
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
MERGED_FILE = "model-{quant}-merged.gguf"
MODELFILE = """FROM ./{base}
{adapter}TEMPLATE \"\"\"{{{{- range .Messages }}}}<|im_start|>{{{{ .Role }}}}
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
    lora: Path | None  # None: merged into `base`
    modelfile: Path
    run_id: str

    def llama_server(self) -> str:
        lora = "" if self.lora is None else f" --lora {self.lora}"
        return f"llama-server -m {self.base}{lora} --host 127.0.0.1 --port 8080"

    def ollama(self) -> str:
        return f"cd {self.folder} && ollama create tunegate-{self.run_id} -f Modelfile"


def export_gguf(
    task: str | Path,
    out: str | Path,
    run_id: str | None = None,
    quant: str = "f16",
    merge: bool = False,
) -> GgufExport:
    """Write the base GGUF, the adapter's GGUF LoRA and a Modelfile for run `run_id` (default:
    the latest) of `task` into the new folder `out`; with `merge`, one merged GGUF instead."""
    from tunegate.models.gguf_lora import lora_gguf
    from tunegate.models.gguf_weights import engine_gguf, merge_lora, quantize, source_gguf
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
    if merge:
        names = {"base": MERGED_FILE.format(quant=quant)}
    try:
        with atomic.directory(target) as tmp:
            if merge:  # added into exact f16 weights, then quantized as asked
                merged = merge_lora(engine_gguf(source, "f16"), lora, tmp / "merged-f16.gguf")
                if quant == "f16":
                    merged.rename(tmp / names["base"])
                else:
                    quantize(merged, tmp / names["base"], quant)
                    merged.unlink()
                modelfile_adapter = ""
            else:
                shutil.copyfile(base, tmp / names["base"])
                shutil.copyfile(lora, tmp / names["lora"])
                modelfile_adapter = f"ADAPTER ./{LORA_FILE}\n"
            (tmp / "Modelfile").write_text(
                MODELFILE.format(base=names["base"], adapter=modelfile_adapter), encoding="utf-8"
            )
    except OSError as exc:
        raise TunegateError(
            f"could not write the export ({exc.strerror or exc})", str(target)
        ) from exc
    target = target.resolve()
    written = None if merge else target / LORA_FILE
    return GgufExport(target, target / names["base"], written, target / "Modelfile", rid)
