"""Skill-definition readers: fixtures, exact offsets, error reporting and mutation robustness."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import pytest

from edge_nlu.definitions import (
    FORMATS,
    DefinitionError,
    read_alexa,
    read_bio,
    read_definition,
    read_jsonl,
    read_rasa,
    read_snips,
)
from edge_nlu.definitions._yaml import parse_yaml, to_python
from edge_nlu.definitions.builtins import BUILTIN_INTENT_SAMPLES, builtin_values

FIX = Path(__file__).parent / "fixtures"
ALEXA = FIX / "pizza_alexa.json"
SNIPS = FIX / "lights_snips.json"
RASA = FIX / "restaurant_rasa.yml"
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if not DATA.is_dir():
    DATA = Path("/work/shared/data")


def check_spans(d) -> None:
    for u in d.utterances():
        slots = {s.name for s in d.intents[u.intent].slots}
        for s in u.slots:
            assert 0 <= s.start < s.end <= len(u.text)
            assert u.text[s.start : s.end] == s.value, (u.text, s)
            assert s.slot in slots
        for a, b in zip(u.slots, u.slots[1:], strict=False):
            assert a.end <= b.start


def dump(d) -> list:
    return [u.to_dict() for u in d.utterances()]


# ------------------------------------------------------------------------------------------------------ Alexa


def test_alexa_fixture():
    d = read_alexa(ALEXA)
    assert d.name == "pizza_palace" and d.invocation_name == "pizza palace"
    assert list(d.intents) == [
        "AMAZON.StopIntent",
        "AMAZON.CancelIntent",
        "AMAZON.HelpIntent",
        "OrderPizza",
        "CheckOrderStatus",
    ]
    assert [(s.name, s.type) for s in d.intents["OrderPizza"].slots] == [
        ("size", "PizzaSize"),
        ("topping", "Topping"),
        ("count", "AMAZON.NUMBER"),
    ]
    check_spans(d)
    for name in ("AMAZON.StopIntent", "AMAZON.CancelIntent", "AMAZON.HelpIntent"):
        texts = [u.text for u in d.intents[name].utterances]
        assert len(texts) >= 10 and texts == BUILTIN_INTENT_SAMPLES[name]
    assert d.slot_types["AMAZON.NUMBER"].builtin
    size = d.slot_types["PizzaSize"]
    assert not size.builtin
    assert [(v.value, v.id, v.synonyms) for v in size.values][2] == ("large", "LARGE", ["big", "family size"])
    assert d.slot_types["Topping"].values[4].id is None
    # every custom value and synonym is used at least once
    used = {s.value for u in d.utterances() for s in u.slots}
    for t in ("PizzaSize", "Topping"):
        for v in d.slot_types[t].values:
            assert {v.value, *v.synonyms} <= used
    counts = [u.value for u in d.utterances() for u in u.slots if u.slot == "count"]
    assert counts and set(counts) <= set(builtin_values("AMAZON.NUMBER"))
    order = d.intents["OrderPizza"].utterances
    assert len(order) <= 7 * 20 and len({u.text for u in order}) == len(order)
    assert sum(1 for u in order if u.text == "order a pizza") == 1
    assert d.stats["templates"] == 10
    assert d.stats["utterances"] == len(d.utterances())
    assert d.stats["builtin_samples"] == sum(len(BUILTIN_INTENT_SAMPLES[n]) for n in list(d.intents)[:3])
    assert d.stats["intents"] == 5 and d.stats["builtin_slot_types"] == 1
    assert all(u.skill == "pizza_palace" for u in d.utterances())


def test_alexa_deterministic_and_bounded():
    assert dump(read_alexa(ALEXA)) == dump(read_alexa(ALEXA))
    assert dump(read_alexa(ALEXA, seed=1)) != dump(read_alexa(ALEXA))
    d = read_alexa(ALEXA, max_per_template=1)
    assert len(d.intents["OrderPizza"].utterances) == 7
    check_spans(d)
    d = read_alexa(ALEXA, max_per_template=3)
    assert len(d.intents["OrderPizza"].utterances) == 6 * 3 + 1
    assert d.stats["capped_templates"] == 6


def _alexa_with(tmp_path, intents, types=(), name="m.json"):
    p = tmp_path / name
    model = {"interactionModel": {"languageModel": {"invocationName": "test skill", "intents": intents}}}
    model["interactionModel"]["languageModel"]["types"] = list(types)
    p.write_text(json.dumps(model, indent=2))
    return p


def test_alexa_builtin_types_and_unknown_amazon(tmp_path, caplog):
    slots = [
        {"name": "when", "type": "AMAZON.DATE"},
        {"name": "at", "type": "AMAZON.TIME"},
        {"name": "howlong", "type": "AMAZON.DURATION"},
        {"name": "pin", "type": "AMAZON.FOUR_DIGIT_NUMBER"},
        {"name": "nth", "type": "AMAZON.Ordinal"},
        {"name": "who", "type": "AMAZON.US_FIRST_NAME"},
        {"name": "what", "type": "AMAZON.Mystery"},
    ]
    intents = [
        {"name": "Book", "slots": slots, "samples": ["book {when} at {at} for {howlong}", "{nth} {pin} {who} {what}"]},
        {"name": "AMAZON.FallbackIntent", "samples": []},
        {"name": "AMAZON.YesIntent"},
        {"name": "AMAZON.SomeNewIntent", "samples": []},
    ]
    with caplog.at_level(logging.WARNING):
        d = read_alexa(_alexa_with(tmp_path, intents))
    assert "AMAZON.Mystery" in caplog.text and "AMAZON.SomeNewIntent" in caplog.text
    assert "AMAZON.SomeNewIntent" not in d.intents and d.stats["skipped_intents"] == 1
    assert all(d.slot_types[s["type"]].builtin for s in slots)
    assert len(d.intents["AMAZON.FallbackIntent"].utterances) >= 10
    assert len(d.intents["AMAZON.YesIntent"].utterances) >= 10
    check_spans(d)
    for t, example in [
        ("AMAZON.DATE", "next friday"),
        ("AMAZON.TIME", "seven thirty pm"),
        ("AMAZON.DURATION", "an hour and a half"),
        ("AMAZON.NUMBER", "twenty five"),
        ("AMAZON.Ordinal", "twenty first"),
    ]:
        assert example in builtin_values(t)


# ------------------------------------------------------------------------------------------------------ Snips


def test_snips_fixture():
    d = read_snips(SNIPS)
    assert d.name == "lights_snips"
    assert list(d.intents) == ["turnLightOn", "turnLightOff", "setBrightness"]
    check_spans(d)
    u = d.intents["turnLightOn"].utterances[2]
    assert u.text == "lights on in the lounge at seven pm"
    assert [(s.slot, s.start, s.end, s.value) for s in u.slots] == [
        ("room", 17, 23, "lounge"),
        ("when", 27, 35, "seven pm"),
    ]
    assert [(s.name, s.type) for s in d.intents["setBrightness"].slots] == [("room", "room"), ("level", "snips/number")]
    assert d.slot_types["snips/datetime"].builtin and d.slot_types["snips/number"].builtin
    room = d.slot_types["room"]
    assert not room.builtin and not room.extensible
    assert [(v.value, v.synonyms) for v in room.values] == [
        ("kitchen", ["cooking room"]),
        ("living room", ["lounge", "sitting room"]),
        ("bedroom", []),
        ("garage", []),  # annotated in an utterance, added to the catalog
    ]
    assert d.stats == {
        "intents": 3,
        "utterances": 9,
        "slot_types": 3,
        "builtin_slot_types": 2,
        "values": 4,
        "synonyms": 3,
        "values_from_utterances": 1,
        "unused_entities": 0,
    }
    assert dump(read_snips(SNIPS)) == dump(d)


# ------------------------------------------------------------------------------------------------------ Rasa


def test_rasa_fixture():
    d = read_rasa(RASA)
    assert d.name == "restaurant_rasa"
    assert list(d.intents) == ["greet", "search_restaurant", "goodbye"]
    check_spans(d)
    assert [u.text for u in d.intents["goodbye"].utterances] == ["bye", "see you later", "goodbye"]
    ex = d.intents["search_restaurant"].utterances
    assert ex[4].text == "i want chinese food in paris"
    assert [(s.slot, s.start, s.end, s.value) for s in ex[4].slots] == [
        ("cuisine", 7, 14, "chinese"),
        ("city.destination", 23, 28, "paris"),
    ]
    assert [(s.slot, s.value) for s in ex[3].slots] == [("price", "inexpensive"), ("cuisine", "thai")]
    slots = {s.name: s.type for s in d.intents["search_restaurant"].slots}
    assert slots == {
        "price": "price",
        "cuisine": "cuisine",
        "city": "city",
        "location": "location",
        "city.destination": "city",
    }
    price = {v.value: v.synonyms for v in d.slot_types["price"].values}
    assert price == {"cheap": ["inexpensive", "budget friendly", "low cost"], "expensive": ["pricey"]}
    cuisine = {v.value: v.synonyms for v in d.slot_types["cuisine"].values}
    assert cuisine["chinese"] == ["chines", "chineese"]
    assert [v.value for v in d.slot_types["city"].values] == ["berlin", "paris", "london", "new york"]
    assert d.stats["utterances"] == 13 and d.stats["regexes_ignored"] == 1 and d.stats["lookups"] == 1
    assert d.stats["synonym_groups"] == 2 and d.stats["unattached_synonyms"] == 0
    assert dump(read_rasa(RASA)) == dump(d)


def test_yaml_subset():
    text = (
        "---\na: 1\nb: 'it''s'\nc: \"x\\ty\"\nd: [x, 'y z', 3]\ne: {k: v}\nf: |-\n  l1\n\n  l2\ng: >\n  a\n  b\n"
        "h:\n- - n1\n  - n2\n- k: v\n  k2: ~\ni: |+\n  keep\n\nj: end  # comment\n"
    )
    assert to_python(parse_yaml(text)) == {
        "a": 1,
        "b": "it's",
        "c": "x\ty",
        "d": ["x", "y z", 3],
        "e": {"k": "v"},
        "f": "l1\n\nl2",
        "g": "a b\n",
        "h": [["n1", "n2"], {"k": "v", "k2": None}],
        "i": "keep\n\n",
        "j": "end",
    }
    node = parse_yaml("x:\n  y: |\n    first\n    second\n")
    assert node.items["x"].items["y"].line == 3


# ------------------------------------------------------------------------------------------------------ BIO, API


@pytest.mark.skipif(not (DATA / "snips" / "bio" / "test").is_dir(), reason="shared data not available")
def test_bio_matches_jsonl():
    bio = read_bio(DATA / "snips" / "bio" / "test")
    assert bio == read_bio(DATA / "snips" / "bio", split="test")
    ref = read_jsonl(DATA / "snips" / "test.jsonl")
    assert len(bio) == len(ref) == 700
    for a, b in zip(bio, ref, strict=True):
        assert (a.text, a.intent, a.slots) == (b.text, b.intent, b.slots)


def _bio(tmp_path, seq_in, seq_out, label):
    f = tmp_path / "bio"
    f.mkdir(exist_ok=True)
    (f / "seq.in").write_text(seq_in)
    (f / "seq.out").write_text(seq_out)
    (f / "label").write_text(label)
    return f


def test_bio_small_and_definition(tmp_path):
    f = _bio(tmp_path, "play  some jazz \nhi\n", "O O B-genre\nO\n", "PlayMusic\nGreet\n")
    rows = read_bio(f)
    assert rows[0].text == "play some jazz" and rows[0].slots[0].value == "jazz" and rows[0].slots[0].start == 10
    d = read_definition(f, name="music")
    assert d.name == "music" and list(d.intents) == ["PlayMusic", "Greet"]


def test_read_definition(tmp_path):
    assert FORMATS == ("alexa", "snips", "rasa", "jsonl", "bio")
    assert read_definition(ALEXA).name == "pizza_palace"
    assert read_definition(SNIPS).name == "lights_snips"
    assert read_definition(RASA, format="rasa", name="food").name == "food"
    rows = [
        {"text": "wake me at six", "intent": "alarm_set", "skill": "alarm", "slots": []},
        {"text": "play jazz", "intent": "play", "skill": "music", "slots": [{"slot": "genre", "start": 5, "end": 9}]},
    ]
    p = tmp_path / "two.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(DefinitionError, match="alarm, music"):
        read_definition(p)
    assert list(read_definition(p, name="music").intents) == ["play"]
    with pytest.raises(DefinitionError, match="no skill 'nope'"):
        read_definition(p, name="nope")
    with pytest.raises(DefinitionError, match="unknown format"):
        read_definition(p, format="lex")
    q = tmp_path / "x.txt"
    q.write_text("hello")
    with pytest.raises(DefinitionError, match="cannot tell the format"):
        read_definition(q)


# ------------------------------------------------------------------------------------------------------ errors


def _line(text: str, marker: str) -> int:
    return text[: text.index(marker)].count("\n") + 1


A = ALEXA.read_text()
S = SNIPS.read_text()
R = RASA.read_text()

# (id, reader, base text, old, new, field fragment or None, line marker (in the mutated text) or None, message)
CASES = [
    (
        "alexa-unknown-slot",
        "alexa",
        A,
        "{count} pizzas please",
        "{Foo} pizzas please",
        "intents[3].samples[3]",
        "{Foo} pizzas",
        "unknown slot {Foo}",
    ),
    (
        "alexa-unbalanced-open",
        "alexa",
        A,
        "i want a {size} pizza",
        "i want a {size pizza",
        "intents[3].samples[0]",
        "{size pizza",
        "unbalanced '{'",
    ),
    (
        "alexa-unbalanced-close",
        "alexa",
        A,
        'order a pizza"',
        'order a pizza}"',
        "intents[3].samples[6]",
        "order a pizza}",
        "unbalanced '}'",
    ),
    (
        "alexa-empty-intent",
        "alexa",
        A,
        '"samples": ["where is my order", "how long until my pizza arrives", "is my pizza on its way"]',
        '"samples": []',
        "intents[4].samples",
        '"samples": []\n',
        "has no samples",
    ),
    (
        "alexa-dup-intent",
        "alexa",
        A,
        '"name": "CheckOrderStatus"',
        '"name": "OrderPizza"',
        "intents[4].name",
        '"name": "OrderPizza",\n          "samples": ["where',
        "duplicate intent",
    ),
    (
        "alexa-dup-slot",
        "alexa",
        A,
        '"name": "count", "type"',
        '"name": "size", "type"',
        "intents[3].slots[2].name",
        '"name": "size", "type": "AMAZON',
        "duplicate slot",
    ),
    (
        "alexa-dup-type",
        "alexa",
        A,
        '"name": "Topping",',
        '"name": "PizzaSize",',
        "types[1].name",
        '"name": "PizzaSize",\n          "values": [\n            {"id": "PEP"',
        "duplicate slot type",
    ),
    (
        "alexa-unknown-type",
        "alexa",
        A,
        '"type": "Topping"',
        '"type": "Toppings"',
        "intents[3].slots[1].type",
        '"Toppings"',
        "unknown slot type",
    ),
    (
        "alexa-samples-not-list",
        "alexa",
        A,
        '"samples": ["where is my order", "how long until my pizza arrives", "is my pizza on its way"]',
        '"samples": "where is my order"',
        "intents[4].samples",
        '"samples": "where',
        "must be a list",
    ),
    (
        "alexa-sample-not-str",
        "alexa",
        A,
        '"{count} pizzas please"',
        "42",
        "intents[3].samples[3]",
        "42,",
        "must be a non-empty string",
    ),
    (
        "alexa-bad-json",
        "alexa",
        A,
        '"order a pizza"\n',
        '"order a pizza",\n',
        None,
        ']\n        },\n        {\n          "name": "CheckOrderStatus"',
        "bad JSON",
    ),
    (
        "alexa-no-values",
        "alexa",
        A,
        '"values": [\n            {"id": "SMALL"',
        '"values": [], "x": [\n            {"id": "SMALL"',
        "types[0].values",
        '"values": [], "x"',
        "has no values",
    ),
    ("alexa-root", "alexa", A, A, "[1, 2]", None, None, "JSON object"),
    ("alexa-not-alexa", "alexa", A, '"interactionModel"', '"model"', None, None, "interactionModel"),
    (
        "alexa-synonyms-type",
        "alexa",
        A,
        '"synonyms": ["regular"]',
        '"synonyms": "regular"',
        "types[0].values[1].name.synonyms",
        '"synonyms": "regular"',
        "must be a list",
    ),
    (
        "snips-unknown-entity",
        "snips",
        S,
        '"entity": "room", "slot_name": "room"}, {"text": " light"}',
        '"entity": "rooms", "slot_name": "room"}, {"text": " light"}',
        "intents.turnLightOff.utterances[0].data[1].entity",
        '"rooms"',
        "unknown entity",
    ),
    (
        "snips-utterances-type",
        "snips",
        S,
        '"utterances": [\n        {"data": [{"text": "set',
        '"utterances": 7, "x": [\n        {"data": [{"text": "set',
        "intents.setBrightness.utterances",
        '"utterances": 7',
        "must be a list",
    ),
    (
        "snips-chunk-text",
        "snips",
        S,
        '{"text": "dim the lights to "}',
        '{"text": 5}',
        "intents.setBrightness.utterances[1].data[0].text",
        '{"text": 5}',
        "must be a string",
    ),
    (
        "snips-empty-intent",
        "snips",
        S,
        '"turnLightOff": {\n      "utterances": [',
        '"turnLightOff": {\n      "utterances": [], "x": [',
        "intents.turnLightOff.utterances",
        '"utterances": [], "x"',
        "has no utterances",
    ),
    (
        "snips-dup-intent",
        "snips",
        S,
        '"setBrightness"',
        '"turnLightOn"',
        None,
        '"turnLightOn": {\n      "utterances": [\n        {"data": [{"text": "set',
        "duplicate key 'turnLightOn'",
    ),
    (
        "snips-slot-conflict",
        "snips",
        S,
        '"entity": "snips/number", "slot_name": "level"}, {"text": " percent"}',
        '"entity": "room", "slot_name": "level"}, {"text": " percent"}',
        "utterances[1].data[1].entity",
        '"entity": "room", "slot_name": "level"',
        "has entity 'room' here",
    ),
    ("snips-bad-json", "snips", S, '"language": "en",', '"language": "en"', None, '"intents": {', "bad JSON"),
    (
        "snips-synonyms-type",
        "snips",
        S,
        '"synonyms": ["cooking room"]',
        '"synonyms": [1]',
        "entities.room.data[0].synonyms[0]",
        '"synonyms": [1]',
        "must be a string",
    ),
    (
        "rasa-unbalanced",
        "rasa",
        R,
        "[cheap](price) place",
        "[cheap(price) place",
        "nlu[1].examples",
        "[cheap(price)",
        "unbalanced '['",
    ),
    ("rasa-stray-close", "rasa", R, "- hello there", "- hello] there", "nlu[0].examples", "hello]", "unbalanced ']'"),
    (
        "rasa-no-entity",
        "rasa",
        R,
        "[the station](location)",
        "[the station]",
        "nlu[1].examples",
        "[the station]",
        "must be followed by",
    ),
    (
        "rasa-bad-markup-json",
        "rasa",
        R,
        '{"entity": "cuisine", "value": "chinese"}',
        '{"entity": "cuisine", value}',
        "nlu[1].examples",
        "value}",
        "bad JSON",
    ),
    (
        "rasa-dup-intent",
        "rasa",
        R,
        "- intent: goodbye",
        "- intent: greet",
        "nlu[2].intent",
        "- intent: greet\n  examples: |-",
        "duplicate intent",
    ),
    (
        "rasa-not-dash",
        "rasa",
        R,
        "    - good morning",
        "    good morning",
        "nlu[0].examples",
        "    good morning",
        "must start with '- '",
    ),
    ("rasa-anchor", "rasa", R, "- intent: greet", "- intent: &g greet", None, "&g", "anchors"),
    ("rasa-tag", "rasa", R, 'version: "3.1"', "version: !!str 3.1", None, "!!str", "tags"),
    (
        "rasa-tab",
        "rasa",
        R,
        "- intent: goodbye\n  examples",
        "- intent: goodbye\n\texamples",
        None,
        "\texamples",
        "tabs",
    ),
    (
        "rasa-indent",
        "rasa",
        R,
        "- intent: goodbye\n  examples",
        "- intent: goodbye\n     examples",
        None,
        "     examples",
        "indentation",
    ),
    (
        "rasa-dup-key",
        "rasa",
        R,
        "- intent: greet\n",
        "- intent: greet\n  intent: hi\n",
        None,
        "intent: hi",
        "duplicate key",
    ),
    ("rasa-flow-nested", "rasa", R, 'version: "3.1"', "version: [a, [b]]", None, "[a, [b]]", "nested flow"),
    ("rasa-unterminated", "rasa", R, 'version: "3.1"', 'version: "3.1', None, 'version: "3.1', "unterminated"),
    ("rasa-no-nlu", "rasa", R, "nlu:", "data:", None, None, "missing required field 'nlu'"),
    (
        "rasa-no-examples",
        "rasa",
        R,
        "- intent: goodbye",
        "- intent: empty\n  examples: ''\n- intent: goodbye",
        "nlu[2].examples",
        "- intent: empty",
        "has no examples",
    ),
    ("rasa-unknown-item", "rasa", R, "- regex: zipcode", "- pattern: zipcode", "nlu[6]", "- pattern", "exactly one"),
    ("rasa-two-docs", "rasa", R, "- regex: zipcode", "---\n- regex: zipcode", None, "---\n- regex", "several"),
    ("rasa-plain-multiline", "rasa", R, 'version: "3.1"', "version: 3.1\n  more", None, "  more", "multi-line"),
]


def _write(tmp_path: Path, fmt: str, data: str | bytes) -> Path:
    p = tmp_path / {"alexa": "model.json", "snips": "dataset.json", "rasa": "nlu.yml"}[fmt]
    p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return p


READERS = {"alexa": read_alexa, "snips": read_snips, "rasa": read_rasa}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_error_cases(tmp_path, case):
    _, fmt, base, old, new, field, marker, message = case
    assert old in base, "the case no longer applies to the fixture"
    text = base.replace(old, new, 1)
    p = _write(tmp_path, fmt, text)
    with pytest.raises(DefinitionError) as ei:
        READERS[fmt](p)
    e = ei.value
    assert e.file == str(p) and str(p) in str(e)
    assert message in e.message, str(e)
    if field is not None:
        assert e.field is not None and field in e.field, str(e)
    if marker is not None:
        assert e.line == _line(text, marker), str(e)
        assert f"{p}:{e.line}" in str(e)


@pytest.mark.parametrize("fmt", ["alexa", "snips", "rasa"])
def test_file_level_errors(tmp_path, fmt):
    with pytest.raises(DefinitionError, match="cannot read") as ei:
        READERS[fmt](tmp_path / "missing.json")
    assert ei.value.file.endswith("missing.json")
    base = {"alexa": A, "snips": S, "rasa": R}[fmt].encode()
    cut = base.index(b"\n", len(base) // 2) + 1
    p = _write(tmp_path, fmt, base[:cut] + b"caf\xe9\n" + base[cut:])
    with pytest.raises(DefinitionError, match="not valid UTF-8") as ei:
        READERS[fmt](p)
    assert ei.value.line == base[:cut].count(b"\n") + 1
    deep = (
        "[" * 50000 + "]" * 50000 if fmt != "rasa" else "a:\n" + "".join(" " * i + "- b:\n" for i in range(0, 400, 2))
    )
    p = _write(tmp_path, fmt, deep)
    with pytest.raises(DefinitionError, match="nested too deeply|must|JSON object|mapping"):
        READERS[fmt](p)
    p = _write(tmp_path, fmt, "- " * 3000 + "x\n" if fmt == "rasa" else '{"a": ' * 5000 + "1" + "}" * 5000)
    with pytest.raises(DefinitionError):
        READERS[fmt](p)


def test_bio_errors(tmp_path):
    f = _bio(tmp_path, "play some jazz\nhi there\n", "O O B-genre\nO\n", "PlayMusic\nGreet\n")
    with pytest.raises(DefinitionError) as ei:
        read_bio(f)
    assert ei.value.file.endswith("seq.out") and ei.value.line == 2 and "1 tags for 2 words" in str(ei.value)
    f = _bio(tmp_path, "play some jazz\nhi\n", "O O X-genre\nO\n", "PlayMusic\nGreet\n")
    with pytest.raises(DefinitionError, match=r"seq.out:1: bad tag 'X-genre'"):
        read_bio(f)
    f = _bio(tmp_path, "play some jazz\nhi\n", "O O B-genre\nO\n", "PlayMusic\n")
    with pytest.raises(DefinitionError, match="different line counts") as ei:
        read_bio(f)
    assert ei.value.file.endswith("label")
    (f / "label").unlink()
    with pytest.raises(DefinitionError, match="missing label"):
        read_bio(f)
    with pytest.raises(DefinitionError, match="no such folder"):
        read_bio(tmp_path / "nope")
    if (DATA / "snips" / "bio").is_dir():
        with pytest.raises(DefinitionError, match="dev, test, train"):
            read_bio(DATA / "snips" / "bio")


# ------------------------------------------------------------------------------------------------------ mutations

_WRONG = [None, 0, -1, 3.5, True, "", "x", [], {}, ["a", 1], {"k": None}, [[[[]]]]]
_YAML_JUNK = ["&a ", "*a", "!!t ", "? ", "{", "}", "[", "]", ":", ": ", "- ", "|", ">", "#", "'", '"', "\t", "%", "---"]


def _json_paths(obj, path=()):
    yield path
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _json_paths(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _json_paths(v, path + (i,))


def _set(obj, path, value):
    if not path:
        return value
    cur = obj
    for step in path[:-1]:
        cur = cur[step]
    cur[path[-1]] = value
    return obj


def _mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(5)
        i = rng.randrange(len(b) + 1) if b else 0
        n = rng.randint(1, 12)
        if op == 0:
            del b[i : i + n]
        elif op == 1:
            b[i:i] = b[i : i + n]
        elif op == 2 and b:
            j = min(i, len(b) - 1)
            b[j] ^= 1 << rng.randrange(8)
        elif op == 3:
            b = b[:i]
        else:
            b[i:i] = rng.choice([b"{", b"}", b"[", b"]", b"(", b")", b'"', b"\\", b":", b",", b"\n", b"\xff", b"\xc3"])
    return bytes(b)


def _mutate_json(rng: random.Random, text: str) -> str:
    obj = json.loads(text)
    paths = list(_json_paths(obj))
    for _ in range(rng.randint(1, 2)):
        path = rng.choice(paths)
        if rng.random() < 0.1:
            value = "__DEEP__" if rng.random() < 0.5 else {"d": [[[[{"e": []}]]]]}
        else:
            value = rng.choice(_WRONG)
        try:
            obj = _set(obj, path, json.loads(json.dumps(value)))
        except (KeyError, IndexError, TypeError):
            pass
        paths = list(_json_paths(obj)) if not isinstance(obj, list) or len(obj) < 100 else [()]
    try:
        out = json.dumps(obj, indent=rng.choice([None, 2]))
    except RecursionError:
        return text
    return out.replace('"__DEEP__"', "[" * 3000 + "]" * 3000)


def _mutate_yaml(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        op = rng.randrange(5)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif op == 2:
            lines[i] = " " * rng.randint(1, 3) + lines[i] if rng.random() < 0.5 else lines[i].lstrip()
        elif op == 3:
            j = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:j] + rng.choice(_YAML_JUNK) + lines[i][j:]
        else:
            lines.insert(i, "  " * rng.randint(0, 200) + "- " * rng.randint(1, 300) + "x")
    return "\n".join(lines)


@pytest.mark.parametrize("fmt", ["alexa", "snips", "rasa"])
def test_mutations_never_crash(tmp_path, fmt):
    base = {"alexa": A, "snips": S, "rasa": R}[fmt]
    rng = random.Random(f"mutations-{fmt}")
    reader = READERS[fmt]
    outcomes = {"ok": 0, "error": 0}
    for k in range(330):
        if k % 3 == 0:
            data: str | bytes = _mutate_bytes(rng, base.encode("utf-8"))
        elif fmt == "rasa":
            data = _mutate_yaml(rng, base)
        else:
            data = _mutate_json(rng, base)
        p = _write(tmp_path, fmt, data)
        try:
            d = reader(p) if fmt != "alexa" else reader(p, max_per_template=3)
        except DefinitionError as e:
            assert e.file == str(p)
            outcomes["error"] += 1
        except Exception as e:  # pragma: no cover - a reader bug
            raise AssertionError(f"variant {k} raised {type(e).__name__}: {e}\n{data!r}") from e
        else:
            check_spans(d)
            outcomes["ok"] += 1
    assert outcomes["error"] > 100 and outcomes["ok"] > 10, outcomes


def test_jsonl_row_needs_an_intent_key_and_respects_max_chars(tmp_path):
    from edge_nlu.definitions.jsonl import read_jsonl

    p = tmp_path / "rows.jsonl"
    p.write_text('{"text": "play jazz", "intent": "PlayMusic", "skill": "snips", "slots": []}\n{"text": "play jazz"}\n')
    with pytest.raises(DefinitionError, match="missing") as ei:
        read_jsonl(p)
    assert ei.value.line == 2 and ei.value.field == "intent"
    p.write_text('{"text": "play jazz", "intent": null, "skill": null}\n{"text": "%s", "intent": null}\n' % ("a" * 50))
    assert len(read_jsonl(p)) == 2
    with pytest.raises(DefinitionError, match="limit is 20") as ei:
        read_jsonl(p, max_chars=20)
    assert ei.value.line == 2 and ei.value.field == "text"
