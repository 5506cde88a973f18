"""The real pipeline end to end on a tiny data set: build → verify artifacts → int8 vs fp32 → compile → install → parse.

The tiny model (tests/tiny_config.json: 4 skills, 60 training utterances each, 32-dim embeddings, 3 epochs) is built
once per session by the ``tiny_model`` fixture; it is far too small to be accurate, so these tests check the
plumbing and the numerics, not accuracy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import edge_nlu
from edge_nlu.runtime.artifacts import read_skill, verify_base

FIXTURES = Path(__file__).parent / "fixtures"
PIZZA_TEXT = "ask pizza palace to order a large pepperoni pizza"
STAGES = (
    "vocabulary",
    "embedding_init",
    "corpus",
    "student_training",
    "export_int8",
    "lexical_expert",
    "intent_expert",
    "calibration",
    "int8_guard",
    "dev_scores",
)


def test_build_produces_base_and_skills(tiny_model, tiny_config):
    base = tiny_model / "base"
    for name in (
        "tokenizer.json",
        "embeddings.npy",
        "scales.npy",
        "encoder.onnx",
        "negatives.npy",
        "projection.npy",
        "manifest.json",
    ):
        assert (base / name).is_file(), name
    skills = sorted(p.stem for p in (tiny_model / "skills").glob("*.skill"))
    # snips (all of its skills) + the two hwu64 skills + the one clinc150 skill of the config
    assert {"alarm", "weather", "utility"} <= set(skills) and len(skills) >= 4
    config = json.loads((tiny_model / "config.json").read_text())
    assert sorted(config["enabled"]) == skills


def test_every_manifest_verifies(tiny_model):
    base = verify_base(tiny_model / "base", check_sums=True)
    assert base["routing"]["threshold"] > 0
    for path in sorted((tiny_model / "skills").glob("*.skill")):
        manifest, members = read_skill(path, base)
        assert manifest["base_id"] == base["base_id"]
        assert manifest["intents"] and set(members) >= {"labels.json", "weights.npz", "patch.json", "catalog.json"}


def test_build_report(tiny_model):
    report = json.loads((tiny_model / "build_report.json").read_text())
    for stage in STAGES:
        assert report["stages"][stage]["seconds"] >= 0, stage
        assert report["stages"][stage]["peak_rss_mb"] > 0, stage
        st = report["stages"][stage]
        assert 0 <= st["rss_mb"] <= st["peak_rss_mb"] + 1, stage  # (0 where there is no /proc)
    assert report["guard"]["passed"] is True
    assert report["total_seconds"] > 0
    assert report["sizes"]["base_bytes"] > 0
    assert report["teacher"] is None  # the tiny build uses hard labels only
    # dev scores per data set, with the skill given (and routed among the set's skills where it has several)
    assert report["dev"], report.get("dev")
    for name, rec in report["dev"].items():
        assert 0 <= rec["given"]["intent_accuracy"] <= 100, name
        if "routed" in rec:
            assert 0 <= rec["routed"]["intent_accuracy"] <= 100, name


def test_int8_encoder_matches_fp32(tiny_model, tiny_config, home):
    """The int8 encoder against the fp32 one it was quantised from, on the tiny training utterances.

    Measured on the tiny model (240 utterances): max |Δ| of pooled vectors 0.006 (pooled values reach ~0.9), relative
    L2 error 0.5 %, intent argmax identical on 100 %. The bounds below leave ~5x headroom for other seeds/platforms
    while still catching a broken quantisation (a wrong scale gives errors of the order of the values themselves).
    """
    import onnxruntime as ort

    from export.corpus import load_corpus

    corpus = load_corpus(
        tiny_config["sets"], limit_per_skill=tiny_config["limit_per_skill"], seed=tiny_config.get("seed", 0)
    )
    rows = [u for u in corpus.train if u.skill]
    nlu = edge_nlu.load(tiny_model, home=home)

    def run() -> tuple[np.ndarray, np.ndarray]:
        pooled, argmax = [], []
        for u in rows:
            _, po = nlu.base.run([nlu.base.sequence(nlu.base.tokenize(u.text))])
            pooled.append(po[0])
            argmax.append(int(nlu.skill(u.skill).intent_probs(po)[0].argmax()))
        return np.stack(pooled), np.asarray(argmax)

    p8, a8 = run()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    nlu.base.session = ort.InferenceSession(
        str(tiny_model / "_work" / "encoder_fp32.onnx"), opts, providers=["CPUExecutionProvider"]
    )
    p32, a32 = run()
    assert len(rows) >= 100
    max_abs = float(np.abs(p8 - p32).max())
    rel = float((np.linalg.norm(p8 - p32, axis=1) / np.maximum(np.linalg.norm(p32, axis=1), 1e-6)).max())
    agree = float((a8 == a32).mean())
    assert max_abs <= 0.03, max_abs
    assert rel <= 0.03, rel
    assert agree >= 0.98, agree


def test_compiled_skill_installs_and_parses(tiny_model, pizza_skill, home):
    size = pizza_skill.stat().st_size
    assert 0 < size <= 512 * 1024
    nlu = edge_nlu.load(tiny_model, home=home)
    name = nlu.install_skill(pizza_skill)
    assert name == "pizza_palace" and name in nlu.skills and name in nlu.enabled_skills
    assert (home / nlu.base.base_id / "pizza_palace.skill").is_file()
    r = nlu.parse(PIZZA_TEXT)  # the invocation name picks the skill
    assert r.skill == "pizza_palace" and r.intent == "OrderPizza" and not r.out_of_scope
    assert r.slots, r
    for s in r.slots:
        assert PIZZA_TEXT[s.start : s.end] == s.value
    assert {s.slot for s in r.slots} <= {"size", "topping", "count"}
    forced = nlu.parse("order a large pepperoni pizza", skill="pizza_palace")
    assert forced.intent == "OrderPizza"
    for s in forced.slots:
        assert forced.text[s.start : s.end] == s.value


def test_parse_is_deterministic_across_loads(tiny_model, pizza_skill, tmp_path):
    texts = [
        PIZZA_TEXT,
        "wake me up at 7 am tomorrow",
        "what's the weather in paris",
        "how do I convert inches",
        "play some jazz",
        "",
        "SET AN ALARM FOR 6",
    ]
    outs = []
    for i in range(2):
        nlu = edge_nlu.load(tiny_model, home=tmp_path / f"h{i}")
        nlu.install_skill(pizza_skill)
        outs.append([nlu.parse(t, n_best=3).to_json() for t in texts])
    assert outs[0] == outs[1]


@pytest.mark.parametrize("fmt", ["snips", "rasa"])
def test_compile_other_formats(tiny_model, tmp_path, fmt):
    from edge_nlu.definitions import read_definition
    from export.skill_compiler import compile_skill

    src = {"snips": FIXTURES / "lights_snips.json", "rasa": FIXTURES / "restaurant_rasa.yml"}[fmt]
    out = tmp_path / f"{fmt}.skill"
    rep = compile_skill(read_definition(src), tiny_model, out)
    assert out.is_file() and rep["bytes"] == out.stat().st_size <= 512 * 1024
    read_skill(out, verify_base(tiny_model / "base"))
    from edge_nlu.runtime.skill import Skill

    assert Skill(out).joint_weight is None  # its intents' slots are only what the examples show: no weight (rule 48)


def test_compiled_skill_has_lexical_features(tiny_model, pizza_skill, tmp_path):
    from edge_nlu.errors import ArtifactError
    from edge_nlu.runtime.artifacts import write_skill
    from edge_nlu.runtime.lexical import BUCKETS, TEMPLATES
    from edge_nlu.runtime.skill import Skill

    base = verify_base(tiny_model / "base")
    manifest, members = read_skill(pizza_skill, base)
    labels = json.loads(members["labels.json"])
    assert labels["lexical"] == TEMPLATES
    sk = Skill(pizza_skill, base)
    assert sk.lex_w is not None and sk.lex_w.shape == (BUCKETS, len(sk.tags)) and np.abs(sk.lex_w).max() > 0
    # a skill whose lexical templates differ from this runtime's is refused, not decoded with wrong features
    labels["lexical"] = "w,w-1"
    members["labels.json"] = json.dumps(labels).encode()
    meta = {k: v for k, v in manifest.items() if k not in ("format", "format_version", "files")}
    bad = tmp_path / "bad.skill"
    write_skill(bad, members, meta)
    with pytest.raises(ArtifactError) as e:
        Skill(bad, base)
    assert e.value.check == "lexical"


def test_lexical_expert_folds_into_a_skill(tiny_model, tiny_config, tmp_path):
    """export.lexical_expert: a lexical-only CRF, added to a built skill as a product of experts; the rewritten
    file verifies, and decoding with it equals Viterbi over the sum of both experts' scores."""
    import shutil

    from edge_nlu.runtime.base import Base
    from edge_nlu.runtime.lexical import BUCKETS, TEMPLATES, lexical_ids
    from edge_nlu.runtime.skill import Skill, log_softmax, viterbi
    from export.corpus import load_corpus
    from export.lexical_expert import add_expert, fit_lexical_crf

    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    base = Base(model / "base")
    # the build config's lexical_expert stage gave the hwu64 skills one; snips has none
    assert Skill(model / "skills" / "alarm.skill", base.manifest).lex_w is not None
    path = model / "skills" / "snips.skill"
    before = Skill(path, base.manifest)
    assert before.lex_w is None
    rows = [u for u in load_corpus(tiny_config["sets"], limit_per_skill=60).train if u.skill == before.name]
    assert rows
    w, b, tr = fit_lexical_crf(base, rows, before.tags, steps=30)
    assert w.shape == (BUCKETS, len(before.tags)) and np.abs(w).max() > 0
    add_expert(path, base.manifest, (w, b, tr), 0.5)
    after = Skill(path, base.manifest)  # verifies sums and dims
    assert after.lexical == TEMPLATES and after.lex_w is not None
    words = rows[0].text.split()
    feats = np.random.default_rng(0).normal(size=(len(words), before.slot_w.shape[0])).astype(np.float32)
    assert after.lex_w.dtype == np.int8  # 0.5 * w with a scale per tag
    table = after.lex_w.astype(np.float32) * after.lex_s
    assert np.all(np.abs(table - 0.5 * w) <= after.lex_s / 2 + 1e-6)
    lex = np.stack([table[f].sum(0) for f in lexical_ids(words)])
    poe = log_softmax(feats @ before.slot_w + before.slot_b) + lex + 0.5 * b
    expect = [before.tags[j] for j in viterbi(poe, before.transitions + 0.5 * tr)]
    assert after.decode(feats, words) == expect
    with pytest.raises(ValueError, match="already has lexical"):
        add_expert(path, base.manifest, (w, b, tr), 0.5)


def test_intent_ids_are_a_bag_of_ngrams():
    from edge_nlu.runtime.lexical import BUCKETS, intent_ids

    assert intent_ids([]) == []
    ids = intent_ids(["Wake", "me", "up"])
    assert ids == sorted(set(ids)) and all(0 <= i < BUCKETS for i in ids)
    assert ids == intent_ids(["wake", "ME", "up"])  # lower-cased
    assert 4 <= len(ids) <= 7  # 3 unigrams + 4 bigrams (<s> wake, wake me, me up, up </s>), minus collisions
    assert intent_ids(["up", "me", "wake"]) != ids  # bigrams keep word order
    assert set(intent_ids(["wake"])) <= set(intent_ids(["wake", "wake"]))  # binary: a repeat adds only bigrams


def test_intent_expert_scores_every_path_the_same(tiny_model, tiny_config, home):
    """The build's intent_expert stage: skills of its sets carry an int8 n-gram table; parse(skill=...), routing
    and the calibration all add the same lexical scores to the neural logits."""
    from edge_nlu.runtime.lexical import intent_ids
    from edge_nlu.runtime.skill import log_softmax

    nlu = edge_nlu.load(tiny_model, home=home)
    alarm, snips = nlu.skill("alarm"), nlu.skill("snips")
    assert snips.intent_lex_w is None  # not in the stage's sets
    assert alarm.intent_lex_w.dtype == np.int8 and alarm.intent_lex_w.shape[1] == len(alarm.intents)
    assert np.abs(alarm.intent_lex_w).max() == 127  # per-intent scale: the largest weight uses the full range
    text = "wake me up at seven tomorrow"
    tok = nlu.base.tokenize(text)
    _, pooled = nlu.base.run([nlu.base.sequence(tok)])
    ids = intent_ids([w for w, _, _ in tok.words])
    lex = (
        alarm.intent_lex_w[ids].astype(np.float32).sum(0) * alarm.intent_lex_s / np.sqrt(len(ids)) + alarm.intent_lex_b
    )
    z = (pooled[0] @ alarm.intent_w + alarm.intent_b) / alarm.temperature + lex
    expect = np.exp(log_softmax(z))
    assert np.allclose(alarm.intent_probs(pooled, ids)[0], expect, atol=1e-5)
    assert not np.allclose(alarm.intent_probs(pooled)[0], expect, atol=1e-3)  # the expert changes the scores
    real = expect[: alarm.n_real] / expect[: alarm.n_real].sum()
    r = nlu.parse(text, skill="alarm")
    assert r.intent == alarm.intents[int(real.argmax())] and abs(r.confidence - real.max()) < 1e-4
    # routed among skills with and without experts: each skill's columns are its own intent_probs
    names = ["alarm", "snips", "weather", "utility"]
    router = nlu._router(names)
    cols, best = router.probs(pooled[0], ids)
    for k, name in enumerate(names):
        sk = nlu.skill(name)
        own = sk.intent_probs(pooled, ids if sk.intent_lex_w is not None else None)[0]
        assert np.allclose(cols[router.starts[k] : router.stops[k]], own, atol=1e-5)


def test_intent_expert_learns_and_is_checked(tiny_model, tiny_config, tmp_path):
    import shutil

    from edge_nlu.errors import ArtifactError
    from edge_nlu.runtime.artifacts import write_skill
    from edge_nlu.runtime.base import Base
    from edge_nlu.runtime.lexical import BUCKETS, INTENT_TEMPLATES, intent_ids
    from edge_nlu.runtime.skill import Skill
    from export.corpus import load_corpus
    from export.lexical_expert import add_intent_expert, fit_intent_expert, intent_negatives

    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    base = Base(model / "base")
    corpus = load_corpus(tiny_config["sets"], limit_per_skill=60)
    path = model / "skills" / "snips.skill"
    sk = Skill(path, base.manifest)
    rows = [u for u in corpus.train if u.skill == "snips" and u.intent]
    neg = intent_negatives(corpus, "snips")
    assert neg and all(u.skill != "snips" for u in neg)  # a one-skill set learns NONE from the other sets
    assert {u.skill for u in intent_negatives(corpus, "alarm")} <= {"weather", None}  # else its own set's rows
    w, b = fit_intent_expert(base, rows, neg, sk.intents)
    assert w.shape == (BUCKETS, len(sk.intents))
    # the lexical model alone fits its training rows (a bag of n-grams separates them)
    hits = [
        int((w[i].sum(0) / np.sqrt(len(i)) + b).argmax()) == sk.intents.index(u.intent)
        for u, i in ((u, intent_ids([x for x, _, _ in base.tokenize(u.text).words])) for u in rows)
    ]
    assert np.mean(hits) > 0.9
    add_intent_expert(path, base.manifest, (w, b), 0.5)
    after = Skill(path, base.manifest)  # verifies sums and dims
    assert after.intent_lexical == INTENT_TEMPLATES
    deq = after.intent_lex_w.astype(np.float32) * after.intent_lex_s
    assert np.allclose(deq, 0.5 * w, atol=0.5 * np.abs(w).max() / 127 + 1e-6)
    # a skill whose intent templates differ from this runtime's is refused; so is a table of the wrong shape
    manifest, members = read_skill(path, base.manifest)
    meta = {k: v for k, v in manifest.items() if k not in ("format", "format_version", "files")}
    labels = json.loads(members["labels.json"])
    labels["intent_lexical"] = "w"
    bad = tmp_path / "bad.skill"
    write_skill(bad, {**members, "labels.json": json.dumps(labels).encode()}, meta)
    with pytest.raises(ArtifactError) as e:
        Skill(bad, base.manifest)
    assert e.value.check == "lexical"
    with pytest.raises(ValueError, match="does not match"):
        add_intent_expert(path, base.manifest, (w[:, :2], b[:2]), 0.5)
    # a table with fewer rows than the hash buckets would fail at parse time: refused at load instead
    from edge_nlu.runtime.artifacts import npz_arrays, npz_bytes

    arrays = npz_arrays(members["weights.npz"])
    arrays["intent_lex_w"] = arrays["intent_lex_w"][:100]
    write_skill(bad, {**members, "weights.npz": npz_bytes(arrays)}, meta)
    with pytest.raises(ArtifactError) as e:
        Skill(bad, base.manifest)
    assert e.value.check == "dims"
