# python bench/serve.py            (options: --help; about 3 minutes, loopback only)
"""`tunegate serve` under load: many concurrent clients against the same requests one at a time.

Starts `tunegate serve --port 0` (the embedded model) on 127.0.0.1 in its own process, then:
(a) concurrent: `--clients` (32) clients, each sending the demo task's chat requests (its system
    prompt and test messages, its JSON Schema as response_format, greedy) back to back for
    `--seconds` (60); requests still in flight at the end are waited for.
(b) one at a time: the same requests in the same order, each sent after the previous answered,
    for at most `--seconds` as well.
Both phases run against the same server process in one run; each reports completion tokens per
second of wall time, p50/p95 latency and errors, and the ratio (a)/(b) is the figure to read.
Goals: 0 errors; ratio >= 4. Greedy decoding makes each request's answer the same in both
phases, so the tokens compared are the same work; the agreement is printed.

`--engines torch,llamacpp` (issue 14) instead runs phase (a) once per engine, one server after
the other in the same run (`tunegate serve --engine ...`), and prints each engine's tokens/s
and the ratio to the first engine's. Goal: llamacpp >= 2.5x torch, 0 errors.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
DEMO = ROOT / "examples" / "support-tickets"


def demo_bodies(max_tokens: int, constrained: bool) -> list[dict[str, Any]]:
    """Chat request bodies from the demo task's test split."""
    from tunegate.data.examples import to_messages
    from tunegate.data.split import load_dataset
    from tunegate.spec import load_task, output_schema

    task, folder = load_task(DEMO)
    schema = output_schema(task, folder)
    bodies = []
    for ex in load_dataset(task, folder).test:
        body: dict[str, Any] = {
            "model": "smollm2-135m",
            "messages": to_messages(task, ex),
            "max_tokens": max_tokens,
            "temperature": 0,
        }
        if constrained and schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "ticket", "schema": schema},
            }
        bodies.append(body)
    return bodies


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    tokens: int = 0
    errors: list[str] = field(default_factory=list)
    texts: dict[int, str] = field(default_factory=dict)  # request number -> answer
    order: list[int] = field(default_factory=list)  # request numbers in completion order
    seconds: float = 0.0

    def report(self) -> str:
        lat = sorted(self.latencies)
        p50 = statistics.median(lat) if lat else float("nan")
        p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else float("nan")
        return (
            f"{self.name:<14} {len(lat):>5} answered {self.tokens:>6} tokens in "
            f"{self.seconds:6.1f} s = {self.rate:6.1f} tok/s | latency p50 {p50:6.2f} s "
            f"p95 {p95:6.2f} s | errors {len(self.errors)}"
        )

    @property
    def rate(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


async def _send(http: Any, url: str, body: dict[str, Any], n: int, phase: Phase) -> None:
    start = time.perf_counter()
    try:
        r = await http.post(f"{url}/v1/chat/completions", json=body, timeout=300)
        data = r.json()
        if r.status_code != 200:
            phase.errors.append(f"HTTP {r.status_code}: {data.get('error', {}).get('message')}")
            return
    except Exception as exc:  # count every failure, whatever its kind
        phase.errors.append(f"{type(exc).__name__}: {exc}")
        return
    phase.latencies.append(time.perf_counter() - start)
    phase.tokens += int(data["usage"]["completion_tokens"])
    phase.texts[n] = data["choices"][0]["message"]["content"]
    phase.order.append(n)


async def concurrent(url: str, bodies: list[dict[str, Any]], clients: int, seconds: float) -> Phase:
    import httpx

    phase = Phase(f"{clients} clients")
    counter = iter(range(10**9))
    stop_at = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(http: httpx.AsyncClient) -> None:
        while time.perf_counter() < stop_at:
            n = next(counter)
            await _send(http, url, bodies[n % len(bodies)], n, phase)

    start = time.perf_counter()
    async with httpx.AsyncClient(limits=limits) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    phase.seconds = time.perf_counter() - start
    return phase


async def one_at_a_time(
    url: str, bodies: list[dict[str, Any]], numbers: list[int], seconds: float
) -> Phase:
    import httpx

    phase = Phase("one at a time")
    stop_at = time.perf_counter() + seconds
    start = time.perf_counter()
    async with httpx.AsyncClient() as http:
        for n in numbers:
            if time.perf_counter() >= stop_at:
                break
            await _send(http, url, bodies[n % len(bodies)], n, phase)
    phase.seconds = time.perf_counter() - start
    return phase


def start_server(
    args: argparse.Namespace, engine: str = "torch"
) -> tuple[subprocess.Popen[str], str]:
    cmd = [
        sys.executable, "-m", "tunegate", "serve",  # no model named: the embedded SmolLM2
        "--host", "127.0.0.1", "--port", "0", "--max-batch", str(args.clients),
        "--queue", str(4 * args.clients), "--max-tokens-cap", str(args.max_tokens),
        "--timeout", "600", "--engine", engine,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"on (http://127\.0\.0\.1:\d+)/v1", line)
    if not found:
        proc.kill()
        sys.exit(f"the server did not start: {line!r}")
    # keep reading its access log, or a full pipe would stall the server
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    return proc, found.group(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    ap.add_argument("--seconds", type=float, default=60, help="length of each phase (default 60)")
    ap.add_argument("--max-tokens", type=int, default=160, help="max_tokens per request")
    ap.add_argument("--free", action="store_true", help="no response_format (free text)")
    ap.add_argument(
        "--engines", default=None, help="e.g. torch,llamacpp: phase (a) on each, compared"
    )
    args = ap.parse_args()

    bodies = demo_bodies(args.max_tokens, constrained=not args.free)
    if args.engines:
        sys.exit(compare_engines(args, bodies, args.engines.split(",")))
    proc, url = start_server(args)
    try:
        warm = asyncio.run(one_at_a_time(url, bodies, [0], 600))  # prefix cache, grammar
        if warm.errors:
            sys.exit(f"warm-up request failed: {warm.errors[0]}")
        many = asyncio.run(concurrent(url, bodies, args.clients, args.seconds))
        single = asyncio.run(one_at_a_time(url, bodies, many.order, args.seconds))
    finally:
        proc.terminate()
        proc.wait(30)
    kind = "free text" if args.free else "JSON Schema response_format"
    print(f"demo task, {len(bodies)} distinct requests, {kind}, max_tokens {args.max_tokens}")
    print(many.report())
    print(single.report())
    ratio = many.rate / single.rate if single.rate else float("nan")
    same = sum(many.texts[n] == t for n, t in single.texts.items() if n in many.texts)
    print(f"throughput ratio (concurrent / one at a time): {ratio:.2f}x  (goal >= 4)")
    print(f"answers identical in both phases: {same}/{len(single.texts)}")
    errors = many.errors + single.errors
    for e in sorted(set(errors))[:5]:
        print(f"  error: {e}")
    ok = not errors and ratio >= 4
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


def compare_engines(
    args: argparse.Namespace, bodies: list[dict[str, Any]], engines: list[str]
) -> int:
    """Phase (a) against one server per engine, in this run; tokens/s ratios to the first."""
    phases: dict[str, Phase] = {}
    for engine in engines:
        proc, url = start_server(args, engine)
        try:
            warm = asyncio.run(one_at_a_time(url, bodies, [0], 600))
            if warm.errors:
                sys.exit(f"{engine}: warm-up request failed: {warm.errors[0]}")
            phases[engine] = asyncio.run(concurrent(url, bodies, args.clients, args.seconds))
            phases[engine].name = engine
        finally:
            proc.terminate()
            proc.wait(30)
        print(phases[engine].report(), flush=True)
    kind = "free text" if args.free else "JSON Schema response_format"
    print(f"demo task, {args.clients} clients, {args.seconds:.0f} s each, {kind}")
    first = phases[engines[0]]
    for engine in engines[1:]:
        other = phases[engine]
        same = sum(other.texts.get(n) == t for n, t in first.texts.items() if n in other.texts)
        both = sum(n in other.texts for n in first.texts)
        ratio = other.rate / first.rate if first.rate else float("nan")
        print(f"{engine} / {engines[0]} tokens/s: {ratio:.2f}x (goal >= 2.5); "
              f"answers identical on {same}/{both} requests both answered")  # fmt: skip
    errors = [e for p in phases.values() for e in p.errors]
    for e in sorted(set(errors))[:5]:
        print(f"  error: {e}")
    return 1 if errors else 0


if __name__ == "__main__":
    main()
