"""What the report says ran a rung: the engine and weights from a stored model label, and the
machine (CPU model, cores, AVX-512) that latency and cost figures hold for."""

from __future__ import annotations

import os

from tunegate.models.engines import EngineChoice, describe, hardware


def test_stored_model_labels_name_their_engine_and_weights() -> None:
    assert describe(f"smollm2-135m@{EngineChoice('llamacpp', 'q8_0').label()}") == "llamacpp q8_0"
    assert describe("smollm2-135m") == "torch fp32"  # the torch engine keeps the bare label
    assert describe("remote:http://127.0.0.1:9/v1:teacher") == "remote endpoint"
    assert describe("anything", remote=True) == "remote endpoint"


def test_hardware_names_the_cpu_and_the_cores_this_process_may_use() -> None:
    text = hardware()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert f", {cores} cores" in text and "\n" not in text
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            info = f.read()
        assert ("AVX-512" in text) == (" avx512f" in info)
