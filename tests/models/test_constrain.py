"""Constrained decoding: grammars from constraints, and what they do to real model outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tunegate.errors import TunegateError
from tunegate.models.base import Constraint, GenRequest
from tunegate.models.constrain import Grammars, canonical_label, label_ebnf, label_token_cap
from tunegate.models.local import LocalGenerator

TICKET = {
    "type": "object",
    "properties": {
        "category": {"type": "string", "enum": ["billing", "technical", "account", "other"]},
        "urgency": {"type": "string", "enum": ["low", "medium", "high"]},
        "summary": {"type": "string", "maxLength": 60},
    },
    "required": ["category", "urgency", "summary"],
    "additionalProperties": False,
}
SYSTEM = (
    "You turn customer support messages into a JSON ticket with the keys category (billing, "
    "technical, account or other), urgency (low, medium or high) and summary (a short "
    "sentence). Reply with the JSON object only."
)
MESSAGES = [
    "I was charged twice for my subscription this month, please refund one payment.",
    "The app crashes every time I open the settings page.",
    "How do I change the email address on my account?",
    "Your website is down and I cannot pay my bill before the deadline today!",
]
LABELS = ("card_arrival", "card_linking", "exchange_rate", "lost_or_stolen_card", "pin_blocked")
ODD_LABELS = ('say "hi"', "back\\slash", "two\nlines", "card", "card_arrival", "ünï")


def tickets(constraint: Constraint | None, max_tokens: int = 64) -> list[GenRequest]:
    return [
        GenRequest(
            [{"role": "system", "content": SYSTEM}, {"role": "user", "content": m}],
            max_tokens=max_tokens,
            constraint=constraint,
        )
        for m in MESSAGES
    ]


def valid(text: str) -> bool:
    try:
        jsonschema.validate(json.loads(text), TICKET)
    except (ValueError, jsonschema.ValidationError):
        return False
    return True


@pytest.fixture(scope="module")
def grammars(tiny_gen: LocalGenerator) -> Grammars:
    return Grammars(tiny_gen.tokenizer, tiny_gen.vocab_size, tiny_gen.stop_ids)


def test_label_grammar_matches_raw_labels_only(grammars: Grammars) -> None:
    import xgrammar as xgr

    compiled = grammars.compiled(Constraint(labels=ODD_LABELS))
    for label in ODD_LABELS:
        m = xgr.GrammarMatcher(compiled)
        assert m.accept_string(label) and m.is_completed(), label
    for wrong in ('"card"', "car", "card_arrivals", "say hi"):
        m = xgr.GrammarMatcher(compiled)
        assert not (m.accept_string(wrong) and m.is_completed()), wrong
    assert label_ebnf(["a", "a", "B"]) == 'root ::= "a" | "B" | "A" | "b"'


def test_label_spellings_map_back_to_the_canonical_label() -> None:
    labels = ("card_arrival", "Refund_not_showing_up", "x", "X")
    assert canonical_label("Card_arrival", labels) == "card_arrival"
    assert canonical_label("refund_not_showing_up", labels) == "Refund_not_showing_up"
    assert canonical_label("X", labels) == "X" and canonical_label("x", labels) == "x"
    assert canonical_label("neither", labels) == "neither"
    assert label_token_cap(labels) == len("Refund_not_showing_up") + 1


def test_compiled_once_per_constraint(grammars: Grammars) -> None:
    c = Constraint(json_schema=TICKET)
    assert grammars.compiled(c) is grammars.compiled(Constraint(json_schema=dict(TICKET)))
    assert grammars.compiled(Constraint()) is None


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        (Constraint(json_schema={"type": "object"}, any_json=True), "takes one of"),
        (Constraint(labels=()), "at least one label"),
        (Constraint(labels=("a", "")), "none of them empty"),
        (Constraint(json_schema={"type": "nonsense"}), "cannot compile the JSON Schema"),
    ],
)
def test_bad_constraints_are_one_line_errors(
    grammars: Grammars, constraint: Constraint, message: str
) -> None:
    with pytest.raises(TunegateError, match=message) as err:
        grammars.compiled(constraint)
    assert "\n" not in str(err.value)


def test_constrained_batch_equals_one_at_a_time(tiny_gen: LocalGenerator) -> None:
    reqs = [
        GenRequest(
            [{"role": "user", "content": m}],
            max_tokens=12,
            constraint=Constraint(labels=LABELS) if i % 2 == 0 else None,
        )
        for i, m in enumerate(MESSAGES * 2)
    ]
    gens = tiny_gen.generate(reqs)  # constrained and free rows mixed in each batch
    for req, gen in zip(reqs, gens, strict=True):
        assert gen.text == tiny_gen.generate([req])[0].text
        if req.constraint is not None:
            assert gen.text in LABELS and gen.extra["finish"] == "stop"
        else:
            assert gen.output_tokens == 12


def test_model_vocab_larger_than_tokenizer(tmp_path: Path, tiny_llama: Path) -> None:
    """Logits past the tokenizer's vocabulary (lm_head padding) are never chosen."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(tiny_llama)
    config = LlamaConfig.from_pretrained(tiny_llama)
    config.vocab_size = len(tok) + 64
    model = LlamaForCausalLM(config)
    with __import__("torch").no_grad():
        model.lm_head.weight[len(tok) :] = 5.0  # make the padding ids the model's favourites
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    gen = LocalGenerator(tmp_path, batch_size=4)
    assert gen.vocab_size == len(tok) + 64
    reqs = [GenRequest([{"role": "user", "content": m}], max_tokens=4) for m in MESSAGES[:2]]
    reqs.append(GenRequest(reqs[0].messages, max_tokens=2, constraint=Constraint(labels=LABELS)))
    free_a, free_b, labelled = gen.generate(reqs)
    assert free_a.output_tokens == 4 and free_a.text  # decodable tokens only
    assert labelled.text in LABELS  # max_tokens=2 is raised so that a label always finishes


def test_unconstrained_json_often_fails_constrained_always_validates(
    embedded_gen: LocalGenerator,
) -> None:
    free = embedded_gen.generate(tickets(None))
    held = embedded_gen.generate(tickets(Constraint(json_schema=TICKET)))
    assert sum(not valid(g.text) for g in free) >= len(free) // 2
    assert all(valid(g.text) for g in held), [g.text for g in held]
    assert all(g.extra["finish"] == "stop" for g in held)


def test_any_json_object_and_labels_on_the_embedded_model(embedded_gen: LocalGenerator) -> None:
    objects = embedded_gen.generate(tickets(Constraint(any_json=True), max_tokens=24))
    for g in objects:  # an object that is complete, or cut by max_tokens while still inside it
        assert g.text.startswith("{")
        if g.extra["finish"] == "stop":
            assert isinstance(json.loads(g.text), dict)
    queries = ["I lost my card yesterday", "What rate do you use for euros?", "My PIN is blocked"]
    reqs: list[Any] = [
        GenRequest(
            [
                {"role": "system", "content": "Answer with the intent label: " + ", ".join(LABELS)},
                {"role": "user", "content": q},
            ],
            max_tokens=16,
            constraint=Constraint(labels=LABELS),
        )
        for q in queries
    ]
    assert all(g.text in LABELS for g in embedded_gen.generate(reqs))


def test_an_inferred_schema_bounds_what_decoding_may_write(grammars: Grammars) -> None:
    """The bounds a draft schema draws from the data (maxItems, maxProperties, maxLength) are
    enforced by the grammar decoding uses, so a model that repeats an element, fills every
    optional key or writes digits forever is stopped; uniqueItems is not enforced."""
    from tunegate.data.schema_infer import infer_schema

    rows = [
        {"intents": ["pin", "card"][: 1 + i % 2], "slots": {"date": "today"} if i % 3 else {}}
        for i in range(12)
    ] + [{"intents": [], "slots": {"amount": "20 pounds", "name": "Ann"}}]
    schema = infer_schema([(str(i), r) for i, r in enumerate(rows)])

    def unbounded(s: Any) -> Any:
        drop = ("maxItems", "maxProperties", "maxLength")
        return (
            {k: unbounded(v) for k, v in s.items() if k not in drop} if isinstance(s, dict) else s
        )

    def accepts(sch: dict[str, Any], text: str) -> bool:
        matcher = grammars.matcher(Constraint(json_schema=sch))
        return bool(matcher.accept_string(text)) and bool(matcher.is_completed())

    ok = '{"intents": ["pin", "card"], "slots": {"amount": "20 pounds", "name": "Ann"}}'
    too_long = [
        '{"intents": ["pin", "pin", "pin"], "slots": {}}',  # maxItems 2
        '{"intents": [], "slots": {"amount": "1", "date": "2", "name": "3"}}',  # maxProperties 2
        '{"intents": [], "slots": {"date": "' + "1" * 11 + '"}}',  # maxLength 10 ("today" x2)
    ]
    assert accepts(schema, ok) and not accepts(schema, ok[:-1])  # whole answers only
    assert accepts(schema, '{"intents": ["pin", "pin"], "slots": {}}')  # a repeat gets through
    for text in too_long:
        assert not accepts(schema, text), text
        assert accepts(unbounded(schema), text), text


@pytest.mark.parametrize(
    ("schema", "named"),
    [
        (
            {"type": "object", "properties": {"a": {"not": {"type": "string"}}}},
            "`not` at #/properties/a",
        ),
        ({"allOf": [{"type": "integer"}, {"minimum": 3}]}, "`allOf` with 2 schemas at #"),
        ({"type": "string", "pattern": "(?=a)b"}, "lookaround or backreference in `pattern`"),
        ({"properties": {"x": {"$ref": "http://x/y"}}}, "`$ref` to another document"),
        ({"if": {"const": 1}, "then": {"const": 2}}, "`if`/`then`/`else` at #"),
    ],
)
def test_a_schema_feature_xgrammar_would_ignore_is_refused_by_name(
    schema: dict[str, Any], named: str, grammars: Grammars
) -> None:
    import xgrammar as xgr

    from tunegate.models.schema_support import unsupported_feature

    found = unsupported_feature(schema)
    assert found is not None and named in found
    # refused because xgrammar would compile it and let an invalid answer through
    xgr.Grammar.from_json_schema(json.dumps(schema), any_whitespace=False)
    with pytest.raises(TunegateError, match="cannot enforce") as err:
        grammars.compiled(Constraint(json_schema=schema))
    assert "\n" not in str(err.value) and named in str(err.value)


def test_enforced_features_pass_the_check() -> None:
    from tunegate.models.schema_support import unsupported_feature

    schema = {
        "type": "object",
        "properties": {
            "not": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 8},  # a field named not
            "n": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]},
            "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}, "maxItems": 3},
        },
        "required": ["not", "n"],
        "additionalProperties": False,
        "$defs": {"tag": {"enum": ["a", "b"]}},
    }
    assert unsupported_feature(schema) is None
