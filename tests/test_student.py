"""The student's training losses on a synthetic two-skill set (no data files, a second or two)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from export.student import Example, SkillLabels, Student, train_student  # noqa: E402


def _setup(seed: int = 0):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    skills = [SkillLabels("a", ["a1", "a2", "__none__"], ["O"]), SkillLabels("b", ["b1", "b2", "__none__"], ["O"])]
    examples = []
    for k in range(48):
        skill = skills[k % 2]
        intent = (k // 2) % 2
        n = 3 + k % 4
        ids = [int(x) for x in rng.integers(1, 50, n)]
        ids[0] = 50 + 2 * (k % 2) + intent  # one word that says skill and intent
        examples.append(Example(skill.name, ids, [0] * n, list(range(n)), intent, [0] * n))
    emb = rng.normal(size=(60, 8)).astype(np.float32)
    return Student(emb, skills, hidden=8), examples


def _route_probs(model: Student, examples: list[Example]) -> float:
    """Mean routing probability of the right skill+intent: the in-skill probabilities renormalised over both skills."""
    right = []
    with torch.no_grad():
        for e in examples:
            _, pooled = model.encode(torch.tensor([e.ids]), torch.tensor([e.case]), torch.tensor([len(e.ids)]))
            p = {s: torch.softmax(model.intent[s](pooled)[0], -1)[:-1] for s in ("a", "b")}
            z = torch.cat([p["a"], p["b"]])
            right.append(float(z[(0 if e.skill == "a" else 2) + e.intent] / z.sum()))
    return float(np.mean(right))


def _train(route_weight: float, groups: dict[str, list[str]] | None) -> Student:
    model, examples = _setup()
    train_student(
        model, examples, epochs=20, batch_size=8, lr=1e-2, crf=False, route_weight=route_weight, route_groups=groups
    )
    return model


def test_routing_loss_only_acts_within_groups():
    plain = _train(0.0, None)
    singles = _train(1.0, {"a": ["a"], "b": ["b"]})  # a skill alone in its data set: nothing to route among
    for p, q in zip(plain.parameters(), singles.parameters()):
        assert torch.equal(p, q)
    grouped = _train(1.0, {"a": ["a", "b"], "b": ["a", "b"]})
    assert any(not torch.equal(p, q) for p, q in zip(plain.parameters(), grouped.parameters()))


def test_routing_loss_raises_the_right_skills_share():
    _, examples = _setup()
    plain = _route_probs(_train(0.0, None), examples)
    grouped = _route_probs(_train(5.0, {"a": ["a", "b"], "b": ["a", "b"]}), examples)
    assert grouped > plain


def test_routing_loss_distils_the_teachers_group_softmax():
    """With soft labels and route_kd_only, only the routing loss sees the teacher: a flat teacher changes the result."""
    groups = {"a": ["a", "b"], "b": ["a", "b"]}
    hard = _train(1.0, groups)
    model, examples = _setup()
    for e in examples:  # a teacher that cannot tell the four intents apart
        e.soft_intent = {"a": np.array([0.25, 0.25, 0.5], np.float32), "b": np.array([0.25, 0.25, 0.5], np.float32)}
    kw = dict(epochs=20, batch_size=8, lr=1e-2, crf=False, route_weight=1.0, route_groups=groups, route_kd_only=True)
    train_student(model, examples, **kw)
    assert any(not torch.equal(p, q) for p, q in zip(hard.parameters(), model.parameters()))
    assert _route_probs(model, examples) < _route_probs(hard, examples)


def _four_skills():
    """Skills a, b (one data set) with rows; c, d (another set) without any: only cross-set routing reaches them."""
    model, examples = _setup()
    skills = model.skills + [SkillLabels(n, [f"{n}1", f"{n}2", "__none__"], ["O"]) for n in ("c", "d")]
    torch.manual_seed(0)
    model = Student(model.emb.weight.detach().numpy(), skills, hidden=8)
    for e in examples:  # the teacher maps a row's intent k to skill c (k = 0) or d (k = 1), first intent
        e.soft_intent = {s.name: np.array([0.0, 0.0, 1.0], np.float32) for s in skills}
        e.soft_intent[e.skill] = np.array([0.5, 0.0, 0.5], np.float32) if e.intent == 0 else np.array([0, 0.5, 0.5])
        e.soft_intent["c" if e.intent == 0 else "d"] = np.array([0.5, 0.0, 0.5], np.float32)
    groups = {"a": ["a", "b"], "b": ["a", "b"], "c": ["c", "d"], "d": ["c", "d"]}
    return model, examples, groups


def _xset_right(model: Student, examples: list[Example]) -> float:
    """Mean share the c/d routing softmax gives the teacher's choice (c1 for intent 0 rows, d1 for intent 1)."""
    right = []
    with torch.no_grad():
        for e in examples:
            _, pooled = model.encode(torch.tensor([e.ids]), torch.tensor([e.case]), torch.tensor([len(e.ids)]))
            z = torch.cat([torch.log_softmax(model.intent[s](pooled)[0], -1)[:-1] for s in ("c", "d")])
            right.append(float(torch.softmax(z, -1)[0 if e.intent == 0 else 2]))
    return float(np.mean(right))


def test_cross_set_routing_distils_other_groups():
    kw = dict(epochs=20, batch_size=8, lr=1e-2, crf=False, route_weight=1.0, route_kd_only=True)
    base, examples, groups = _four_skills()
    train_student(base, examples, route_groups=groups, **kw)
    xset, examples, groups = _four_skills()
    train_student(xset, examples, route_groups=groups, route_xset=1.0, **kw)
    assert _xset_right(xset, examples) > _xset_right(base, examples) + 0.2
    assert _xset_right(xset, examples) > 0.6


@pytest.mark.parametrize("key", ["route_kd_only", "route_xset"])
def test_build_refuses_teacher_losses_without_a_teacher(tmp_path, key):
    from export.build import build

    with pytest.raises(SystemExit, match=key):
        build({"sets": {}, "student": {key: 1}}, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # refused before writing anything


def test_build_refuses_word_drop_on_a_set_it_does_not_train(tmp_path):
    from export.build import build

    with pytest.raises(SystemExit, match=r"word_drop_sets .*\['atis'\]"):
        build({"sets": {"snips": None}, "student": {"word_drop": 0.1, "word_drop_sets": ["atis"]}}, tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_a_failed_build_leaves_the_previous_one(tiny_model, tmp_path):
    import shutil

    import edge_nlu
    from export.build import build

    out = tmp_path / "model"
    shutil.copytree(tiny_model, out)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    with pytest.raises(SystemExit, match="not a fine-tuned teacher"):
        build({"sets": {}}, out, teacher=tmp_path / "no-teacher")
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    edge_nlu.load(out, home=tmp_path / "home")  # still loads: nothing was removed


def test_build_cli_user_mistakes_are_one_line(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.json"
    bad.write_text('{"sets": ')
    for args in (["--config", str(tmp_path / "none.json")], ["--config", str(bad)]):
        p = subprocess.run(
            [sys.executable, "-m", "export.build", *args, "--out", str(tmp_path / "o")], capture_output=True, text=True
        )
        assert p.returncode != 0 and "Traceback" not in p.stderr and "cannot read the config" in p.stderr


def test_build_output_folder_rules(tmp_path, monkeypatch):
    from export.build import _output_folder, _replace

    monkeypatch.chdir(tmp_path)
    for bad in (".", "..", str(tmp_path)):
        with pytest.raises(SystemExit, match="replaces this folder"):
            _output_folder(Path(bad))
    # an interrupted swap (the old build moved aside, the new one not yet in place) is put back
    (tmp_path / "m.old").mkdir()
    (tmp_path / "m.old" / "x").write_text("old")
    assert _output_folder(Path("m")) == tmp_path / "m" and (tmp_path / "m" / "x").read_text() == "old"
    # a symlinked output: its target is replaced, the link stays
    (tmp_path / "target").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "target")
    final = _output_folder(Path("link"))
    staging = final.with_name(final.name + ".partial")
    staging.mkdir()
    (staging / "y").write_text("new")
    _replace(staging, final)
    assert (tmp_path / "link").is_symlink() and (tmp_path / "link" / "y").read_text() == "new"


def test_drop_pieces_keeps_cls_and_sep_and_draws_nothing_when_off():
    import random

    from export.student import drop_pieces

    rng = random.Random(0)
    ids = list(range(10, 40))
    assert drop_pieces(ids, 0.0, rng) == ids and rng.random() == random.Random(0).random()
    dropped = drop_pieces(ids, 0.5, random.Random(1))
    assert dropped[0] == 10 and dropped[-1] == 39 and len(dropped) == len(ids)
    assert 5 <= dropped.count(0) <= 23
    assert drop_pieces(ids, 1.0, random.Random(1)) == [10] + [0] * 28 + [39]


def test_ema_and_word_drop_change_training_only_when_on():
    kw = dict(epochs=10, batch_size=8, lr=1e-2, crf=False)
    plain, examples = _setup()
    train_student(plain, examples, **kw)
    for off_kw in ({"ema_epochs": 0.0, "word_drop": 0.0}, {"word_drop": 0.2, "word_drop_skills": []}):
        off, examples = _setup()
        train_student(off, examples, **off_kw, **kw)
        assert all(torch.equal(p, q) for p, q in zip(plain.parameters(), off.parameters()))
    for extra in ({"ema_epochs": 1.0}, {"word_drop": 0.2}, {"word_drop": 0.2, "word_drop_skills": ["a"]}):
        model, examples = _setup()
        train_student(model, examples, **extra, **kw)
        assert any(not torch.equal(p, q) for p, q in zip(plain.parameters(), model.parameters()))
        assert _own_intent_accuracy(model, examples) >= 0.9  # still learns the task


def _own_intent_accuracy(model: Student, examples: list[Example]) -> float:
    with torch.no_grad():
        right = [
            int(
                model.intent[e.skill](
                    model.encode(torch.tensor([e.ids]), torch.tensor([e.case]), torch.tensor([len(e.ids)]))[1]
                )[0, :-1].argmax()
            )
            == e.intent
            for e in examples
        ]
    return float(np.mean(right))


@pytest.mark.parametrize("kind", ["lstm", "gru", "cnn", "transformer"])
def test_every_encoder_kind_ignores_padding_and_exports_to_int8_onnx(kind, tmp_path):
    """A padded batch gives each utterance the states it gets alone, and the exported (fp32, then int8) graph
    matches the torch encoder on one utterance: what the runtime feeds it."""
    ort = pytest.importorskip("onnxruntime")
    from export.onnx_export import export_encoder
    from export.student import Encoder
    from quantize.int8 import quantize_encoder

    torch.manual_seed(0)
    enc = Encoder(16, 8, layers=2, kind=kind).eval()
    emb, case = torch.randn(2, 6, 16), torch.randint(0, 3, (2, 6))
    with torch.no_grad():
        out, pooled = enc(emb, case, torch.tensor([6, 4]))
        alone, alone_pooled = enc(emb[1:, :4], case[1:, :4])
        assert out.shape == (2, 6, 16) and pooled.shape == (2, 32)
        torch.testing.assert_close(out[1, :4], alone[0], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(pooled[1], alone_pooled[0], atol=1e-5, rtol=1e-4)
        assert float(out[1, 4:].abs().max()) == 0.0  # padding has no state
    fp32 = export_encoder(enc, 16, tmp_path / "enc.onnx")
    int8 = quantize_encoder(fp32, tmp_path / "enc8.onnx")
    feeds = {"emb": emb[:1].numpy(), "case": case[:1].numpy()}
    with torch.no_grad():
        ref = enc(emb[:1], case[:1])[1].numpy()
    got = ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"]).run(None, feeds)[1]
    np.testing.assert_allclose(got, ref, atol=1e-4)
    got8 = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"]).run(None, feeds)[1]
    assert np.abs(got8 - ref).max() < 0.1 * np.abs(ref).max() + 0.05
    with pytest.raises(ValueError, match="encoder must be one of"):
        Encoder(16, 8, kind="bilstm")
