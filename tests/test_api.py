"""The public Python API: edge_nlu.load / NLU.parse / parse_batch / skill management, on the tiny model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import edge_nlu
from edge_nlu import InputError, ParseResult, UnknownSkillError
from edge_nlu.result import Alternative, Slot

TEXTS = [
    "wake me up at seven tomorrow",
    "what's the weather like in paris",
    "set an alarm",
    "is it going to rain",
    "how many cups in a gallon",
    "play the new album by adele",
    "cancel my six am alarm",
    "what is the weather",
]


def _tree(folder) -> dict:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*"))}


def test_import_is_light():
    code = "import sys, edge_nlu; print(sorted(m for m in ('onnxruntime', 'numpy', 'tokenizers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert isinstance(edge_nlu.__version__, str) and edge_nlu.__version__


def test_public_names():
    for name in (
        "load",
        "NLU",
        "ParseResult",
        "EdgeNLUError",
        "InputError",
        "UnknownSkillError",
        "ArtifactError",
        "DefinitionError",
        "__version__",
    ):
        assert hasattr(edge_nlu, name), name
    from edge_nlu.runtime.nlu import NLU

    assert edge_nlu.NLU is NLU


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(edge_nlu.EdgeNLUError, match="not an edge-nlu model folder"):
        edge_nlu.load(tmp_path)


@pytest.mark.parametrize("text", ["", " ", "   \t\n  ", "?!"])
def test_empty_input_is_out_of_scope(nlu, text):
    r = nlu.parse(text)
    if text.strip(" \t\n"):  # punctuation only: a real (if odd) utterance, parsed, never an error
        assert isinstance(r, ParseResult)
        return
    assert r.intent is None and r.skill is None and r.out_of_scope is True
    assert r.slots == [] and r.text == text


def test_over_limit_input(nlu):
    from edge_nlu.runtime.nlu import MAX_CHARS

    nlu.parse("a" * MAX_CHARS)  # at the limit: fine
    with pytest.raises(InputError, match="limit"):
        nlu.parse("a" * (MAX_CHARS + 1))


@pytest.mark.parametrize("bad", [None, 3, b"bytes", ["a list"]])
def test_non_string_input(nlu, bad):
    with pytest.raises(InputError):
        nlu.parse(bad)


def test_parse_batch_rejects_a_string(nlu):
    with pytest.raises(InputError):
        nlu.parse_batch("set an alarm")


def test_unknown_skill(nlu):
    with pytest.raises(UnknownSkillError, match="nope"):
        nlu.parse("set an alarm", skill="nope")
    with pytest.raises(UnknownSkillError):
        nlu.parse("set an alarm", skills=["alarm", "nope"])
    with pytest.raises(UnknownSkillError):
        nlu.skill("nope")
    assert isinstance(UnknownSkillError("x"), edge_nlu.EdgeNLUError)


def test_long_input_is_truncated_not_refused(nlu):
    r = nlu.parse(" ".join(["alarm"] * 200))
    assert r.truncated is True


@pytest.mark.parametrize("kw", [{}, {"skill": "alarm"}, {"skills": ["alarm", "weather"]}, {"n_best": 3}])
def test_parse_batch_equals_parse(nlu, kw):
    batch = nlu.parse_batch(TEXTS + ["", "set an alarm"], **kw)
    single = [nlu.parse(t, **kw) for t in TEXTS + ["", "set an alarm"]]
    assert len(batch) == len(single)
    for b, s in zip(batch, single, strict=True):
        assert b.skill == s.skill and b.intent == s.intent and b.out_of_scope == s.out_of_scope
        # not bit-equal: the int8 encoder quantises activations with one dynamic scale per *batch* tensor, so a
        # batch's neighbours move pooled values by up to ~0.004 (measured; fp32 agrees to 1e-7)
        assert b.confidence == pytest.approx(s.confidence, abs=0.01)
        assert [(x.slot, x.start, x.end) for x in b.slots] == [(x.slot, x.start, x.end) for x in s.slots]


@pytest.mark.parametrize("k", [1, 2, 5])
def test_n_best(nlu, k):
    for text in TEXTS:
        r = nlu.parse(text, n_best=k)
        assert 1 <= len(r.alternatives) <= k
        conf = [a.confidence for a in r.alternatives]
        assert conf == sorted(conf, reverse=True)
        assert all(0.0 <= c <= 1.0 for c in conf)
        assert len({(a.skill, a.intent) for a in r.alternatives}) == len(r.alternatives)
        if not r.out_of_scope:  # the top alternative is the result itself
            top = r.alternatives[0]
            assert (top.skill, top.intent) == (r.skill, r.intent)
            assert top.confidence == pytest.approx(r.confidence, abs=1e-6)


def test_forced_skill(nlu):
    r = nlu.parse("what's the weather like in paris", skill="alarm")
    assert r.skill == "alarm" and r.out_of_scope is False and r.intent in nlu.skill("alarm").intents


def test_json_round_trip(nlu):
    for text in TEXTS + [""]:
        r = nlu.parse(text, n_best=3)
        d = json.loads(r.to_json())
        back = ParseResult(
            **{
                **d,
                "slots": [Slot(**s) for s in d["slots"]],
                "alternatives": [Alternative(**a) for a in d["alternatives"]],
            }
        )
        assert back.to_dict() == r.to_dict()
        assert set(d) == {"text", "skill", "intent", "confidence", "slots", "alternatives", "out_of_scope", "truncated"}
        for s in d["slots"]:
            assert text[s["start"] : s["end"]] == s["value"]


def test_skill_management(tiny_model, pizza_skill, home):
    before = _tree(tiny_model)
    nlu = edge_nlu.load(tiny_model, home=home)
    builtin = nlu.skills
    name = nlu.install_skill(pizza_skill, name="pizza")
    assert name == "pizza" and "pizza" in nlu.skills and "pizza" in nlu.enabled_skills

    nlu.set_enabled("pizza", False)
    assert "pizza" not in nlu.enabled_skills and "pizza" in nlu.skills
    assert edge_nlu.load(tiny_model, home=home).enabled_skills == nlu.enabled_skills  # persisted
    nlu.set_enabled("pizza", True)
    assert "pizza" in nlu.enabled_skills

    nlu.set_enabled("alarm", False)  # a skill of the read-only model can be disabled ...
    assert "alarm" not in nlu.enabled_skills
    assert nlu.parse("set an alarm", skill="alarm").skill == "alarm"  # ... and still be asked for by name
    with pytest.raises(edge_nlu.EdgeNLUError):  # ... but not removed
        nlu.remove_skill("alarm")
    nlu.set_enabled("alarm", True)

    nlu.remove_skill("pizza")
    assert nlu.skills == builtin
    with pytest.raises(UnknownSkillError):
        nlu.remove_skill("pizza")
    with pytest.raises(UnknownSkillError):
        nlu.set_enabled("pizza", True)
    assert _tree(tiny_model) == before  # the user store never writes inside the model folder
    assert (home / nlu.base.base_id / "state.json").is_file()


def test_install_rejects_bad_files(nlu, tmp_path, pizza_skill, home):
    bad = tmp_path / "bad.skill"
    bad.write_bytes(b"not a zip")
    with pytest.raises(edge_nlu.ArtifactError):
        nlu.install_skill(bad)
    with pytest.raises(edge_nlu.ArtifactError):
        nlu.install_skill(tmp_path / "missing.skill")
    with pytest.raises(edge_nlu.EdgeNLUError, match="invalid skill name"):
        nlu.install_skill(pizza_skill, name="../evil")
    assert not list(home.rglob("*.skill"))


@pytest.mark.parametrize(
    "kw",
    [
        {"n_best": 0},
        {"n_best": -1},
        {"n_best": True},
        {"n_best": 2.0},
        {"n_best": float("inf")},
        {"n_best": "2"},
        {"n_best": None},
        {"skill": "alarm", "skills": ["alarm"]},
        {"skills": "alarm"},
        {"skills": []},
        {"skill": 3},
    ],
)
def test_bad_arguments_are_input_errors(nlu, kw):
    with pytest.raises(InputError):
        nlu.parse("set an alarm", **kw)


@pytest.mark.parametrize("bad", [None, 3, iter(["set an alarm"])])
def test_parse_batch_needs_a_list(nlu, bad):
    with pytest.raises(InputError):
        nlu.parse_batch(bad)


@pytest.mark.parametrize("kw", [{"threads": 0}, {"threads": -1}, {"threads": "2"}, {"max_resident": 0}])
def test_bad_load_arguments(tiny_model, home, kw):
    with pytest.raises(InputError):
        edge_nlu.load(tiny_model, home=home, **kw)


def test_a_skill_named_twice_is_routed_once(nlu):
    r = nlu.parse("set an alarm", skills=["alarm", "weather", "alarm"], n_best=5)
    assert len({(a.skill, a.intent) for a in r.alternatives}) == len(r.alternatives)


def test_no_enabled_skill_is_out_of_scope(tiny_model, home, caplog):
    nlu = edge_nlu.load(tiny_model, home=home)
    for name in nlu.enabled_skills:
        nlu.set_enabled(name, False)
    assert nlu.enabled_skills == []
    with caplog.at_level("WARNING", logger="edge_nlu.runtime.nlu"):
        r = nlu.parse("wake me up at seven tomorrow")
        nlu.parse_batch(["set an alarm", "what's the weather"])
    assert r.out_of_scope is True and r.intent is None and r.confidence == 1.0
    assert caplog.text.count("no skill is enabled") == 1  # said once, not once per utterance
    assert nlu.parse("wake me up at seven tomorrow", skill="alarm").skill == "alarm"  # asked by name: still parsed


def test_installing_over_an_embedded_skill_warns(tiny_model, pizza_skill, home, caplog):
    nlu = edge_nlu.load(tiny_model, home=home)
    with caplog.at_level("WARNING", logger="edge_nlu.runtime.nlu"):
        nlu.install_skill(pizza_skill, name="alarm")
    assert "replaces the embedded skill" in caplog.text
    assert nlu.skill("alarm").manifest.get("name") != "alarm"  # the user store overlays the embedded model


@pytest.mark.parametrize("kw", [{"skill": "weather"}, {}])
def test_decomposed_unicode_parses_like_composed(nlu, kw):
    import unicodedata

    for text in ["what's the weather like in são paulo", "wake me up at seven in zürich", "café rené"]:
        a, b = nlu.parse(text, n_best=3, **kw), nlu.parse(unicodedata.normalize("NFD", text), n_best=3, **kw)
        assert (a.skill, a.intent, [s.slot for s in a.slots]) == (b.skill, b.intent, [s.slot for s in b.slots])
        # the same pieces, lexical features and patch rows: the same scores (up to the int8 encoder's rounding)
        assert a.confidence == pytest.approx(b.confidence, abs=1e-6)
        assert [(x.skill, x.intent) for x in a.alternatives] == [(x.skill, x.intent) for x in b.alternatives]
        for s in b.slots:
            assert unicodedata.normalize("NFC", s.value) in text  # never a slot that starts or ends inside a letter


def test_numpy_integers_are_counts(nlu):
    np = pytest.importorskip("numpy")
    assert len(nlu.parse("set an alarm", n_best=np.int64(2)).alternatives) <= 2


def test_a_set_of_skills_is_routed_in_name_order(nlu):
    a = nlu.parse("set an alarm", skills={"weather", "alarm"}, n_best=5)
    b = nlu.parse("set an alarm", skills=["alarm", "weather"], n_best=5)
    assert [(x.skill, x.intent, x.confidence) for x in a.alternatives] == [
        (x.skill, x.intent, x.confidence) for x in b.alternatives
    ]


def test_launch_with_trailing_punctuation(tiny_model, pizza_skill, home):
    nlu = edge_nlu.load(tiny_model, home=home)
    nlu.install_skill(pizza_skill, name="pizza")
    for text in ["open pizza palace", "open pizza palace.", "Open Pizza Palace ?!"]:
        r = nlu.parse(text)
        assert (r.skill, r.intent, r.confidence) == ("pizza", "LaunchRequest", 1.0), text
    r = nlu.parse("ask pizza palace to order a large pepperoni pizza")
    assert r.skill == "pizza" and r.intent != "LaunchRequest"


def test_hand_edited_state_is_sanitised(tiny_model, home):
    nlu = edge_nlu.load(tiny_model, home=home)
    state = home / nlu.base.base_id / "state.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"enabled": "alarm", "disabled": ["weather", 3], "invocations": {"alarm": 7}}))
    nlu = edge_nlu.load(tiny_model, home=home)
    assert "weather" not in nlu.enabled_skills and "a" not in nlu.enabled_skills
    assert nlu.parse("open alarm").intent != "LaunchRequest"


@pytest.mark.parametrize(
    "config", [["alarm"], {"enabled": "alarm"}, {"enabled": [1]}, {"invocations": ["x"]}, {"invocations": {"a": 1}}]
)
def test_bad_config_is_an_artifact_error(tiny_model, home, tmp_path, config):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    (model / "config.json").write_text(json.dumps(config))
    with pytest.raises(edge_nlu.ArtifactError, match="config.json"):
        edge_nlu.load(model, home=home)


def test_invocation_names_match_by_word_key(tiny_model, pizza_skill, home):
    nlu = edge_nlu.load(tiny_model, home=home)
    nlu.install_skill(pizza_skill, name="pizza")
    for text in ["open Pizza Pal\u00adace", "open pizza  palace", "ask PIZZA PALACE to order a large pepperoni pizza"]:
        r = nlu.parse(text)
        assert r.skill == "pizza", text
        for s in r.slots:
            assert text[s.start : s.end] == s.value
    assert nlu.parse("open pizza palaces").intent != "LaunchRequest"  # whole words only
