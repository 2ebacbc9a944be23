"""`tunegate demo` end to end: check, diagnose, train, the fine-tuned rung, report; resumable.

The default-suite test runs the pipeline on the tiny random Llama (a copy of the demo task
pointed at it), interrupted between training and the second diagnose, then finished through the
CLI; the store shows that nothing done before the interruption was computed again. The slow test
runs the CLI on the embedded model on a small slice.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from conftest import copy_example
from tunegate.errors import TunegateError
from tunegate.store import Store


def _demo_copy(tmp_path: Path, **task: object) -> Path:
    folder = copy_example("support-tickets", tmp_path)
    path = folder / "tunegate.yaml"
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec.update(task)
    spec.setdefault("ladder", {}).update(latency_samples=1)  # timing is tested with fakes
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return folder


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "tunegate", "demo", *args],
                          capture_output=True, text=True, timeout=1800, env=env)  # fmt: skip


def _state(folder: Path) -> tuple[dict[str, list[str]], dict[str, float]]:
    """Run ids per kind and status, and every stored answer's creation time."""
    store = Store(folder)
    try:
        runs: dict[str, list[str]] = {}
        for r in store.runs():
            runs.setdefault(f"{r.kind}:{r.status}", []).append(r.id)
        rows = store._db.execute("SELECT key, created FROM outputs").fetchall()
        return runs, {row["key"]: row["created"] for row in rows}
    finally:
        store.close()


def test_demo_resumes_after_an_interruption_between_stages(
    tmp_path: Path, tiny_llama: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tunegate.flows import demo

    folder = _demo_copy(tmp_path, model=str(tiny_llama))
    real = demo._diagnose

    def stop_before_the_tuned_rung(path, opts, rungs, adapter_run, console, out):  # type: ignore[no-untyped-def]
        if adapter_run is not None:
            raise KeyboardInterrupt
        return real(path, opts, rungs, adapter_run, console, out)

    monkeypatch.setattr(demo, "_diagnose", stop_before_the_tuned_rung)
    options = demo.DemoOptions(folder, limit=3, rungs=("constrained",), steps=1, estimate=False)
    with pytest.raises(KeyboardInterrupt):
        demo.run_demo(options, Console(file=io.StringIO()))
    runs, answers = _state(folder)
    assert len(runs["train:done"]) == 1 and len(runs["diagnose:done"]) == 1
    assert len(answers) >= 3  # the constrained rung's answers, stored

    proc = _cli("--folder", str(folder), "--limit", "3", "--rungs", "constrained",
                "--steps", "1", "--no-estimate")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "already done: diagnose run" in out and "already done: training run" in out
    after, answers_after = _state(folder)
    assert after["train:done"] == runs["train:done"]  # not trained again
    assert len(after["diagnose:done"]) == 2 and len(after["check:done"]) == 2
    assert all(answers_after[k] == t for k, t in answers.items())  # no answer recomputed
    assert len(answers_after) >= len(answers) + 3  # the fine-tuned rung's answers
    final = Store(folder)
    newest = final.latest("diagnose")
    assert newest is not None and newest.config["adapter_run"] == runs["train:done"][0]
    assert newest.config["rungs"] == ["finetuned"]  # the usual path: the adapter alone
    final.close()
    from tunegate.report import build_report

    built = build_report(folder)  # the report as `tunegate report` makes it, without the demo
    assert [s.rung for s in built.decision.rungs] == ["constrained", "finetuned"]
    assert built.decision.ceiling == "constrained"
    report = folder / ".tunegate" / "report.html"
    assert report.exists() and 'id="recommendation"' in report.read_text(encoding="utf-8")
    assert f"report: {report}" in out.replace("\n", "")
    assert built.decision.headline.split(":")[0] in out.replace("\n", " ")  # decide's verdict
    assert "prompt ceiling vs fine-tuned: constrained" in out and " p=" in out
    assert "wall time" in out and "peak RSS" in out


def test_a_missing_demo_folder_is_one_line(tmp_path: Path) -> None:
    proc = _cli("--folder", str(tmp_path / "nowhere"))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "demo task not found" in proc.stderr
    from tunegate.flows.demo import DemoOptions, run_demo

    with pytest.raises(TunegateError, match="prompt-only"):
        run_demo(DemoOptions(tmp_path, rungs=("finetuned",)), Console(file=io.StringIO()))


@pytest.mark.slow
def test_demo_on_the_embedded_model(tmp_path: Path) -> None:
    """The README's command on a small slice: every stage, the punchline, the report."""
    folder = _demo_copy(tmp_path)
    proc = _cli("--folder", str(folder), "--limit", "6", "--steps", "3")
    print(proc.stdout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    for stage in ("1/5 check", "2/5 diagnose", "3/5 train", "4/5 diagnose", "5/5 report"):
        assert stage in out
    assert "training time (estimate)" in out and "min per epoch here" in out
    assert "prompt ceiling vs fine-tuned: " in out and " p=" in out
    report = folder / ".tunegate" / "report.html"
    assert report.exists() and 'id="recommendation"' in report.read_text(encoding="utf-8")
    assert "peak RSS" in out
