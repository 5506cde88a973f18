"""Joint intent-slot decoding (opt-in: ``edge_nlu.load(..., joint_weight=W)``): a skill's intents only carry the
slots their training rows had (or slots too rare to tell), and a weight > 0 lets the slot path's score move the
intent."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from edge_nlu.runtime.skill import NONE, Skill, bio_allowed, viterbi, viterbi_scored
from tests.conftest import FIXTURES

TAGS = ["O", "B-x", "I-x", "B-y", "I-y"]


def _skill(intent_slots: dict | None) -> Skill:
    """A Skill with just what decoding reads: two intents (a carries slot x, b slot y) and identity slot weights."""
    sk = object.__new__(Skill)
    sk.intents = ["a", "b", NONE]
    sk.tags = TAGS
    sk.n_real = 2
    sk.slot_w = np.eye(len(TAGS), dtype=np.float32)
    sk.slot_b = np.zeros(len(TAGS), dtype=np.float32)
    sk.lex_w = None
    sk.transitions = np.where(bio_allowed(TAGS), 0.0, -1e9).astype(np.float32)
    sk._into = np.ascontiguousarray(sk.transitions[:-1].T)
    sk.set_intent_slots(intent_slots)
    return sk


# word 1 looks like a y value (score 3 over O): an intent-b slot
FEATS = np.array([[1, 0, 0, 0, 0], [0, 0, 0, 3, 0], [1, 0, 0, 0, 0]], dtype=np.float32)
SLOTS = {"a": ["x"], "b": ["y"]}


def test_viterbi_score_is_the_best_paths_sum():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, len(TAGS))).astype(np.float32)
    tr = (np.where(bio_allowed(TAGS), 0.0, -1e9) + rng.normal(size=(len(TAGS) + 1, len(TAGS)))).astype(np.float32)

    def total(p):
        return tr[-1, p[0]] + z[0, p[0]] + sum(tr[p[i - 1], p[i]] + z[i, p[i]] for i in range(1, len(p)))

    best = max(itertools.product(range(len(TAGS)), repeat=4), key=total)
    path, score = viterbi_scored(z, tr)
    assert path == list(best) == viterbi(z, tr)
    assert score == pytest.approx(float(total(best)), rel=1e-5)
    assert viterbi_scored(z[:0], tr) == ([], 0.0)


def test_without_intent_slots_decoding_is_unchanged():
    sk = _skill(None)
    j, tags = sk.decode_joint(FEATS, None, np.array([0.6, 0.4]), weight=1.0)
    assert (j, tags) == (0, sk.decode(FEATS)) == (0, ["O", "B-y", "O"])


def test_weight_zero_keeps_the_intent_and_restricts_its_slots():
    j, tags = _skill(SLOTS).decode_joint(FEATS, None, np.array([0.6, 0.4]), weight=0.0)
    assert j == 0 and tags == ["O", "O", "O"]  # a cannot carry y


def test_the_slot_path_can_move_the_intent():
    sk = _skill(SLOTS)
    probs = np.array([0.6, 0.4])
    # J(a) = log 0.6 - w * 3 (the y path is lost), J(b) = log 0.4: b from w > log(1.5) / 3 = 0.135
    assert sk.decode_joint(FEATS, None, probs, weight=1.0) == (1, ["O", "B-y", "O"])
    assert sk.decode_joint(FEATS, None, probs, weight=0.1)[0] == 0
    # a confident classifier keeps its intent
    assert sk.decode_joint(FEATS, None, np.array([0.999, 0.001]), weight=1.0) == (0, ["O", "O", "O"])
    # the best path fits the best intent: nothing to rescore
    assert sk.decode_joint(FEATS, None, np.array([0.3, 0.7]), weight=1.0) == (1, ["O", "B-y", "O"])


def test_zero_probabilities_do_not_break_decoding():
    # a forced skill whose real intents all underflowed to 0 (NONE took everything): the slots decide
    assert _skill(SLOTS).decode_joint(FEATS, None, np.array([0.0, 0.0]), weight=1.0) == (1, ["O", "B-y", "O"])
    assert _skill(SLOTS).decode_joint(FEATS, None, np.array([0.0, 0.0]), weight=0.0) == (0, ["O", "O", "O"])


def test_an_intent_left_out_may_carry_any_slot():
    j, tags = _skill({"b": ["y"]}).decode_joint(FEATS, None, np.array([0.6, 0.4]), weight=1.0)
    assert (j, tags) == (0, ["O", "B-y", "O"])


def test_intent_slots_of_allows_what_is_too_rare_to_tell():
    from edge_nlu.definitions.model import SlotSpan, Utterance
    from export.student import intent_slots_of

    def row(intent, *slots):
        return Utterance("w " * 3, intent, [SlotSpan(s, 0, 1, "w") for s in slots])

    # 20 rows of a (all with x), 20 of b (all with y), one b row with z
    rows = [row("a", "x")] * 20 + [row("b", "y")] * 19 + [row("b", "y", "z"), row(None), row("c")]
    assert intent_slots_of(rows) == {"a": ["x"], "b": ["y", "z"], "c": []}
    # x and y are expected 20 * 20 / 41 ~ 10 times in the other intent: absent, so ruled out; z and c tell nothing
    assert intent_slots_of(rows, 5.0) == {"a": ["x", "z"], "b": ["y", "z"], "c": ["x", "y", "z"]}


def test_built_skills_record_their_intents_slots(tiny_model, tiny_config):
    from export.corpus import load_corpus
    from export.student import MIN_EXPECTED, intent_slots_of

    rows = [u for u in load_corpus(tiny_config["sets"], limit_per_skill=60).train if u.skill == "snips"]
    sk = Skill(tiny_model / "skills" / "snips.skill")
    assert sk.intent_slots == intent_slots_of(rows, MIN_EXPECTED)
    assert set(sk.intent_slots) == set(sk.intents[:-1])


def test_joint_parses_only_carry_their_intents_slots(tiny_model, tiny_config, home):
    import edge_nlu
    from edge_nlu.data import split_path
    from edge_nlu.definitions.jsonl import read_jsonl
    from export.corpus import load_corpus
    from export.student import intent_slots_of

    plain = edge_nlu.load(tiny_model, home=home)
    joint = edge_nlu.load(tiny_model, home=home, joint_weight=1.0)
    sk = joint.skill("snips")
    # the tiny skill's 60 rows are too few for MIN_EXPECTED to rule anything out: the strict sets instead
    rows = [u for u in load_corpus(tiny_config["sets"], limit_per_skill=60).train if u.skill == "snips"]
    sk.set_intent_slots(intent_slots_of(rows))
    assert any(len(v) < len(sk.tags) // 4 for v in sk.intent_slots.values())
    for u in read_jsonl(split_path("snips", "dev"))[:80]:
        r, p = joint.parse(u.text, skill="snips"), plain.parse(u.text, skill="snips")
        assert {s.slot for s in r.slots} <= set(sk.intent_slots[r.intent])
        assert (r.alternatives[0].intent, r.alternatives[0].confidence) == (r.intent, r.confidence)
        if {s.slot for s in p.slots} <= set(sk.intent_slots[p.intent]):
            assert (r.intent, r.slots) == (p.intent, p.slots)  # a consistent parse is left alone


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), True, "1", "on"])
def test_a_bad_joint_weight_is_refused(tiny_model, home, bad):
    import edge_nlu

    with pytest.raises(ValueError, match="joint_weight"):
        edge_nlu.load(tiny_model, home=home, joint_weight=bad)


@pytest.mark.parametrize("bad", [["x"], {"a": "x"}, {"a": [1]}])
def test_a_bad_intent_slots_field_is_refused(tiny_model, tmp_path, bad):
    import shutil

    from edge_nlu.errors import ArtifactError
    from edge_nlu.runtime.artifacts import rewrite_skill

    def edit(members):
        labels = json.loads(members["labels.json"])
        labels["intent_slots"] = bad
        members["labels.json"] = json.dumps(labels).encode()

    dst = tmp_path / "snips.skill"
    shutil.copy(tiny_model / "skills" / "snips.skill", dst)
    rewrite_skill(dst, None, edit)  # fresh sums: only the field is wrong
    with pytest.raises(ArtifactError, match="intent_slots"):
        Skill(dst)


def test_repack_records_the_builds_intent_slots(tiny_model, tmp_path):
    """export.repack --intent-slots on a model whose skills predate the field: each skill gets the sets its build
    would write, only labels.json changes, and a second run rewrites nothing."""
    import shutil

    from edge_nlu.runtime.artifacts import read_skill, rewrite_skill
    from export.repack import main as repack

    model = tmp_path / "m"
    shutil.copytree(tiny_model, model, ignore=shutil.ignore_patterns("_work"))
    path = model / "skills" / "snips.skill"
    built = Skill(path).intent_slots
    assert built

    def strip(members):
        labels = json.loads(members["labels.json"])
        del labels["intent_slots"]
        members["labels.json"] = json.dumps(labels).encode()

    rewrite_skill(path, None, strip)
    before = read_skill(path)[1]
    assert Skill(path).intent_slots is None and Skill(path).joint_weight is None
    assert repack([str(model), "--intent-slots", "--joint-weights", "snips=1"]) == 0
    after = read_skill(path)[1]
    assert Skill(path).intent_slots == built and Skill(path).joint_weight == 1.0
    assert Skill(model / "skills" / "alarm.skill").joint_weight is None  # an hwu64 skill
    assert {k for k in before if before[k] != after[k]} == {"labels.json"}
    stamp = path.stat().st_mtime_ns
    assert repack([str(model), "--intent-slots", "--joint-weights", "snips=1"]) == 0
    assert path.stat().st_mtime_ns == stamp
    with pytest.raises(SystemExit, match="model folder"):
        repack([str(path), "--intent-slots"])
    with pytest.raises(SystemExit, match="no skills of"):
        repack([str(model), "--joint-weights", "atis=1"])
    with pytest.raises(SystemExit, match="SET=W"):
        repack([str(model), "--joint-weights", "snips=-1"])


def test_build_config_joint_weights_go_to_their_sets_skills(tiny_config):
    from export.build import joint_weights
    from export.corpus import load_corpus

    corpus = load_corpus(tiny_config["sets"], limit_per_skill=5)
    cfg = {"sets": tiny_config["sets"], "joint_weights": {"hwu64": 0.5}}
    assert joint_weights(cfg, corpus) == {"alarm": 0.5, "weather": 0.5}
    assert joint_weights({"sets": tiny_config["sets"]}, corpus) == {}
    with pytest.raises(SystemExit, match="does not train on"):
        joint_weights({**cfg, "joint_weights": {"atis": 1}}, corpus)
    with pytest.raises(SystemExit, match=">= 0"):
        joint_weights({**cfg, "joint_weights": {"snips": -1}}, corpus)


def test_auto_uses_each_skills_own_weight(tiny_model, tiny_config, tmp_path):
    """The default (joint_weight="auto") decodes a skill with the weight it records, and no other skill; None
    turns it off; a number applies to every skill."""
    import shutil

    import edge_nlu
    from edge_nlu.data import split_path
    from edge_nlu.definitions.jsonl import read_jsonl
    from edge_nlu.runtime.artifacts import rewrite_skill
    from export.corpus import load_corpus
    from export.student import intent_slots_of

    model = tmp_path / "m"
    shutil.copytree(tiny_model, model, ignore=shutil.ignore_patterns("_work"))
    rows = [u for u in load_corpus(tiny_config["sets"], limit_per_skill=60).train if u.skill == "snips"]

    def add(members):  # strict sets (the tiny skill is too small for MIN_EXPECTED to rule anything out)
        labels = json.loads(members["labels.json"])
        labels.update(intent_slots=intent_slots_of(rows), joint_weight=1.0)
        members["labels.json"] = json.dumps(labels).encode()

    rewrite_skill(model / "skills" / "snips.skill", None, add)
    home = tmp_path / "home"
    auto, off, one = (edge_nlu.load(model, home=home, joint_weight=w) for w in ("auto", None, 1.0))
    assert edge_nlu.load(model, home=home).joint_weight == "auto"
    texts = [u.text for u in read_jsonl(split_path("snips", "dev"))[:80]]
    got = {
        name: [(r.intent, r.slots) for r in nlu.parse_batch(texts, skill="snips")]
        for name, nlu in (("auto", auto), ("off", off), ("one", one))
    }
    assert got["auto"] == got["one"] != got["off"]


def test_a_bad_joint_weight_in_a_skill_is_refused(tiny_model, tmp_path):
    import shutil

    from edge_nlu.errors import ArtifactError
    from edge_nlu.runtime.artifacts import rewrite_skill

    def edit(members):
        labels = json.loads(members["labels.json"])
        labels["joint_weight"] = -1
        members["labels.json"] = json.dumps(labels).encode()

    dst = tmp_path / "snips.skill"
    shutil.copy(tiny_model / "skills" / "snips.skill", dst)
    rewrite_skill(dst, None, edit)
    with pytest.raises(ArtifactError, match="joint_weight"):
        Skill(dst)


@pytest.mark.parametrize(("arg", "ok"), [("auto", True), ("off", True), ("0.5", True), ("-1", False), ("x", False)])
def test_cli_joint_weight(tiny_model, home, arg, ok):
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "edge_nlu", "parse", "play some jazz", "--skill", "snips", "--model", str(tiny_model)]
    p = subprocess.run([*cmd, "--home", str(home), "--joint-weight", arg], capture_output=True, text=True)
    assert (p.returncode == 0) == ok, p.stderr
    if ok:
        assert json.loads(p.stdout)["skill"] == "snips"
    else:
        assert "--joint-weight" in p.stderr and "Traceback" not in p.stderr


def test_declared_intent_slots_are_a_schema_only_when_the_definition_says_so():
    pytest.importorskip("torch")
    from edge_nlu.definitions import read_definition
    from edge_nlu.definitions.jsonl import definition_from_utterances
    from edge_nlu.definitions.model import SlotSpan, Utterance
    from export.skill_compiler import declared_intent_slots
    from export.student import SkillLabels

    rows = [
        Utterance("play jazz", "play", [SlotSpan("genre", 5, 9, "jazz")], "m"),
        Utterance(
            "play jazz in the kitchen",
            "play",
            [SlotSpan("genre", 5, 9, "jazz"), SlotSpan("room", 17, 24, "kitchen")],
            "m",
        ),
        Utterance("stop", "stop", [], "m"),
    ]
    labels = SkillLabels.from_rows("m", rows)
    labels.intent_slots = {"play": ["genre", "room"], "stop": ["room"]}  # evidence-based: room too rare to tell
    d = definition_from_utterances("m", rows)  # slots the examples show: not a declaration
    assert not d.declares_intent_slots
    assert declared_intent_slots(d, labels) == {"play": ["genre", "room"], "stop": ["room"]}
    d.declares_intent_slots = True  # the author's schema: exactly what each intent lists
    assert declared_intent_slots(d, labels) == {"play": ["genre", "room"], "stop": []}
    assert read_definition(FIXTURES / "pizza_alexa.json").declares_intent_slots
    assert not read_definition(FIXTURES / "restaurant_rasa.yml").declares_intent_slots


def test_a_compiled_alexa_skill_keeps_to_its_intents_declared_slots(tiny_model, pizza_skill, home):
    """An Alexa model declares its intents' slots: the compiled skill records them and weight 0 (rule 50), so a
    parse never returns a slot its intent does not take, and the intent stays the classifier's."""
    import edge_nlu
    from export.skill_compiler import SCHEMA_JOINT_WEIGHT

    sk = Skill(pizza_skill)
    assert SCHEMA_JOINT_WEIGHT == 0.0 and sk.joint_weight == 0.0
    assert sk.intent_slots["OrderPizza"] == ["count", "size", "topping"] and sk.intent_slots["CheckOrderStatus"] == []
    on = edge_nlu.load(tiny_model, home=home)
    name = on.install_skill(pizza_skill)
    off = edge_nlu.load(tiny_model, home=home, joint_weight=None)
    texts = ["order two large pepperoni pizzas", "where is my order", "a small one with olives", "stop", "large"]
    for t in texts:
        a, b = on.parse(t, skill=name), off.parse(t, skill=name)
        assert a.intent == b.intent and a.confidence == b.confidence
        assert {s.slot for s in a.slots} <= set(sk.intent_slots[a.intent])
