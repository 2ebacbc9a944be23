# ruff: noqa: E501  (phrase and data tables read better on long lines)
"""The dirty copy of the demo task: clean rows plus planted problems, and a manifest that counts
them exactly as `tunegate check` does (stdlib only; used by generate.py).

`count()` is an independent, plain re-statement of the check's counting rules; `plant()` asserts
that it finds exactly what was planted, so the manifest cannot drift from the data.
"""

from __future__ import annotations

import copy
import difflib
import json
import random
from collections import Counter
from typing import Any

import kestrel as k
from textsim import NEAR, NearIndex, jaccard, shingles

SINGLETON = "legal"  # a category the dirty schema allows and one train row uses

RULES = {
    "rows.missing_fields": "rows that lack an input column altogether",
    "rows.empty_inputs": "rows whose input columns are all present but blank",
    "rows.empty_targets": "rows whose target is blank, null or absent",
    "length.over_train_cutoff": "train rows whose chat-formatted prompt + target exceed train.max_length (512) tokens",
    "duplicates.train_exact": "train rows whose (input, target) equals an earlier train row's",
    "duplicates.train_conflicting": "train rows whose input equals an earlier train row's but whose target differs",
    "duplicates.train_near": "train rows whose input equals no earlier row's but has word-bigram Jaccard >= 0.8 "
    "with an earlier train row's input",
    "leakage.exact": "test rows whose input equals a train row's input",
    "leakage.near": "test rows whose input equals no train input but has word-bigram Jaccard >= 0.8 with one",
    "json.parse_errors": "rows (train + test) with a non-blank target that is not valid JSON",
    "json.schema_violations": "rows (train + test) whose target parses but breaks the JSON Schema",
    "json.key_drift": "rows whose parsed object misses a required key or has a key the schema does not define",
    "labels.singletons": "values of the stratify field (category) that occur in exactly one train row",
}  # fmt: skip

LOG_EVENTS = ("wlan0: deauthenticated from {mac} reason 3", "dhcpd: DHCPACK on 192.168.{a}.{b} to {mac}",
              "kernel: eth{a} link down", "kernel: eth{a} link up 1000Mbps full duplex",
              "hostapd: STA {mac} IEEE 802.11: disassociated", "mesh: backhaul rssi -{b} dBm on channel {a}",
              "wanmgr: PPPoE session {b} timeout, retrying", "cloudlink: heartbeat failed code {b}",
              "ntpd: clock step {a}.{b} s", "dnsmasq: query[A] host-{b}.example.net from 192.168.{a}.{b}")  # fmt: skip


def _target(row: dict[str, Any]) -> str:
    """The target text exactly as tunegate's loader builds it."""
    value = row.get("ticket")
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)


def _input(row: dict[str, Any]) -> str:
    value = row.get("message")
    return "" if value is None else str(value)


def _drift(
    obj: dict[str, Any], required: list[str], props: list[str]
) -> tuple[list[str], list[str], list[str]]:
    missing = [key for key in required if key not in obj]
    extra = [key for key in obj if key not in props]
    renamed = []
    for key in list(extra):
        close = difflib.get_close_matches(key, missing, n=1, cutoff=0.6)
        if close:
            renamed.append(f"{key}->{close[0]}")
            extra.remove(key)
            missing.remove(close[0])
    if len(extra) == 1 and len(missing) == 1:
        renamed.append(f"{extra.pop()}->{missing.pop()}")
    return missing, extra, renamed


def _valid(obj: Any, schema: dict[str, Any]) -> bool:
    props = schema["properties"]
    if not isinstance(obj, dict) or any(key not in obj for key in schema["required"]):
        return False
    if any(key not in props for key in obj):
        return False
    for key, value in obj.items():
        spec = props[key]
        if not isinstance(value, str) or ("enum" in spec and value not in spec["enum"]):
            return False
        if not spec.get("minLength", 0) <= len(value) <= spec.get("maxLength", 10**9):
            return False
    return True


def count(
    train: list[dict[str, Any]], test: list[dict[str, Any]], schema: dict[str, Any]
) -> dict[str, Any]:
    """Each rule's flagged rows as "data/<split>.jsonl:<line>", plus key drift per key."""
    hits: dict[str, list[str]] = {name: [] for name in RULES}
    drift: dict[str, Counter[str]] = {
        "missing": Counter(),
        "extra": Counter(),
        "renamed": Counter(),
    }
    labels: Counter[str] = Counter()
    props, required = list(schema["properties"]), list(schema["required"])
    for split, rows in (("train", train), ("test", test)):
        for n, row in enumerate(rows, 1):
            where = f"data/{split}.jsonl:{n}"
            if "message" not in row:
                hits["rows.missing_fields"].append(where)
            elif not _input(row).strip():
                hits["rows.empty_inputs"].append(where)
            target = _target(row)
            if not target.strip():
                hits["rows.empty_targets"].append(where)
                continue
            try:
                obj = json.loads(target)
            except json.JSONDecodeError:
                hits["json.parse_errors"].append(where)
                continue
            if not _valid(obj, schema):
                hits["json.schema_violations"].append(where)
            if isinstance(obj, dict):
                missing, extra, renamed = _drift(obj, required, props)
                for kind, keys in (("missing", missing), ("extra", extra), ("renamed", renamed)):
                    drift[kind].update(keys)
                if missing or extra or renamed:
                    hits["json.key_drift"].append(where)
                if split == "train" and isinstance(obj.get("category"), str):
                    labels[obj["category"]] += 1
    hits["labels.singletons"] = sorted(label for label, c in labels.items() if c == 1)
    seen_inputs: set[str] = set()
    seen_pairs: set[tuple[str, str]] = set()
    index = NearIndex()
    for n, row in enumerate(train, 1):
        text = _input(row)
        if not text.strip():
            continue
        where = f"data/train.jsonl:{n}"
        pair = (text, _target(row))
        if pair in seen_pairs:
            hits["duplicates.train_exact"].append(where)
        elif text in seen_inputs:
            hits["duplicates.train_conflicting"].append(where)
        elif index.closest(text)[1] >= NEAR:
            hits["duplicates.train_near"].append(where)
        seen_pairs.add(pair)
        seen_inputs.add(text)
        index.add(text)
    for n, row in enumerate(test, 1):
        text = _input(row)
        if not text.strip():
            continue
        where = f"data/test.jsonl:{n}"
        if text in seen_inputs:
            hits["leakage.exact"].append(where)
        elif index.closest(text)[1] >= NEAR:
            hits["leakage.near"].append(where)
    return {"hits": hits, "key_drift": {kind: dict(sorted(c.items())) for kind, c in drift.items()}}


def _near_edit(rng: random.Random, text: str) -> str:
    """A small edit that keeps the text a near-duplicate (Jaccard >= 0.85, safely over 0.8)."""
    edits = [
        lambda t: t.lower().rstrip(".!?") if t.lower() != t else t.upper(),
        lambda t: t + " Any update?",
        lambda t: "Hi again, " + t[0].lower() + t[1:],
        lambda t: t.replace(".", "!", 1) + " Thanks",
    ]
    order = rng.sample(range(len(edits)), len(edits))
    for i in order:
        new = edits[i](text)
        if new != text and jaccard(shingles(new), shingles(text)) >= 0.85:
            return new
    raise ValueError(f"no near edit for {text!r}")


def _log_row(rng: random.Random) -> dict[str, Any]:
    product = rng.choice([p for p in k.PRODUCTS if p.kind == "router"])
    issue = next(i for i in k.ISSUES if i.key == "wifi_drops")
    lines = []
    for _ in range(30):
        mac = ":".join(f"{rng.randint(0, 255):02x}" for _ in range(6))
        event = rng.choice(LOG_EVENTS).format(mac=mac, a=rng.randint(0, 9), b=rng.randint(10, 254))
        lines.append(f"2024-03-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
                     f"{rng.randint(0, 59):02d} {product.code.lower()} {event}")  # fmt: skip
    message = (f"Hi, my {product.code} keeps dropping wifi. I exported the log from the app, "
               "here it is in full:\n" + "\n".join(lines) + "\nThanks")  # fmt: skip
    ticket = {"category": issue.category, "urgency": k.urgency(issue, product), "product": product.name,
              "summary": k.summary(issue, product)}  # fmt: skip
    return {"message": message, "ticket": ticket}


def _broken_json(kind: str, ticket: dict[str, Any]) -> str:
    text = json.dumps(ticket, ensure_ascii=False)
    if kind == "truncated":
        return text[:-20]
    if kind == "single_quotes":
        return str(ticket)
    if kind == "trailing_comma":
        return text[:-1] + ",}"
    return "{" + ", ".join(f"{key}: {value}" for key, value in ticket.items()) + "}"  # unquoted


def _rename(ticket: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    return {(new if key == old else key): value for key, value in ticket.items()}


def plant(
    rng: random.Random, clean_train: list[dict[str, Any]], clean_test: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """The dirty train and test rows, and the manifest of what was planted."""
    train, test = copy.deepcopy(clean_train), copy.deepcopy(clean_test)
    long_ok = [i for i, r in enumerate(train) if i > 0 and len(str(r["message"]).split()) >= 14]
    near_src = rng.sample(long_ok, 8)  # 5 near-duplicates in train, 3 near leaks into test
    rest = [i for i in range(1, len(train)) if i not in near_src]
    picked = rng.sample(rest, 12 + 19)
    copy_src, mutate = picked[:12], picked[12:]  # 6 exact, 2 conflicting, 4 exact leaks; 19 mutated

    new_train: list[dict[str, Any]] = []
    new_test: list[dict[str, Any]] = []
    for i in copy_src[:6]:
        new_train.append(copy.deepcopy(train[i]))
    for i in copy_src[6:8]:
        row = copy.deepcopy(train[i])
        row["ticket"]["urgency"] = next(u for u in k.URGENCIES if u != row["ticket"]["urgency"])
        new_train.append(row)
    for i in copy_src[8:12]:
        new_test.append(copy.deepcopy(train[i]))
    for i in near_src[:5]:
        new_train.append(
            {**copy.deepcopy(train[i]), "message": _near_edit(rng, str(train[i]["message"]))}
        )
    for i in near_src[5:]:
        new_test.append(
            {**copy.deepcopy(train[i]), "message": _near_edit(rng, str(train[i]["message"]))}
        )

    m = iter(mutate)
    for kind in ("truncated", "single_quotes", "unquoted"):
        row = train[next(m)]
        row["ticket"] = _broken_json(kind, row["ticket"])
    t = rng.randrange(len(test))
    test[t]["ticket"] = _broken_json("trailing_comma", test[t]["ticket"])
    for key, value in (("urgency", "urgent"), ("urgency", "P1"), ("product", "Skylark Router")):
        train[next(m)]["ticket"][key] = value
    for key in ("summary", "product"):
        del train[next(m)]["ticket"][key]
    for key, value in (("notes", "customer called twice"), ("sentiment", "angry")):
        train[next(m)]["ticket"][key] = value
    for old, new in (("urgency", "priority"), ("urgency", "priority"), ("product", "device")):
        row = train[next(m)]
        row["ticket"] = _rename(row["ticket"], old, new)
    train[next(m)]["ticket"] = ""
    train[next(m)]["ticket"] = None
    del train[next(m)]["ticket"]
    train[next(m)]["message"] = ""
    train[next(m)]["message"] = "   "
    del train[next(m)]["message"]
    assert next(m, None) is None

    overlong = [_log_row(rng) for _ in range(3)]
    singleton = {
        "message": "Dear Sir or Madam,\nI act for Ms R. Haddad, a customer of yours. Under data protection law "
        "she asks for a copy of all personal data Kestrel Home holds about her, within one month.\n"
        "Yours faithfully,\nM. Novak, Novak & Partners Solicitors",
        "ticket": {"category": SINGLETON, "urgency": "normal", "product": "none",
                   "summary": "Data access request from a solicitor"},
    }  # fmt: skip
    for row in [*new_train, *overlong, singleton]:
        train.insert(rng.randint(1, len(train)), row)
    for row in new_test:
        test.insert(rng.randint(0, len(test)), row)

    found = count(train, test, k.schema((*k.CATEGORIES, SINGLETON)))
    planted = {
        "rows.missing_fields": 1, "rows.empty_inputs": 2, "rows.empty_targets": 3,
        "duplicates.train_exact": 6, "duplicates.train_conflicting": 2, "duplicates.train_near": 5,
        "leakage.exact": 4, "leakage.near": 3, "json.parse_errors": 4, "json.schema_violations": 10,
        "json.key_drift": 7, "labels.singletons": 1,
    }  # fmt: skip
    for name, n in planted.items():
        assert len(found["hits"][name]) == n, (name, n, found["hits"][name])
    overlong_rows = [f"data/train.jsonl:{train.index(r) + 1}" for r in overlong]
    manifest = {
        "about": "Problems planted in a copy of examples/support-tickets by its generate.py. Each entry "
        "names the `tunegate check` item that must report it, the count it must show, the rule that "
        "count follows, and the rows (or label values) it flags.",
        "rows": {"train": len(train), "test": len(test)},
        "planted": {
            name: {"count": n, "rule": RULES[name], "rows": found["hits"][name]}
            for name, n in planted.items()
        }
        | {
            "length.over_train_cutoff": {
                "count": 3,
                "rule": RULES["length.over_train_cutoff"],
                "rows": overlong_rows,
            }
        },
        "key_drift": found["key_drift"],
        "schema_violations": {
            "wrong enum value": 3,
            "missing key": 2,
            "extra key": 2,
            "renamed key": 3,
        },
        "near_duplicate_rule": f"word-bigram shingles of the case-folded text, Jaccard >= {NEAR}",
    }
    return train, test, manifest
