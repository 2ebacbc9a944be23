"""Pick the torch thread count by measuring, because the right answer depends on who else runs.

On an idle machine every core helps. When other processes want the same cores, OpenMP worker
threads that wait for each other can make every parallel op slower than one thread would. A
0.1-0.5 s timing of the model's typical matrix product with all cores and with one decides; the
loop repeats it at each evaluation, since the machine's load changes during a run.

OpenMP's wait policy is left at libgomp's default (spin briefly, then sleep). Measured on this
2-core machine, 16 training steps of the demo: idle, default 460 tokens/s, PASSIVE 392, ACTIVE
458; with a busy process on one core, default 274, PASSIVE 271, ACTIVE 163. Generation at batch
64 likewise (idle: 109 / 93 / 115 tokens/s; busy: 58 / 51 / 28).
"""

from __future__ import annotations

import os
import time

import torch


def available_cores() -> int:
    """Cores this process may use, divided among the processes of this node (accelerate launch)."""
    cores = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )
    return max(1, cores // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def _time_linear(n_threads: int, x: torch.Tensor, w: torch.Tensor, reps: int) -> float:
    torch.set_num_threads(n_threads)
    torch.nn.functional.linear(x, w)
    t0 = time.perf_counter()
    for _ in range(reps):
        torch.nn.functional.linear(x, w)
    return time.perf_counter() - t0


def tune_threads(hidden: int = 576, reps: int = 8, rounds: int = 2) -> int:
    """Set and return the faster of (all available cores, 1 thread) for a (256 x hidden x 3*hidden)
    product; ties go to all cores."""
    cores = available_cores()
    if cores == 1:
        torch.set_num_threads(1)
        return 1
    x, w = torch.randn(256, hidden), torch.randn(3 * hidden, hidden)
    many = one = float("inf")
    for _ in range(rounds):
        many = min(many, _time_linear(cores, x, w, reps))
        one = min(one, _time_linear(1, x, w, reps))
    n = 1 if one < 0.9 * many else cores
    torch.set_num_threads(n)
    return n


def set_threads(threads: int | None, hidden: int = 576) -> int:
    """Use `threads` when given; otherwise measure (see tune_threads)."""
    if threads:
        torch.set_num_threads(threads)
        return threads
    return tune_threads(hidden)
