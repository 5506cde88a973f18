"""export.ensemble: builds of one config at two seeds merged into one model that the unchanged runtime parses with
the members' mean (tiny builds of the real pipeline, ~10 s each)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import edge_nlu
from edge_nlu.errors import EdgeNLUError
from edge_nlu.runtime.artifacts import read_skill, verify_base
from edge_nlu.runtime.skill import log_softmax
from tests.conftest import _data_dir

MEMBER_CONFIG = {
    "name": "tiny-member",
    "sets": {"hwu64": ["alarm", "weather"]},  # whole skills: a row limit would draw other rows at another seed
    "vocab_size": 4000,
    "emb_dim": 16,
    "hidden": 16,
    "negatives": 20,
    "student": {"epochs": 2, "batch_size": 16},
    "threads": 1,
}
TEXTS = ["wake me up at seven tomorrow", "will it rain in paris", "what time is it", "set an alarm for noon"]


@pytest.fixture(scope="module")
def members(tmp_path_factory) -> list[Path]:
    if not _data_dir().is_dir():
        pytest.skip(f"benchmark data folder {_data_dir()} is missing (set EDGE_NLU_DATA)")
    from export.build import build

    out = []
    for seed in (0, 1):
        d = tmp_path_factory.mktemp(f"member{seed}") / "model"
        build({**MEMBER_CONFIG, "seed": seed}, d)
        out.append(d)
    return out


@pytest.fixture(scope="module")
def merged(members, tmp_path_factory) -> Path:
    from export.ensemble import merge

    out = tmp_path_factory.mktemp("ensemble") / "model"
    merge(members, out)
    return out


def test_merged_model_verifies_and_parses(merged, tmp_path):
    base = verify_base(merged / "base", check_sums=True)
    assert base["dims"]["members"] == 2 and base["dims"]["emb"] == 32 and base["dims"]["pooled"] == 2 * 4 * 16
    for path in sorted((merged / "skills").glob("*.skill")):
        manifest, _ = read_skill(path, base)
        assert manifest["base_id"] == base["base_id"]
    report = json.loads((merged / "build_report.json").read_text())
    assert report["guard"]["passed"] and len(report["ensemble"]) == 2 and report["dev"]
    nlu = edge_nlu.load(merged, home=tmp_path / "home")
    r = nlu.parse("wake me up at seven tomorrow", skill="alarm")
    assert r.intent in nlu.skill("alarm").intents and 0 < r.confidence <= 1


def _member_logits(model: Path, home: Path, skill: str) -> np.ndarray:
    nlu = edge_nlu.load(model, home=home, joint_weight=None)
    sk, base = nlu.skill(skill), nlu.base
    pooled = np.stack([base.run([base.sequence(base.tokenize(t))])[1][0] for t in TEXTS])
    return pooled @ sk.intent_w + sk.intent_b, base


def test_merged_intents_are_the_members_mean(members, merged, tmp_path):
    """Intent logits of the merged model are the mean of the members' (up to the merged table's int8 rounding), and
    its encoder's outputs are exactly the members' outputs side by side on the same float input."""
    z_m, base_m = _member_logits(merged, tmp_path / "h", "alarm")
    zs, bases = zip(*(_member_logits(m, tmp_path / f"h{k}", "alarm") for k, m in enumerate(members)))
    mean = np.mean(zs, axis=0)
    assert np.abs(z_m - mean).max() < 0.05 * max(1.0, np.abs(mean).max())
    assert (log_softmax(z_m).argmax(1) == log_softmax(mean).argmax(1)).all()
    # the graph alone: feed each member its slice of one float input
    seq = base_m.sequence(base_m.tokenize(TEXTS[0]))
    emb = base_m.embed(seq.ids[None])
    states, pooled = base_m.encode(emb, seq.case[None])
    slices = [np.ascontiguousarray(emb[..., 16 * k : 16 * k + 16]) for k in range(len(bases))]
    parts = [b.encode(x, seq.case[None]) for x, b in zip(slices, bases)]
    np.testing.assert_allclose(states, np.concatenate([p[0] for p in parts], -1), atol=1e-5)
    np.testing.assert_allclose(pooled, np.concatenate([p[1] for p in parts], -1), atol=1e-5)


def test_merge_refuses_what_it_cannot_average(members, tiny_model, tmp_path):
    from export.ensemble import main, merge

    with pytest.raises(EdgeNLUError, match="at least two"):
        merge(members[:1], tmp_path / "one")
    with pytest.raises(EdgeNLUError, match="differ in skills|lexical expert"):
        merge([members[0], tiny_model], tmp_path / "mixed")  # another config (the tiny model has lexical experts)
    with pytest.raises(SystemExit, match="export.ensemble: .*at least two"):
        main(["--member", str(members[0]), "--out", str(tmp_path / "cli")])
    assert not (tmp_path / "mixed").exists() and not (tmp_path / "one").exists()


def test_merged_base_compiles_heads_only_skills(merged, tmp_path):
    """A compiled skill cannot fine-tune its own copy of K encoders: on a merged base it gets heads only."""
    from edge_nlu.definitions import read_definition
    from export.skill_compiler import compile_skill

    out = tmp_path / "pizza.skill"
    compile_skill(read_definition(Path(__file__).parent / "fixtures" / "pizza_alexa.json"), merged, out)
    _, members = read_skill(out, verify_base(merged / "base"))
    assert "encoder.onnx" not in members and "encoder_delta.npz" not in members
    nlu = edge_nlu.load(merged, home=tmp_path / "home")
    nlu.install_skill(out)
    assert nlu.parse("order a large pepperoni pizza", skill="pizza_palace").intent is not None
