"""A compiled skill's own fine-tuned slot encoder: weight conversion, the ``encoder.onnx`` member and its checks."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from edge_nlu.errors import ArtifactError
from tests.conftest import flip_byte, rewrite_zip

pytest.importorskip("torch")


@pytest.mark.parametrize("graph", ["_work/encoder_fp32.onnx", "base/encoder.onnx"])
def test_encoder_from_onnx_reproduces_the_graph(tiny_model, graph):
    """The torch copy computes what onnxruntime computes from the same graph: exactly for fp32, and within int8's
    activation quantization for the dynamic int8 graph (its weights dequantized)."""
    import onnxruntime as ort
    import torch

    from export.skill_encoder import encoder_from_onnx

    dims = json.loads((tiny_model / "base" / "manifest.json").read_text())["dims"]
    enc = encoder_from_onnx(tiny_model / graph, dims["emb"], dims["hidden"])
    assert enc is not None
    rng = np.random.default_rng(0)
    emb = rng.normal(0, 0.3, (1, 11, dims["emb"])).astype(np.float32)
    case = rng.integers(0, 7, (1, 11))
    sess = ort.InferenceSession(str(tiny_model / graph), providers=["CPUExecutionProvider"])
    states, pooled = sess.run(None, {"emb": emb, "case": case})
    with torch.no_grad():
        t_states, t_pooled = enc.eval()(torch.tensor(emb), torch.tensor(case))
    tol = 1e-5 if "fp32" in graph else 0.05
    assert np.abs(t_states.numpy() - states).max() < tol
    assert np.abs(t_pooled.numpy() - pooled).max() < tol


def test_compiled_skill_carries_its_encoder_and_uses_it(pizza_full_skill, tiny_model, home, tmp_path, monkeypatch):
    """build-skill fine-tunes a copy of the encoder: the skill ships it (listed in its manifest), the runtime reads
    the slot head's states from it, and a skill compiled without it (FINETUNE off) still parses on the base's."""
    import edge_nlu
    import export.skill_compiler as sc
    from edge_nlu.definitions import read_definition
    from edge_nlu.runtime.skill import Skill
    from tests.conftest import FIXTURES

    sk = Skill(pizza_full_skill)
    assert sk.has_encoder
    manifest = json.loads(zipfile.ZipFile(pizza_full_skill).read("manifest.json"))
    assert "encoder.onnx" in manifest["files"]
    base_bytes = (tiny_model / "base" / "encoder.onnx").read_bytes()
    assert zipfile.ZipFile(pizza_full_skill).read("encoder.onnx") != base_bytes  # fine-tuned, not a copy

    monkeypatch.setattr(sc, "FINETUNE", False)
    plain = tmp_path / "plain.skill"
    sc.compile_skill(read_definition(FIXTURES / "pizza_alexa.json"), tiny_model, plain, rank=0)
    assert not Skill(plain).has_encoder
    assert "encoder.onnx" not in zipfile.ZipFile(plain).namelist()
    assert json.loads(zipfile.ZipFile(plain).read("manifest.json"))["format_version"] == 1  # older runtimes read it
    assert plain.stat().st_size < pizza_full_skill.stat().st_size

    nlu = edge_nlu.load(tiny_model, home=home)
    nlu.install_skill(pizza_full_skill, name="pizza")
    nlu.install_skill(plain, name="plain")
    text = "order a large pepperoni pizza"
    got = nlu.parse(text, skill="pizza")
    assert got.intent is not None
    # the fine-tuned skill decodes from its own encoder's states: same words, different slot features
    loaded = nlu.skill("pizza")
    it = nlu._prepare(text, "pizza", None)
    seq, states, _ = nlu._encode(it, loaded)
    own = loaded.slot_states(nlu.base, seq)
    assert own.shape == states.shape
    assert not np.allclose(own, states)
    assert nlu.parse(text, skill="plain").intent is not None


def test_skill_encoder_member_is_verified(pizza_full_skill, tmp_path):
    """An encoder.onnx that is corrupted, missing while listed, or added without being listed is refused at load,
    with the file and the check named."""
    from edge_nlu.runtime.skill import Skill

    bad = tmp_path / "bad.skill"
    rewrite_zip(pizza_full_skill, bad, flip_byte("encoder.onnx"))
    with pytest.raises(ArtifactError, match="sha256") as e:
        Skill(bad)
    assert "encoder.onnx" in str(e.value)

    gone = tmp_path / "gone.skill"
    rewrite_zip(pizza_full_skill, gone, lambda m: m.pop("encoder.onnx"))
    with pytest.raises(ArtifactError, match="missing"):
        Skill(gone)

    def unlisted(version: int):
        def edit(m):
            man = json.loads(m["manifest.json"])
            del man["files"]["encoder.onnx"]
            man["format_version"] = version
            m["manifest.json"] = json.dumps(man).encode()

        return edit

    extra = tmp_path / "extra.skill"
    rewrite_zip(pizza_full_skill, extra, unlisted(2))  # version 2 promises an encoder its manifest does not list
    with pytest.raises(ArtifactError, match="version 2 has encoder.onnx"):
        Skill(extra)
    rewrite_zip(pizza_full_skill, extra, unlisted(1))  # a version-1 manifest with an encoder slipped into the archive
    with pytest.raises(ArtifactError, match="sha256"):
        Skill(extra)


def test_a_skill_with_its_own_encoder_is_format_version_2(pizza_full_skill):
    """A runtime that reads only version 1 refuses such a skill instead of parsing its slots from the shared
    encoder's states (a heads-only skill stays version 1: see the test above)."""
    from edge_nlu.runtime.artifacts import SKILL_ENCODER_VERSION

    manifest = json.loads(zipfile.ZipFile(pizza_full_skill).read("manifest.json"))
    assert manifest["format_version"] == SKILL_ENCODER_VERSION


def test_a_skill_encoder_of_the_wrong_width_is_refused(pizza_full_skill, tiny_model, tmp_path):
    """A skill whose own encoder is a valid graph of another width (consistent checksums) fails with the file
    and the check named on the first parse that needs it, not with an onnxruntime shape error."""
    import torch

    from edge_nlu.runtime.artifacts import sha256_bytes
    from edge_nlu.runtime.base import Base
    from edge_nlu.runtime.skill import Skill
    from export.skill_encoder import int8_encoder_bytes
    from export.student import Encoder

    dims = json.loads((tiny_model / "base" / "manifest.json").read_text())["dims"]
    torch.manual_seed(0)
    other = int8_encoder_bytes(Encoder(dims["emb"], dims["hidden"] // 2).eval(), dims["emb"])

    def swap(m):
        m["encoder.onnx"] = other
        man = json.loads(m["manifest.json"])
        man["files"]["encoder.onnx"] = {"sha256": sha256_bytes(other), "size": len(other)}
        m["manifest.json"] = json.dumps(man).encode()

    narrow = tmp_path / "narrow.skill"
    rewrite_zip(pizza_full_skill, narrow, swap)
    sk = Skill(narrow)
    base = Base(tiny_model / "base")
    seq = base.sequence(base.tokenize("order a pizza"))
    with pytest.raises(ArtifactError, match="wide") as e:
        sk.slot_states(base, seq)
    assert "encoder.onnx" in str(e.value)


def test_add_to_skill_gives_a_jointly_trained_skill_its_own_encoder(tiny_model, home, tmp_path):
    """``export.skill_encoder.add_to_skill``: a base's own skill (states features, lexical expert) gets a fine-tuned
    slot encoder; the rest of the skill is kept, and the new file installs and parses."""
    import edge_nlu
    from edge_nlu.data import data_dir
    from edge_nlu.definitions.jsonl import read_jsonl
    from edge_nlu.runtime.skill import Skill
    from export.skill_encoder import add_to_skill

    rows = [u for u in read_jsonl(data_dir() / "hwu64" / "train.jsonl") if u.skill == "alarm" and u.intent][:40]
    out = tmp_path / "alarm.skill"
    info = add_to_skill(tiny_model, "alarm", rows, out)
    assert info["rows"] == 40 and info["encoder_bytes"] > 0
    old, new = Skill(tiny_model / "skills" / "alarm.skill"), Skill(out)
    assert new.has_encoder and not old.has_encoder
    assert new.intents == old.intents and new.tags == old.tags and np.array_equal(new.intent_w, old.intent_w)
    nlu = edge_nlu.load(tiny_model, home=home)
    nlu.install_skill(out, name="alarm2")
    assert nlu.parse("wake me up at seven", skill="alarm2").skill == "alarm2"
