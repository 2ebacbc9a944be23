# python bench/distill.py            (options: --help; about 15 minutes on 2 idle cores)
"""Distillation on the demo task: how close does the embedded SmolLM2 get to a teacher whose
answers are right, after training on that teacher's labels alone?

The teacher is an OpenAI-compatible server on 127.0.0.1 that answers every support message with
its ticket from the example's own files (a stand-in for a large model that gets the task
right; tests/openai_stub.py). `tunegate distill` labels the first `--inputs` training messages
with it (their own tickets are never read), trains the embedded model (preset quick, `--steps`
steps), and measures student and teacher on `--limit` held-out items. The baseline beside them,
measured in the same run on the same items: the base model with schema-constrained decoding
(the `constrained` rung), i.e. what the student was before it learned from the teacher.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))
DEMO = ROOT / "examples" / "support-tickets"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=200, help="unlabeled inputs the teacher labels")
    ap.add_argument("--steps", type=int, default=40, help="training steps (batch 8)")
    ap.add_argument("--limit", type=int, default=40, help="held-out items compared")
    ap.add_argument("--keep", type=Path, help="keep the task folder here (default: a temp dir)")
    args = ap.parse_args()

    import yaml
    from rich.console import Console

    from openai_stub import Script, serve
    from tunegate.flows.distill import DistillOptions, distill
    from tunegate.ladder import DiagnoseOptions, diagnose
    from tunegate.report.distill import print_comparison

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-distill-"))
    folder = root / "support-tickets"
    shutil.copytree(DEMO, folder, ignore=shutil.ignore_patterns(".tunegate"), dirs_exist_ok=True)
    spec = yaml.safe_load((folder / "tunegate.yaml").read_text(encoding="utf-8"))
    spec["ladder"] = {"latency_samples": 5, "latency_budget_s": 60}
    (folder / "tunegate.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    rows = [json.loads(line) for f in ("train", "test")
            for line in (folder / "data" / f"{f}.jsonl").read_text().splitlines()]  # fmt: skip
    gold = {r["message"]: r["ticket"] for r in rows}
    inputs = root / "unlabeled.jsonl"
    inputs.write_text("".join(json.dumps({"message": r["message"]}) + "\n"
                              for r in rows[: args.inputs]))  # fmt: skip
    console = Console(stderr=True)
    teacher = Script(answer=lambda prompt, body: json.dumps(gold[prompt]))
    with serve(teacher) as url:
        t0 = time.perf_counter()
        res = distill(folder, DistillOptions(teacher=url, inputs=inputs, model="gold-teacher",
                                             steps=args.steps, limit=args.limit),
                      console=console)  # fmt: skip
        distill_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    base = diagnose(res.folder, DiagnoseOptions(rungs=["constrained"], limit=args.limit),
                    console=console)  # fmt: skip
    base_s = time.perf_counter() - t0
    out = Console(width=140)
    print_comparison(res.comparison, out)
    primary = res.comparison.primary
    m = base.rungs[0].metric(primary)
    s, t = res.comparison.student.accuracy, res.comparison.teacher.accuracy
    out.print(f"\n{primary} on the same {res.comparison.items} held-out items:")
    for name, x in (("base model, constrained (baseline)", m), ("student", s), ("teacher", t)):
        shown = "—" if x is None else f"{x.value:.3f} [{x.lo:.3f}, {x.hi:.3f}]"
        out.print(f"  {name:<36} {shown}")
    if m is not None and s is not None and m.value > 0:
        out.print(f"  student / baseline: {s.value / m.value:.2f}x")
    train = res.comparison.training
    out.print(f"distill wall time {distill_s:.0f} s (training {float(train.get('seconds') or 0):.0f} s"
              f" for {train.get('steps_done')} steps on {train.get('examples')} examples); "
              f"baseline diagnose {base_s:.0f} s; task folder {folder}")  # fmt: skip


if __name__ == "__main__":
    main()
