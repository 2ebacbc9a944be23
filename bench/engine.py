# python bench/engine.py --items 60       (options: --help; about 10 minutes on 2 busy cores)
"""Both local engines in one run: llama.cpp in-process (`LlamaCppGenerator`) against the torch
reference loop (`LocalGenerator`), on the demo task's test prompts constrained by its JSON Schema.

(a) Latency, one request at a time (`time_one`, as the ladder times a rung and as a user of
    `serve` sees it): p50 / p95 of each engine and the torch/llama.cpp ratio. Goal (issue 14):
    p50 at least 5x lower on llama.cpp, p95 <= 1 s.
(b) Throughput: `generate` over the same prompts (torch batched with its shared-prefix cache;
    llama.cpp sequential, reusing the previous prompt's prefix): output tokens/s and the ratio.
(c) Agreement, item by item: the greedy answers identical between the engines, and the share of
    the schema's fields with equal values.

`--adapter DIR` runs a trained PEFT adapter on both (llama.cpp gets its GGUF conversion);
without it, the base model. `--quant` picks llama.cpp's weights (q8_0, f16, q4_1, source).
The machine may be shared: both engines are measured in the same run, read the ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from tunegate.models.base import Constraint, Generation, GenRequest  # noqa: E402

DEMO = ROOT / "examples" / "support-tickets"


def demo_requests(n: int, adapter: str | None) -> tuple[list[GenRequest], dict[str, Any]]:
    from tunegate.data.examples import to_messages
    from tunegate.data.split import load_dataset
    from tunegate.spec import load_task, output_schema

    task, folder = load_task(DEMO)
    schema = output_schema(task, folder)
    assert schema is not None, "the demo task has a JSON Schema"
    c = Constraint(json_schema=schema)
    test = load_dataset(task, folder).test[:n]
    reqs = [
        GenRequest(to_messages(task, ex), task.output.max_tokens, c, adapter=adapter) for ex in test
    ]
    return reqs, schema


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def timed(gen: Any, reqs: list[GenRequest]) -> list[Generation]:
    gen.time_one(reqs[0])  # warm-up (grammar compile, caches), not counted
    return [gen.time_one(r) for r in reqs]


def fields_equal(a: str, b: str) -> tuple[int, int]:
    try:
        x, y = json.loads(a), json.loads(b)
    except ValueError:
        return 0, 1
    keys = set(x) | set(y)
    return sum(x.get(k) == y.get(k) for k in keys), len(keys)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=60, help="demo test prompts")
    ap.add_argument("--adapter", default=None, help="a PEFT adapter folder (default: base model)")
    ap.add_argument("--quant", default="f16", help="llama.cpp weights: f16, q8_0, q4_1, source")
    ap.add_argument("--threads", type=int, default=None, help="threads for both engines")
    args = ap.parse_args()

    from tunegate.models.llamacpp import LlamaCppGenerator
    from tunegate.models.local import LocalGenerator, default_threads

    threads = args.threads or default_threads()  # one figure for both engines

    reqs, _ = demo_requests(args.items, "lora" if args.adapter else None)
    adapters = {"lora": args.adapter} if args.adapter else None
    print(f"{len(reqs)} demo prompts, JSON Schema, adapter {args.adapter or 'none (base)'}")

    t0 = time.perf_counter()
    llama = LlamaCppGenerator(None, adapters, quant=args.quant, threads=threads)
    print(
        f"llama.cpp ({llama.label()}, {llama.threads} threads) loaded in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    t0 = time.perf_counter()
    torch_gen = LocalGenerator(None, adapters, threads=threads, batch_size=16)
    print(f"torch (fp32, {torch_gen.threads} threads) loaded in {time.perf_counter() - t0:.1f} s")

    rows = []
    answers: dict[str, list[str]] = {}
    for name, gen in (("torch", torch_gen), ("llamacpp", llama)):
        lat = timed(gen, reqs)
        ms = [g.latency_ms or 0.0 for g in lat]
        ttft = [g.ttft_ms or 0.0 for g in lat]
        t0 = time.perf_counter()
        out = gen.generate(reqs)
        wall = time.perf_counter() - t0
        tokens = sum(g.output_tokens for g in out)
        answers[name] = [g.text for g in lat]
        batch_same = sum(a.text == b.text for a, b in zip(out, lat, strict=True))
        rows.append((name, pct(ms, 0.5), pct(ms, 0.95), statistics.median(ttft), tokens / wall))
        print(
            f"{name:9s} one at a time p50 {pct(ms, 0.5):7.0f} ms  p95 {pct(ms, 0.95):7.0f} ms  "
            f"ttft p50 {statistics.median(ttft):6.0f} ms | generate {tokens / wall:6.1f} tok/s "
            f"({wall:.1f} s) | batch answers = one-at-a-time answers on {batch_same}/{len(out)}"
        )
    (_, tp50, tp95, _, ttok), (_, lp50, lp95, _, ltok) = rows
    same = sum(a == b for a, b in zip(answers["torch"], answers["llamacpp"], strict=True))
    eq = [fields_equal(a, b) for a, b in zip(answers["torch"], answers["llamacpp"], strict=True)]
    print(
        f"ratio torch/llama.cpp: p50 {tp50 / lp50:.2f}x, p95 {tp95 / lp95:.2f}x; "
        f"throughput llama.cpp/torch {ltok / ttok:.2f}x"
    )
    print(
        f"agreement: identical answers {same}/{len(reqs)}, equal fields "
        f"{sum(e for e, _ in eq)}/{sum(n for _, n in eq)}"
    )


if __name__ == "__main__":
    main()
