"""`tunegate serve` standing in for a remote model: `tunegate diagnose --rungs remote` against
the server on 127.0.0.1 stores the answers and measures the signals on them (issue 6)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest

from ladder_fakes import SCHEMA, make_task
from serve_helpers import metrics, serving, tiny_table
from tunegate.cli import main
from tunegate.store import Store


def test_diagnose_remote_rung_against_tunegate_serve(
    tmp_path: Path,
    tiny_llama: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with serving(tiny_table(tiny_llama), max_tokens_cap=64) as (url, _):
        remote = {"base_url": f"{url}/v1", "model": "tiny", "api_key_env": None}
        folder = make_task(tmp_path, "json", docs=False, extra={"remote": remote})
        monkeypatch.setattr(sys, "argv", ["tunegate", "diagnose", str(folder), "--rungs",
                                          "remote", "--limit", "3"])  # fmt: skip
        with pytest.raises(SystemExit) as done:
            main()
        assert done.value.code in (0, None), capsys.readouterr().err
        served = metrics(url)
    store = Store(folder)
    run = store.latest("diagnose")
    assert run is not None
    stored = store.result(run.id, "rung.remote")
    store.close()
    out = stored["outputs"]
    assert out["remote"] and out["model"] == f"remote:{url}/v1:tiny"
    items = out["items"]
    assert len(items) == 3 and all(it["error"] is None for it in items)
    for it in items:  # the server enforced the task's schema sent as response_format
        jsonschema.validate(json.loads(it["text"]), SCHEMA)
        assert it["input_tokens"] > 0 and it["output_tokens"] > 0  # usage reported
    assert len(out["latencies_ms"]) == 1 and len(out["ttft_ms"]) == 1  # one streamed, timed
    figures = {m["name"]: m for m in stored["metrics"]}
    assert figures["format.schema_valid"]["value"] == 1.0
    assert figures["knowledge.field_accuracy"]["n"] == 3
    assert figures["cost.per_month"]["value"] > 0  # priced from the server's token counts
    assert figures["latency.p95_ms"]["value"] > 0
    chat = 'tunegate_requests_total{endpoint="/v1/chat/completions",status="200"}'
    assert served[chat] == 3  # two batched + one streamed; nothing retried
