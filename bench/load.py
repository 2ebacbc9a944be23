"""Cold vs warm load of the embedded model: de-quantizing the GGUF vs reading cached safetensors.

Run: python bench/load.py
Each load runs in a fresh process (so no in-process cache helps the warm one); the cold load
uses an empty TUNEGATE_HOME. Library imports (torch, transformers and its Llama classes) are timed apart: both pay them. Prints both times and the ratio (goal: warm >= 10x faster).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

CHILD = """
import json, time
t0 = time.perf_counter()
import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM, LlamaConfig
from tunegate.models.resolve import load_causal_lm, resolve_model
t = time.perf_counter()
model, tok = load_causal_lm(resolve_model())
print(json.dumps({"seconds": time.perf_counter() - t, "imports": t - t0,
                  "params": sum(p.numel() for p in model.parameters())}))
"""


def timed_load(home: str) -> dict[str, float]:
    env = {**os.environ, "TUNEGATE_HOME": home}
    out = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        cold = timed_load(home)
        warm = timed_load(home)
    ratio = cold["seconds"] / warm["seconds"]
    print(f"model: embedded SmolLM2-135M-Instruct ({cold['params'] / 1e6:.1f}M parameters)")
    print(f"cold (de-quantize GGUF, write safetensors): {cold['seconds']:.2f} s")
    print(f"warm (cached safetensors):                  {warm['seconds']:.2f} s")
    print(f"(imports, the same for both and not counted: {warm['imports']:.1f} s)")
    print(f"ratio cold/warm: {ratio:.1f}x  (goal >= 10x: {'PASS' if ratio >= 10 else 'FAIL'})")


if __name__ == "__main__":
    main()
