"""The MaxEnt-CRF baseline (benchmarks/maxent_crf.py) on tiny SNIPS subsets and two tiny skills."""

from __future__ import annotations

from collections import Counter

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("pycrfsuite")

from benchmarks.maxent_crf import Gazetteer, MaxEntCRF, MaxEntCRFSkills  # noqa: E402
from edge_nlu.data import data_dir  # noqa: E402
from edge_nlu.definitions.jsonl import definition_from_utterances, read_jsonl  # noqa: E402
from edge_nlu.definitions.model import SkillDefinition, SlotSpan, SlotType, SlotValue, Utterance  # noqa: E402
from edge_nlu.metrics import evaluate  # noqa: E402

DATA = data_dir()
HAS_SNIPS = (DATA / "snips" / "train.jsonl").is_file()


def U(text: str, intent: str, *slots: tuple[str, str], skill: str | None = None) -> Utterance:
    spans, pos = [], 0
    for slot, value in slots:
        start = text.index(value, pos)
        spans.append(SlotSpan(slot, start, start + len(value), value))
        pos = start + len(value)
    return Utterance(text, intent, spans, skill)


@pytest.mark.skipif(not HAS_SNIPS, reason="shared data not available")
def test_tiny_snips_beats_trivial_and_offsets_exact(tmp_path):
    rows = read_jsonl(DATA / "snips" / "train.jsonl")
    train, held = rows[:150], rows[150:350]
    model = MaxEntCRF(max_iterations=60).fit(definition_from_utterances("snips", train))
    pred = model.parse_many([u.text for u in held])
    r = evaluate(held, pred)
    majority = Counter(u.intent for u in train).most_common(1)[0][0]
    trivial = sum(u.intent == majority for u in held) / len(held)
    assert r["intent_accuracy"] > trivial + 0.3
    assert r["slot_f1"] > 0.4
    for u in pred:
        for s in u.slots:
            assert 0 <= s.start < s.end <= len(u.text) and s.value == u.text[s.start : s.end]
            assert s.value == s.value.strip()
    scores = model.intent_scores(held[0].text)
    assert set(scores) == {u.intent for u in train} and sum(scores.values()) == pytest.approx(1.0)
    # parse == parse_many, deterministic across a save/load round trip
    assert model.parse(held[0].text) == pred[0]
    model.save(tmp_path / "m.pkl")
    again = MaxEntCRF.load(tmp_path / "m.pkl")
    assert [again.parse(u.text) for u in held[:20]] == pred[:20]


def _two_skills() -> dict[str, SkillDefinition]:
    alarm = [
        U("wake me up at seven am", "set_alarm", ("time", "seven am")),
        U("set an alarm for six thirty", "set_alarm", ("time", "six thirty")),
        U("alarm at nine pm please", "set_alarm", ("time", "nine pm")),
        U("set alarm for ten am tomorrow", "set_alarm", ("time", "ten am"), ("date", "tomorrow")),
        U("wake me at five am on monday", "set_alarm", ("time", "five am"), ("date", "monday")),
        U("cancel my alarm", "cancel_alarm"),
        U("delete the alarm for seven am", "cancel_alarm", ("time", "seven am")),
        U("remove all alarms", "cancel_alarm"),
        U("turn off my alarm", "cancel_alarm"),
        U("stop the alarm at six thirty", "cancel_alarm", ("time", "six thirty")),
    ]
    music = [
        U("play some jazz", "play", ("genre", "jazz")),
        U("play songs by adele", "play", ("artist", "adele")),
        U("put on rock music", "play", ("genre", "rock")),
        U("play the beatles", "play", ("artist", "the beatles")),
        U("i want to hear some blues", "play", ("genre", "blues")),
        U("play something by queen", "play", ("artist", "queen")),
        U("pause the music", "pause"),
        U("stop the song", "pause"),
        U("pause playback", "pause"),
        U("hold the music for a second", "pause"),
    ]
    defs = {
        "alarm": definition_from_utterances("alarm", alarm),
        "music": definition_from_utterances("music", music),
    }
    # an author catalog value never seen in training utterances
    defs["music"].slot_types["artist"].values.append(SlotValue("pink floyd", synonyms=["floyd"]))
    return defs


def test_multi_skill_routing_and_oos():
    defs = _two_skills()
    oos = [
        Utterance(t, "oos")
        for t in ["what is the capital of france", "how tall is mount everest", "tell me a joke", "who won the game"]
    ]
    m = MaxEntCRFSkills().fit(defs, oos)
    u = m.parse("please play some rock")
    assert u.skill == "music" and u.intent == "play"
    assert [(s.slot, s.value) for s in u.slots] == [("genre", "rock")]
    u = m.parse("set an alarm for seven am")
    assert u.skill == "alarm" and u.intent == "set_alarm"
    assert all(s.value == u.text[s.start : s.end] for s in u.slots)
    assert ("time", "seven am") in [(s.slot, s.value) for s in u.slots]
    u = m.parse("what is the capital of spain")
    assert u.intent == "oos" and u.skill is None and u.slots == []
    # skill given: no routing
    u = m.parse("pause the music", skill="music")
    assert u.skill == "music" and u.intent == "pause"
    scores = m.skill_scores("pause the music")
    assert set(scores) == {"alarm", "music", "oos"}


def test_gazetteer_longest_match_and_leave_one_out():
    d = SkillDefinition(
        "g",
        slot_types={
            "city": SlotType("city", [SlotValue("new york", synonyms=["nyc"]), SlotValue("york")]),
            "dt": SlotType("dt", builtin=True),
        },
    )
    g = Gazetteer(d)
    assert g.tag(["fly", "to", "New", "York", "or", "NYC"]) == [[], [], ["B:city"], ["I:city"], [], ["B:city"]]
    assert g.tag(["york"]) == [["B:city"]]
    assert g.tag(["fly", "to", "New", "York"], exclude={("city", ("new", "york"))}) == [[], [], [], ["B:city"]]


def test_single_intent_skill_and_no_slots():
    rows = [U("book a table for two", "Book", ("n", "two")), U("book a table for four", "Book", ("n", "four"))]
    m = MaxEntCRF(max_iterations=20).fit(definition_from_utterances("b", rows))
    assert m.intent_scores("book a table for three") == {"Book": 1.0}
    assert m.parse("book a table for two").slots[0].value == "two"
    no_slots = [Utterance("hello there", "greet"), Utterance("bye now", "bye")]
    m = MaxEntCRF().fit(definition_from_utterances("c", no_slots))
    assert m.parse("hello").slots == []
