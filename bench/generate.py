# python bench/generate.py            (options: --help; about 10 minutes on 2 busy cores)
"""Local generation speed of the torch engine: ours against transformers' `generate`.

(a) Throughput: `LocalGenerator.generate` on N demo test prompts (one run, batched, shared-prefix
    KV cache) against two baselines on a separately loaded copy of the same model:
    - the headline: HF `model.generate` batched at our batch size, left-padded, greedy (what a
      sceptical engineer would write first);
    - a second line: HF `model.generate` called once per prompt (no padding at all).
    Output tokens per second of wall time for each, the ratios, and on how many items the greedy
    outputs are identical.
(b) Constraint cost: the same prompts constrained by the task's JSON Schema (or label set), then
    unconstrained with each item's max_tokens set to what its constrained run produced and
    end-of-sequence ignored, so both runs decode exactly the same tokens per row at the same
    batch size; tokens/s of each and the ratio. Goal: constrained >= 85% of unconstrained.

Prompts: examples/support-tickets (its test split, system prompt and user template) when present;
otherwise banking77 from the shared data sets with all 77 labels in the system prompt, as in
DESIGN.md's reference figures. Timings on a shared machine are noisy; the ratios are measured in
the same run and are the figures to read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from _data import banking77_dir

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from tunegate.models.base import Constraint, Generation, GenRequest  # noqa: E402

DEMO = ROOT / "examples" / "support-tickets"


Prompts = tuple[str, list[GenRequest], Constraint | None, int]


def demo_requests(n: int, max_tokens: int | None) -> Prompts:
    """The demo task's first n test prompts, its output constraint and its max_tokens."""
    from tunegate.data.examples import to_messages
    from tunegate.data.split import load_dataset
    from tunegate.spec import load_task, output_schema

    task, folder = load_task(DEMO)
    test = load_dataset(task, folder).test[:n]
    limit = max_tokens or task.output.max_tokens
    reqs = [GenRequest(to_messages(task, ex), max_tokens=limit) for ex in test]
    schema = output_schema(task, folder)
    if schema is not None:
        constraint: Constraint | None = Constraint(json_schema=schema)
    elif task.output.labels:
        constraint = Constraint(labels=tuple(task.output.labels))
    else:
        constraint = None
    return f"{task.name} ({folder})", reqs, constraint, task.output.max_tokens


def banking_requests(n: int, max_tokens: int | None) -> Prompts:
    """Fallback: banking77 test rows (every 37th), all 77 labels listed in the system prompt."""
    import csv

    banking = banking77_dir()
    labels = json.loads((banking / "categories.json").read_text(encoding="utf-8"))
    system = (
        "Classify the online-banking customer query into exactly one intent. Answer with the "
        "intent label only. The labels: " + ", ".join(labels)
    )
    with (banking / "test.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[::37][:n]
    reqs = [
        GenRequest(
            [{"role": "system", "content": system}, {"role": "user", "content": r["text"]}],
            max_tokens=max_tokens or 24,
        )
        for r in rows
    ]
    return f"banking77 ({banking})", reqs, Constraint(labels=tuple(labels)), 24


def hf_one_at_a_time(
    model: Any, gen: Any, reqs: list[GenRequest], done: int = 0
) -> tuple[list[list[int]], float, float]:
    """transformers' own greedy `generate`, one unpadded prompt per call.

    Returns (new token ids per prompt, wall seconds, CPU seconds)."""
    import torch

    outs = []
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        for i, req in enumerate(reqs):
            ids = torch.tensor([gen.prompt_ids(req)])
            out = model.generate(
                ids,
                max_new_tokens=req.max_tokens,
                do_sample=False,
                eos_token_id=gen.stop_ids,
                pad_token_id=gen.tokenizer.pad_token_id,
            )
            outs.append(out[0, ids.shape[1] :].tolist())
            if (i + 1) % 16 == 0:
                print(f"  baseline {done + i + 1} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return outs, time.perf_counter() - t0, time.process_time() - c0


def hf_batched(
    model: Any, gen: Any, reqs: list[GenRequest], batch_size: int
) -> tuple[list[list[int]], float, float]:
    """transformers' greedy `generate` on left-padded batches of `batch_size` prompts.

    Each row's new tokens are cut after its first stop token (later positions are padding).
    Returns (new token ids per prompt, wall seconds, CPU seconds)."""
    import torch

    pad = gen.tokenizer.pad_token_id
    pad = gen.stop_ids[0] if pad is None else pad
    stops = set(gen.stop_ids)
    outs: list[list[int]] = []
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        for start in range(0, len(reqs), batch_size):
            chunk = reqs[start : start + batch_size]
            prompts = [gen.prompt_ids(r) for r in chunk]
            width = max(len(p) for p in prompts)
            ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
            mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
            out = model.generate(
                ids,
                attention_mask=mask,
                max_new_tokens=max(r.max_tokens for r in chunk),
                do_sample=False,
                eos_token_id=gen.stop_ids,
                pad_token_id=pad,
            )
            for row, req in zip(out[:, width:].tolist(), chunk, strict=True):
                cut = next((i + 1 for i, t in enumerate(row) if t in stops), len(row))
                outs.append(row[: min(cut, req.max_tokens)])
    return outs, time.perf_counter() - t0, time.process_time() - c0


def timed(gen: Any, reqs: list[GenRequest]) -> tuple[list[Generation], float, float, int]:
    """Outputs, wall seconds, CPU seconds of this process, output tokens."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = gen.generate(reqs)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return out, seconds, cpu, sum(g.output_tokens for g in out)


def schema_valid(texts: list[str], constraint: Constraint | None) -> int:
    import jsonschema

    if constraint is None:
        return 0
    if constraint.labels is not None:
        return sum(t in constraint.labels for t in texts)
    ok = 0
    for t in texts:
        try:
            jsonschema.validate(json.loads(t), constraint.json_schema or {})
            ok += 1
        except (ValueError, jsonschema.ValidationError):
            pass
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=64, help="prompts (default 64)")
    ap.add_argument("--max-tokens", type=int, default=64, help="max new tokens in (a) (default 64)")
    ap.add_argument("--batch-size", type=int, default=64, help="our batch size (default 64)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: free cores)")
    ap.add_argument(
        "--banking77", action="store_true", help="use banking77 even if the demo exists"
    )
    ap.add_argument("--ablate", action="store_true", help="also time ours without the prefix cache")
    args = ap.parse_args()

    from tunegate.models.local import LocalGenerator
    from tunegate.models.resolve import load_causal_lm

    if DEMO.joinpath("tunegate.yaml").exists() and not args.banking77:
        source, reqs, constraint, task_max = demo_requests(args.n, args.max_tokens)
    else:
        source, reqs, constraint, task_max = banking_requests(args.n, args.max_tokens)
    gen = LocalGenerator(batch_size=args.batch_size, threads=args.threads)
    baseline_model, _ = load_causal_lm(gen.path)  # a plain copy: stock SDPA attention, no tricks
    lengths = [len(gen.prompt_ids(r)) for r in reqs]
    print(f"data: {source}: {len(reqs)} prompts, {min(lengths)}-{max(lengths)} prompt tokens")
    print(f"model: {gen.name}, {gen.threads} torch thread(s), our batch size {gen.batch_size}")

    print(f"\n(a) throughput, greedy, max_tokens {reqs[0].max_tokens}", flush=True)
    # Ours runs before, between and after the baselines (cold prefix cache each time) and its
    # times are averaged, so load changes on the shared machine fall on every side.
    runs: list[tuple[float, float]] = []
    one_ids: list[list[int]] = []
    t_one = c_one = 0.0
    batched: list[tuple[list[list[int]], float, float]] = []
    half = len(reqs) // 2
    for step in ("batched", "one", "one", "batched", ""):
        gen.clear_cache()
        ours, t, c, n_ours = timed(gen, reqs)
        runs.append((t, c))
        print(f"  ours     {n_ours:6d} tokens in {t:7.1f} s (run {len(runs)})", flush=True)
        if step == "batched":
            batched.append(hf_batched(baseline_model, gen, reqs, gen.batch_size))
            print(
                f"  HF batched generate: run {len(batched)} in {batched[-1][1]:.1f} s", flush=True
            )
        elif step == "one":
            part = reqs[:half] if not one_ids else reqs[half:]
            ids, t, c = hf_one_at_a_time(baseline_model, gen, part, len(one_ids))
            one_ids += ids
            t_one, c_one = t_one + t, c_one + c
    if args.ablate:
        bare = LocalGenerator(batch_size=args.batch_size, threads=gen.threads, prefix_cache=False)
        _, t_bare, _, n_bare = timed(bare, reqs)
        print(f"  ours without the prefix cache: {n_bare / t_bare:.1f} tok/s", flush=True)
        del bare
    t_ours = sum(t for t, _ in runs) / len(runs)
    c_ours = sum(c for _, c in runs) / len(runs)
    batch_ids = batched[0][0]
    t_bat = sum(b[1] for b in batched) / len(batched)
    c_bat = sum(b[2] for b in batched) / len(batched)
    n_bat = sum(len(x) for x in batch_ids)
    n_one = sum(len(x) for x in one_ids)
    print(
        f"  ours               {n_ours:6d} tokens in {t_ours:7.1f} s = {n_ours / t_ours:7.1f} "
        f"tok/s (mean of {len(runs)} runs; {n_ours / c_ours:.1f} tokens per CPU-second)"
    )
    print(
        f"  HF batched (bs {gen.batch_size:3d}) {n_bat:6d} tokens in {t_bat:7.1f} s = "
        f"{n_bat / t_bat:7.1f} tok/s (mean of {len(batched)} runs; "
        f"{n_bat / c_bat:.1f} tokens per CPU-second)"
    )
    print(
        f"  HF one at a time   {n_one:6d} tokens in {t_one:7.1f} s = {n_one / t_one:7.1f} tok/s "
        f"({n_one / c_one:.1f} tokens per CPU-second)"
    )
    tok = gen.tokenizer

    def same(base: list[list[int]]) -> int:
        return sum(
            g.output_tokens == len(b) and g.text == tok.decode(b, skip_special_tokens=True)
            for g, b in zip(ours, base, strict=True)
        )

    r_bat = (n_ours / t_ours) / (n_bat / t_bat)
    r_one = (n_ours / t_ours) / (n_one / t_one)
    print(
        f"  headline ours / HF batched generate: {r_bat:.2f}x "
        f"(per CPU-second {(n_ours / c_ours) / (n_bat / c_bat):.2f}x); "
        f"identical greedy outputs {same(batch_ids)}/{len(reqs)}"
    )
    print(
        f"  second line ours / HF one at a time: {r_one:.2f}x "
        f"(per CPU-second {(n_ours / c_ours) / (n_one / c_one):.2f}x); "
        f"identical greedy outputs {same(one_ids)}/{len(reqs)}"
    )
    if constraint is not None:
        valid = schema_valid([g.text for g in ours], constraint)
        print(f"  prompt-only outputs that satisfy the task's constraint: {valid}/{len(reqs)}")
    del baseline_model

    if constraint is None:
        print("\n(b) skipped: the task has no schema or label set")
        return
    held = [GenRequest(r.messages, max_tokens=task_max, constraint=constraint) for r in reqs]
    print(f"\n(b) constraint cost, batch size {gen.batch_size}, max_tokens {task_max}", flush=True)
    gen.compile(constraint)  # compiled once per (tokenizer, constraint); not part of decoding
    # Order constrained, free, free, constrained, on the same generator (cold prefix cache each
    # time), so load drift during the four runs falls on both sides equally.
    free: list[GenRequest] = []
    times: dict[str, list[float]] = {"c": [], "f": []}
    cpu: dict[str, float] = {"c": 0.0, "f": 0.0}
    n_c = n_f = valid_c = 0
    for kind in ("c", "f", "f", "c"):
        gen.clear_cache()
        gen.ignore_eos = kind == "f"
        out, t, c, n = timed(gen, held if kind == "c" else free)
        times[kind].append(t)
        cpu[kind] += c / 2
        if kind == "c":
            n_c, valid_c = n, schema_valid([g.text for g in out], constraint)
            free = [
                GenRequest(r.messages, max_tokens=max(1, g.output_tokens))
                for r, g in zip(reqs, out, strict=True)
            ]
        else:
            n_f = n
    gen.ignore_eos = False
    t_c, t_f = sum(times["c"]) / 2, sum(times["f"]) / 2
    print(
        f"  constrained   {n_c:6d} tokens in {t_c:6.1f} s = {n_c / t_c:7.1f} tok/s, "
        f"valid {valid_c}/{len(held)} (runs: {', '.join(f'{x:.1f}' for x in times['c'])} s)"
    )
    print(
        f"  unconstrained {n_f:6d} tokens in {t_f:6.1f} s = {n_f / t_f:7.1f} tok/s "
        "(same tokens per row, EOS ignored; runs: "
        f"{', '.join(f'{x:.1f}' for x in times['f'])} s)"
    )
    ratio_b = (n_c / t_c) / (n_f / t_f)
    ratio_cpu = (n_c / cpu["c"]) / (n_f / cpu["f"])
    print(
        f"  ratio constrained/unconstrained: {ratio_b:.2f} (cost {1 - ratio_b:.1%}, goal <= 15%); "
        f"per CPU-second: {ratio_cpu:.2f} (cost {1 - ratio_cpu:.1%})"
    )


if __name__ == "__main__":
    main()
