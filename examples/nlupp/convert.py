# python examples/nlupp/convert.py  (then: tunegate check examples/nlupp)
"""Convert NLU++ (../shared/datasets/nlupp, CC BY 4.0) into this task's data/ folder.

One domain (banking by default) becomes a JSON-output task: each message maps to
`{"intents": [...], "slots": {...}}`, intents sorted, each slot mapped to the span of the
message that fills it (the `text` of the annotation; canonical date values are left out).
A message with no annotation gets `{"intents": [], "slots": {}}`; an intent listed twice in the
source counts once.

The split is fixed: folds 0-17 train, folds 18-19 test (the data set's "large" setting, one of
its ten test pairs), minus the test rows whose text is also in train (2 in banking: exact
train/test leakage). Also written: schema.json beside tunegate.yaml (committed), the draft
`tunegate init --from` draws from the train targets (`tunegate.data.schema_infer`: the intents
seen as an enum with `uniqueItems`, every slot name seen as an optional property, no others),
checked to accept every test target and to name exactly the ontology's intents and slots; and
data/docs/ontology.md (each intent and slot with its description, for the retrieval rung). --src names the nlupp folder; by default
$TUNEGATE_DATASETS/nlupp, else ../shared/datasets/nlupp beside the repository. The data stays
there: data/ is git-ignored. Re-running it writes the same bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASETS = Path(
    os.environ.get("TUNEGATE_DATASETS", HERE.parent.parent.parent / "shared" / "datasets")
)
DEFAULT_SRC = DATASETS / "nlupp"
TRAIN_FOLDS, TEST_FOLDS = range(0, 18), range(18, 20)


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def in_domain(entry: dict, domain: str) -> bool:
    return bool({"general", domain} & set(entry["domain"]))


def target(example: dict) -> dict:
    slots = example.get("slots", {})
    return {
        "intents": sorted(set(example.get("intents", []))),
        "slots": {k: slots[k]["text"] for k in sorted(slots)},
    }


def schema(train: list[dict], test: list[dict], intents: list[str], slots: list[str]) -> dict:
    """The schema inferred from the train targets, checked against the test targets and the
    ontology (a mismatch stops the conversion: the example would measure the wrong contract)."""
    from tunegate.data.schema_infer import infer_schema, validate_all

    drawn = infer_schema([(f"train row {i}", r["annotation"]) for i, r in enumerate(train, 1)])
    broken = validate_all(
        drawn, [(f"test row {i}", r["annotation"]) for i, r in enumerate(test, 1)]
    )
    if broken:
        sys.exit(f"the inferred schema rejects {len(broken)} test targets, e.g. {broken[0]}")
    props = drawn["properties"]
    if props["intents"]["items"]["enum"] != intents or list(props["slots"]["properties"]) != slots:
        sys.exit("the train targets do not use exactly the ontology's intents and slots")
    return {"$schema": drawn.pop("$schema"), "title": "NLU++ intents and slots", **drawn}


def ontology_md(ontology: dict, intents: list[str], slots: list[str], domain: str) -> str:
    lines = [f"# NLU++ {domain} ontology", "", "## Intents", ""]
    lines += [f"- `{i}`: {ontology['intents'][i]['description']}" for i in intents]
    lines += ["", "## Slots", ""]
    lines += [f"- `{s}`: {ontology['slots'][s]['description']}" for s in slots]
    return "\n".join(lines) + "\n"


def convert(
    src: Path, out: Path, domain: str, schema_out: Path = HERE / "schema.json"
) -> dict[str, int]:
    data = src / "data"
    ontology = json.loads((data / "ontology.json").read_text(encoding="utf-8"))
    intents = sorted(k for k, v in ontology["intents"].items() if in_domain(v, domain))
    slots = sorted(k for k, v in ontology["slots"].items() if in_domain(v, domain))
    counts = {}
    train_texts: set[str] = set()
    written: dict[str, list[dict]] = {}
    for split, folds in (("train", TRAIN_FOLDS), ("test", TEST_FOLDS)):
        rows = []
        for fold in folds:
            for example in json.loads(
                (data / domain / f"fold{fold}.json").read_text(encoding="utf-8")
            ):
                rows.append({"text": example["text"], "annotation": target(example)})
        if split == "train":
            train_texts = {r["text"] for r in rows}
        else:  # a test message that is also in train would measure memory: leave it out
            counts["dropped"] = sum(r["text"] in train_texts for r in rows)
            rows = [r for r in rows if r["text"] not in train_texts]
        written[split] = rows
        lines = [json.dumps(r, ensure_ascii=False) for r in rows]
        write_atomic(out / f"{split}.jsonl", "\n".join(lines) + "\n")
        counts[split] = len(rows)
    drawn = schema(written["train"], written["test"], intents, slots)
    write_atomic(schema_out, json.dumps(drawn, indent=2) + "\n")
    write_atomic(out / "docs" / "ontology.md", ontology_md(ontology, intents, slots, domain))
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--src", type=Path, default=DEFAULT_SRC, help=f"nlupp folder (default {DEFAULT_SRC})"
    )
    ap.add_argument(
        "--out", type=Path, default=HERE / "data", help="output folder (default: ./data)"
    )
    ap.add_argument("--domain", choices=("banking", "hotels"), default="banking")
    ap.add_argument(
        "--schema", type=Path, default=HERE / "schema.json", help="where to write the JSON Schema"
    )
    args = ap.parse_args()
    if not (args.src / "data" / "ontology.json").exists():
        sys.exit(
            f"{args.src}: NLU++ not found (expected data/ontology.json and "
            "data/<domain>/fold*.json); pass --src"
        )
    counts = convert(args.src, args.out, args.domain, args.schema)
    print(
        f"wrote {args.out}: {counts['train']:,} train, {counts['test']:,} test rows "
        f"({args.domain}); "
        f"left out {counts['dropped']} test rows whose text is also in train"
    )


if __name__ == "__main__":
    main()
