"""A compiled skill's head weights as stored: the hashed lexical table int8 with a scale per tag, the intent and slot
matrices float16; older skills (a float16 lexical table, float32 matrices) still load."""

from __future__ import annotations

import json
import tempfile

import numpy as np
import pytest

from edge_nlu.errors import ArtifactError
from edge_nlu.runtime.artifacts import npz_arrays, npz_bytes, read_skill, verify_base, write_skill
from edge_nlu.runtime.lexical import BUCKETS, lexical_emissions, lexical_ids
from edge_nlu.runtime.skill import Skill
from export.skill_compiler import pack_weights, unpack_weights
from quantize.int8 import quantize_columns

WORDS = "order a large pepperoni pizza for tonight".split()
PIZZA_TEXTS = ["order a large pepperoni pizza", "i want two small veggie pizzas for tonight", "cancel my order"]


def _heads(n_tags: int = 5, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    lex = rng.normal(size=(BUCKETS, n_tags)).astype(np.float32)
    lex[rng.random(BUCKETS) < 0.5] = 0  # most buckets are never seen in training: exactly 0
    return {
        "intent_w": rng.normal(size=(16, 3)).astype(np.float32),
        "intent_b": rng.normal(size=3).astype(np.float32),
        "slot_w": rng.normal(size=(24, n_tags)).astype(np.float32),
        "slot_b": rng.normal(size=n_tags).astype(np.float32),
        "transitions": rng.normal(size=(n_tags + 1, n_tags)).astype(np.float32),
        "lex_w": lex,
    }


def test_quantize_columns_bounds_the_error_per_column():
    w = _heads()["lex_w"] * np.array([1.0, 10.0, 0.01, 0.0, 3.0], np.float32)  # columns of very different ranges
    q, s = quantize_columns(w)
    assert q.dtype == np.int8 and s.shape == (5,) and np.all(s > 0)
    assert np.all(np.abs(q.astype(np.float32) * s - w) <= s / 2 + 1e-7)
    assert np.all(np.abs(q).max(0)[[0, 1, 2, 4]] == 127) and not q[:, 3].any()  # a zero column stays zero
    assert not q[w == 0].any()  # unseen buckets stay exactly 0


def test_int8_lexical_emissions_equal_the_dequantized_table():
    q, s = quantize_columns(_heads()["lex_w"])
    got = lexical_emissions(WORDS, q, scale=s)
    want = lexical_emissions(WORDS, q.astype(np.float32) * s)
    assert got.dtype == np.float32 and got.shape == (len(WORDS), 5)
    assert np.allclose(got, want, atol=1e-5)
    # the sum runs in int32: a word with many features at +127 does not wrap around as int8 would
    full = np.full((BUCKETS, 2), 127, np.int8)
    assert np.allclose(lexical_emissions(["a"], full, scale=np.ones(2, np.float32)), 127 * len(lexical_ids(["a"])[0]))


def test_pack_and_unpack_weights():
    w = _heads()
    other = {"patch_q": np.ones((2, 4), np.int8), "intent_lex_w": np.ones((BUCKETS, 3), np.int8)}
    packed = pack_weights({**w, **other})
    assert packed["lex_w"].dtype == np.int8 and packed["lex_s"].shape == (5,)
    assert packed["slot_w"].dtype == np.float16 and packed["intent_w"].dtype == np.float16
    assert all(packed[k].dtype == np.float32 for k in ("intent_b", "slot_b", "transitions"))
    assert all(packed[k] is other[k] for k in other)  # int8 members of other kinds pass unchanged
    back = unpack_weights(packed)
    assert "lex_s" not in back and all(back[k].dtype == np.float32 for k in w)
    assert np.all(np.abs(back["lex_w"] - w["lex_w"]) <= packed["lex_s"] / 2 + 1e-6)
    assert np.allclose(back["slot_w"], w["slot_w"], rtol=1e-3, atol=1e-4)
    # an older skill's float16 table (no scale) unpacks as is
    half = w["lex_w"].astype(np.float16)
    assert np.array_equal(unpack_weights({"lex_w": half})["lex_w"], half)


def _arrays(path) -> dict[str, np.ndarray]:
    return npz_arrays(read_skill(path)[1]["weights.npz"])


def _rewrite(src, dst, base_manifest: dict, edit) -> None:
    """``src`` with its weights.npz arrays edited by ``edit(arrays)``, written with fresh sums (a well-formed file
    whose contents are wrong, which only the runtime's own checks can catch)."""
    manifest, members = read_skill(src, base_manifest)
    arrays = _arrays(src)
    edit(arrays)
    members["weights.npz"] = npz_bytes(arrays)
    meta = {k: v for k, v in manifest.items() if k not in ("format", "format_version", "files")}
    write_skill(dst, members, meta)


def test_compiled_skill_stores_compact_heads(pizza_skill, tiny_model):
    a = _arrays(pizza_skill)
    n_tags = a["slot_b"].shape[0]
    assert a["lex_w"].dtype == np.int8 and a["lex_w"].shape == (BUCKETS, n_tags)
    assert a["lex_s"].dtype == np.float32 and a["lex_s"].shape == (n_tags,)
    assert a["slot_w"].dtype == np.float16 and a["intent_w"].dtype == np.float16
    sk = Skill(pizza_skill, verify_base(tiny_model / "base"))
    assert sk.lex_w.dtype == np.int8 and sk.slot_w.dtype == np.float32  # widened once at load for the matmuls


def test_an_older_float16_skill_decodes_the_same(pizza_skill, tiny_model, tmp_path):
    """The format before int8 tables (float16 ``lex_w``, float32 matrices) still loads, and its decoding equals
    the compact file's: the stored weights are the same numbers, only their encoding differs."""
    base = verify_base(tiny_model / "base")
    old = tmp_path / "old.skill"

    def widen(arrays):
        wide = unpack_weights(arrays)
        arrays.clear()
        arrays.update(wide)
        arrays["lex_w"] = arrays["lex_w"].astype(np.float16)

    _rewrite(pizza_skill, old, base, widen)
    new_sk, old_sk = Skill(pizza_skill, base), Skill(old, base)
    assert old_sk.lex_s is None and old_sk.lex_w.dtype == np.float16
    feats = np.random.default_rng(1).normal(size=(len(WORDS), new_sk.slot_w.shape[0])).astype(np.float32)
    e_new = lexical_emissions(WORDS, new_sk.lex_w, scale=new_sk.lex_s)
    e_old = lexical_emissions(WORDS, old_sk.lex_w)
    assert np.allclose(e_new, e_old, atol=1e-2 * max(1.0, float(np.abs(e_new).max())))
    assert new_sk.decode(feats, WORDS) == old_sk.decode(feats, WORDS)


def _no_scale(a):
    a.pop("lex_s")


def _scale_shape(a):
    a["lex_s"] = np.ones(len(a["lex_s"]) + 1, np.float32)


def _scale_nan(a):
    a["lex_s"] = np.full_like(a["lex_s"], np.nan)


def _scale_zero(a):
    a["lex_s"] = np.zeros_like(a["lex_s"])


def _float_with_scale(a):
    a["lex_w"] = a["lex_w"].astype(np.float16)


def _scale_alone(a):
    a.pop("lex_w")


def _int16_table(a):
    a["lex_w"] = a["lex_w"].astype(np.int16)


@pytest.mark.parametrize(
    "edit", [_no_scale, _scale_shape, _scale_nan, _scale_zero, _float_with_scale, _scale_alone, _int16_table]
)
def test_a_malformed_lexical_table_is_refused(pizza_skill, tiny_model, tmp_path, edit):
    base = verify_base(tiny_model / "base")
    bad = tmp_path / "bad.skill"
    _rewrite(pizza_skill, bad, base, edit)
    with pytest.raises(ArtifactError) as e:
        Skill(bad, base)
    assert e.value.check == "dims" and "bad.skill" in str(e.value)
    assert json.loads(read_skill(bad)[1]["labels.json"])["lexical"]  # the labels still promise lexical features


def _older(pizza_skill, dst, base: dict, monkeypatch) -> dict[str, np.ndarray]:
    """``dst``: the pizza skill in the encoding before compact heads (as the shipped skills were until 2026-12-03);
    returns the compact arrays a compile writes from the same float weights (the skill's own, float16 lexical table
    as training hands it over)."""
    import export.skill_compiler as sc

    floats = unpack_weights(_arrays(pizza_skill))
    floats["lex_w"] = floats["lex_w"].astype(np.float16)
    want = sc.pack_weights(floats)
    monkeypatch.setattr(sc, "COMPACT", False)
    old = sc.pack_weights(floats)
    monkeypatch.setattr(sc, "COMPACT", True)

    def to_old(arrays):
        arrays.clear()
        arrays.update(old)

    _rewrite(pizza_skill, dst, base, to_old)
    return want


def test_repacking_an_older_file_equals_compiling_compact(pizza_skill, tiny_model, tmp_path, monkeypatch):
    """benchmarks.compact_heads compiles once in the earlier encoding and repacks: that must give the very arrays a
    compact compile writes (the same float weights through the same pack_weights), or its comparison is not one.
    The float weights here are the pizza skill's own (float16 lexical table, as training hands it over)."""
    import export.skill_compiler as sc
    from benchmarks.compact_heads import repack, table_markdown

    base = verify_base(tiny_model / "base")
    wide, compact = tmp_path / "wide.skill", tmp_path / "compact.skill"
    want = _older(pizza_skill, wide, base, monkeypatch)  # what write_skill_file stores (COMPACT, the default)
    old = _arrays(wide)  # ... and stored before compact heads
    assert old["lex_w"].dtype == np.float16 and old["slot_w"].dtype == np.float32 and "lex_s" not in old
    repack(wide, compact, base)
    got = _arrays(compact)
    assert sorted(got) == sorted(want)
    assert all(got[k].dtype == want[k].dtype and np.array_equal(got[k], want[k]) for k in want)
    with pytest.raises(ValueError, match="packed already"):
        sc.pack_weights(got)
    rec = {"bytes": {"wide": 2048, "compact": 1024}}
    rec["splits"] = {
        s: {"differ": 0, **{k: {"n": 3, "slot_f1": 90.0} for k in ("wide", "compact")}} for s in ("dev", "test")
    }
    md = table_markdown({"pizza": rec})
    assert "| pizza | 2.0 → 1.0 | 0 of 3 | 90.0 / 90.0 | 0 of 3 | 90.0 / 90.0 |" in md


def test_repack_rewrites_a_model_folder_once(pizza_skill, tiny_model, tmp_path, monkeypatch):
    """export.repack on a model folder: an older skill shrinks to the compact arrays, its sums verify, the build
    report's sizes follow, parses stay the same; a second repack leaves the (compact) files untouched."""
    import shutil

    from edge_nlu.runtime.nlu import load
    from export.repack import is_compact, main

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model, ignore=shutil.ignore_patterns("_work"))
    base = verify_base(model / "base")
    old = model / "skills" / "pizza.skill"
    want = _older(pizza_skill, old, base, monkeypatch)
    assert not is_compact(_arrays(old))
    with tempfile.TemporaryDirectory() as home:
        before = [load(model, home=home).parse(t, skill="pizza") for t in PIZZA_TEXTS]
    size = old.stat().st_size
    assert main([str(model)]) == 0
    got = _arrays(old)
    assert is_compact(got) and sorted(got) == sorted(want)
    assert all(got[k].dtype == want[k].dtype and np.array_equal(got[k], want[k]) for k in want)
    assert old.stat().st_size < size
    read_skill(old, base)  # fresh sums
    report = json.loads((model / "build_report.json").read_text())
    assert report["sizes"]["skills_bytes"]["pizza"] == old.stat().st_size
    assert "pizza" in report["stages"]["repack"]["skills"]
    with tempfile.TemporaryDirectory() as home:
        after = [load(model, home=home).parse(t, skill="pizza") for t in PIZZA_TEXTS]
    assert [(r.intent, [(s.slot, s.start, s.end) for s in r.slots]) for r in after] == [
        (r.intent, [(s.slot, s.start, s.end) for s in r.slots]) for r in before
    ]
    stamps = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (model / "skills").glob("*.skill")}
    assert main([str(model)]) == 0
    assert stamps == {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (model / "skills").glob("*.skill")}


def test_repack_refuses_a_corrupted_skill_and_leaves_it(pizza_skill, tiny_model, tmp_path, monkeypatch):
    from export.repack import main

    base = verify_base(tiny_model / "base")
    old = tmp_path / "old.skill"
    _older(pizza_skill, old, base, monkeypatch)
    raw = bytearray(old.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    old.write_bytes(bytes(raw))
    with pytest.raises(ArtifactError) as e:
        main([str(old), "--base", str(tiny_model / "base")])
    assert "old.skill" in str(e.value)
    assert old.read_bytes() == bytes(raw) and sorted(p.name for p in tmp_path.iterdir()) == ["old.skill"]
    with pytest.raises(FileNotFoundError, match="no skills"):
        main([str(tmp_path)])
