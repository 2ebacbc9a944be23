# python examples/banking77/convert.py  (then: tunegate check examples/banking77)
"""Convert banking77 (../shared/datasets/banking77, CC BY 4.0) into this task's data/ folder.

--src names the banking77 folder; by default it is $TUNEGATE_DATASETS/banking77, else
../shared/datasets/banking77 beside the repository.

Reads train.csv and test.csv (`text,category`) and writes data/train.jsonl and data/test.jsonl
with the same rows, in the same order, as `{"text": ..., "category": ...}`. The data stays in
shared/: data/ is git-ignored. Stdlib only; re-running it writes the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The shared data sets sit beside the repository (../shared/datasets); TUNEGATE_DATASETS overrides.
DATASETS = Path(
    os.environ.get("TUNEGATE_DATASETS", HERE.parent.parent.parent / "shared" / "datasets")
)
DEFAULT_SRC = DATASETS / "banking77"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def convert(src: Path, out: Path) -> dict[str, int]:
    labels = json.loads((src / "categories.json").read_text(encoding="utf-8"))
    counts = {}
    for split in ("train", "test"):
        with open(src / f"{split}.csv", encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        unknown = sorted({r["category"] for r in rows} - set(labels))
        if unknown:
            raise SystemExit(
                f"{src / f'{split}.csv'}: categories not in categories.json: {unknown[:5]}"
            )
        lines = [
            json.dumps({"text": r["text"], "category": r["category"]}, ensure_ascii=False)
            for r in rows
        ]
        write_atomic(out / f"{split}.jsonl", "\n".join(lines) + "\n")
        counts[split] = len(rows)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--src", type=Path, default=DEFAULT_SRC, help=f"banking77 folder (default {DEFAULT_SRC})"
    )
    ap.add_argument(
        "--out", type=Path, default=HERE / "data", help="output folder (default: ./data)"
    )
    args = ap.parse_args()
    if not (args.src / "train.csv").exists():
        sys.exit(
            f"{args.src}: banking77 not found (expected train.csv, test.csv and "
            "categories.json); pass --src"
        )
    counts = convert(args.src, args.out)
    print(f"wrote {args.out}: {counts['train']:,} train, {counts['test']:,} test rows")


if __name__ == "__main__":
    main()
