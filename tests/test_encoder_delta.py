"""A skill's slot encoder shipped as a low-rank delta of the base's int8 weights (``encoder_delta.npz``): the
protobuf weight reader, the re-quantization, the compiled member and its checks."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edge_nlu.errors import ArtifactError
from edge_nlu.runtime.artifacts import npz_arrays
from edge_nlu.runtime.encoder_delta import NAMES, DeltaError, apply_delta, quantize_channels
from edge_nlu.runtime.onnx_weights import OnnxWeightsError, read_initializers
from tests.conftest import flip_byte, rewrite_zip

onnx = pytest.importorskip("onnx")
pytest.importorskip("torch")


@pytest.mark.parametrize("graph", ["_work/encoder_fp32.onnx", "base/encoder.onnx"])
def test_weight_reader_matches_onnx(tiny_model, graph):
    """Every initializer of the exported and the int8 graph reads back as onnx itself reads it (raw_data and the
    typed float_data / int32_data fields the quantizer writes for scales and zero points)."""
    from onnx import numpy_helper

    data = (tiny_model / graph).read_bytes()
    ref = {i.name: numpy_helper.to_array(i) for i in onnx.load_from_string(data).graph.initializer}
    got = read_initializers(data, list(ref))
    assert set(got) == set(ref)
    for name, arr in ref.items():
        assert got[name].dtype == arr.dtype and got[name].shape == arr.shape
        assert np.array_equal(got[name], arr), name
    with pytest.raises(OnnxWeightsError, match="no initializer"):
        read_initializers(data, ["not-there"])
    with pytest.raises(OnnxWeightsError):
        read_initializers(data[: len(data) // 2], list(ref))


def test_requantization_reproduces_the_quantizer(tiny_model):
    """A zero delta gives back the base graph's int8 weights and scales exactly: the runtime quantizes as
    onnxruntime's quantizer does, so a delta skill differs from its base only by what it learned."""
    from export.skill_encoder import lstm_names

    names = lstm_names(tiny_model / "base" / "encoder.onnx")
    assert names is not None and list(names) == list(NAMES)
    base = read_initializers((tiny_model / "base" / "encoder.onnx").read_bytes(), list(names.values()))
    q = base[names["w"]]
    d, i, g = q.shape
    zero = {
        "names": np.array([names[k] for k in NAMES]),
        "w_up": np.zeros((d, g, 2), np.float16),
        "w_down": np.ones((d, 2, i), np.float16),
        "r_up": np.zeros((d, g, 2), np.float16),
        "r_down": np.ones((d, 2, base[names["r"]].shape[1]), np.float16),
        "bias": base[names["bias"]],
        "case": base[names["case"]],
        "qmax": np.array([64], np.int32),
    }
    out = apply_delta(base, zero)
    for k in ("w", "w_scale", "r", "r_scale", "bias", "case"):
        assert np.array_equal(out[names[k]], base[names[k]]), k
    bad = dict(zero, w_down=np.ones((d, 3, i), np.float16))  # rank differs between up and down
    with pytest.raises(DeltaError, match="w_up"):
        apply_delta(base, bad)
    with pytest.raises(DeltaError, match="case"):
        apply_delta(base, dict(zero, case=np.zeros((3, 3), np.float32)))
    with pytest.raises(DeltaError, match="finite"):
        apply_delta(base, dict(zero, bias=np.full_like(zero["bias"], np.nan)))
    q2, s2 = quantize_channels(np.zeros((1, 4, 2), np.float32), 64)  # an all-zero channel: scale 1, not 0/0
    assert np.all(q2 == 0) and np.all(s2 == 1)


@pytest.fixture()
def delta_skill(pizza_skill) -> Path:
    """The pizza fixture as build-skill compiles it by default: its slot encoder a rank-8 delta."""
    return pizza_skill


def test_delta_skill_is_small_and_format_version_3(delta_skill, pizza_full_skill):
    from edge_nlu.runtime.artifacts import SKILL_DELTA_VERSION

    z = zipfile.ZipFile(delta_skill)
    manifest = json.loads(z.read("manifest.json"))
    assert manifest["format_version"] == SKILL_DELTA_VERSION
    assert "encoder_delta.npz" in manifest["files"] and "encoder.onnx" not in manifest["files"]
    # smaller than the whole copy even for the tiny base (hidden 32); for the shipped base's: 55 vs 288 KB
    assert len(z.read("encoder_delta.npz")) < len(zipfile.ZipFile(pizza_full_skill).read("encoder.onnx"))
    assert npz_arrays(z.read("encoder_delta.npz"))["w_up"].shape[-1] == 8  # the compiler's default rank


def test_delta_skill_states_match_the_trained_encoder(delta_skill, tiny_model, home):
    """The runtime's encoder (base graph + the skill's re-quantized weights) computes what the torch encoder the
    compiler trained computes (base weights + up @ down), within int8's quantization; and not the base's states."""
    import torch

    import edge_nlu
    from export.skill_encoder import _onnx_gates, encoder_from_onnx

    nlu = edge_nlu.load(tiny_model, home=home)
    nlu.install_skill(delta_skill, name="pizza")
    sk = nlu.skill("pizza")
    assert sk.has_encoder
    text = "order a large pepperoni pizza with extra cheese"
    seq, states, _ = nlu._encode(nlu._prepare(text, "pizza", None), sk)
    own = sk.slot_states(nlu.base, seq)
    assert own.shape == states.shape and not np.allclose(own, states, atol=1e-3)

    # rebuild the trained encoder in torch from the member: the base's dequantized weights plus the delta
    with zipfile.ZipFile(delta_skill) as z:
        delta = npz_arrays(z.read("encoder_delta.npz"))
    dims = nlu.base.dims
    enc = encoder_from_onnx(tiny_model / "base" / "encoder.onnx", dims["emb"], dims["hidden"])
    h = dims["hidden"]
    inv = {"i": 0, "o": 1, "f": 2, "c": 3}  # ONNX gate blocks -> torch order (i, f, g, o)
    order = [inv[k] for k in "ifco"]

    def torch_gates(a):  # ONNX (i, o, f, c) -> torch (i, f, g, o) along axis 0
        return np.concatenate([a[j * h : (j + 1) * h] for j in order])

    sd = enc.state_dict()
    for key, name in (("w", "lstm.weight_ih_l0"), ("r", "lstm.weight_hh_l0")):
        for dr, sfx in ((0, ""), (1, "_reverse")):
            up = torch_gates(delta[f"{key}_up"][dr].astype(np.float32))
            sd[name + sfx] = sd[name + sfx] + torch.tensor(up @ delta[f"{key}_down"][dr].astype(np.float32))
    for dr, sfx in ((0, ""), (1, "_reverse")):
        b = delta["bias"][dr]
        sd[f"lstm.bias_ih_l0{sfx}"] = torch.tensor(torch_gates(b[: 4 * h]))
        sd[f"lstm.bias_hh_l0{sfx}"] = torch.tensor(torch_gates(b[4 * h :]))
    sd["case.weight"] = torch.tensor(delta["case"])
    enc.load_state_dict(sd)
    emb = nlu.base.embed(seq.ids, sk.patch_q, sk.patch_s)
    with torch.no_grad():
        t_states, _ = enc.eval()(torch.tensor(emb[None]), torch.tensor(seq.case[None]))
    err = np.abs(t_states.numpy()[0] - own)
    assert err.max() < 0.1 and err.mean() < 0.005  # int8 weights and activations; states are in (-1, 1)
    assert np.abs(t_states.numpy()[0] - states).mean() > 5 * err.mean()  # and far from the base's states
    # the gate reordering is its own inverse pair with the compiler's
    a = np.arange(4 * h)
    assert np.array_equal(torch_gates(_onnx_gates(a, h)), a)
    assert nlu.parse(text, skill="pizza").intent is not None


def test_delta_member_is_verified(delta_skill, tiny_model, tmp_path, home):
    """A corrupted delta is refused by its checksum; a consistent delta that names a tensor the base graph lacks,
    or has the wrong shape, fails on the first parse with the member and the check named."""
    import edge_nlu
    from edge_nlu.runtime.artifacts import npz_bytes, rewrite_skill
    from edge_nlu.runtime.skill import Skill

    bad = tmp_path / "bad.skill"
    rewrite_zip(delta_skill, bad, flip_byte("encoder_delta.npz"))
    with pytest.raises(ArtifactError, match="sha256"):
        Skill(bad)

    def edit_delta(change):
        def edit(m):
            arrays = npz_arrays(m["encoder_delta.npz"])
            change(arrays)
            m["encoder_delta.npz"] = npz_bytes(arrays)

        return edit

    def rename(a):
        a["names"] = np.array(["no-such-weight"] + [str(x) for x in a["names"][1:]])

    def reshape(a):
        a["w_up"] = a["w_up"][:, :-1]

    def swap_roles(a):  # the bias's name where the input weights' should be: a 2-D tensor, not [D, I, 4H]
        names = [str(x) for x in a["names"]]
        names[0] = names[6]
        a["names"] = np.array(names)

    for change, check in ((rename, "onnx"), (reshape, "encoder_delta"), (swap_roles, "encoder_delta")):
        other = tmp_path / f"{change.__name__}.skill"
        other.write_bytes(delta_skill.read_bytes())
        rewrite_skill(other, None, edit_delta(change))  # consistent sums: only the content is wrong
        nlu = edge_nlu.load(tiny_model, home=home)
        name = nlu.install_skill(other, name=change.__name__)
        with pytest.raises(ArtifactError) as e:
            nlu.parse("order a large pizza", skill=name)
        assert e.value.check == check
