"""Skill compiler parts that need no model: slot-value augmentation and hashed lexical features."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from edge_nlu.definitions.model import SkillDefinition, SlotSpan, Utterance
from edge_nlu.runtime.lexical import BUCKETS, TEMPLATES, lexical_emissions, lexical_ids


def _rows() -> list[Utterance]:
    def u(text: str, slots: list[tuple[str, str]], intent: str = "Play") -> Utterance:
        spans = []
        for name, value in slots:
            i = text.index(value)
            spans.append(SlotSpan(name, i, i + len(value), value))
        return Utterance(text, intent, spans, "music")

    return [
        u("play Abbey Road by the Beatles", [("album", "Abbey Road"), ("artist", "the Beatles")]),
        u("put on some jazz", [("genre", "jazz")]),
        u("play Blue by Joni Mitchell please", [("album", "Blue"), ("artist", "Joni Mitchell")]),
        u("stop the music", [], "Stop"),
    ]


def test_augment_swaps_values_and_keeps_offsets():
    pytest.importorskip("torch")
    from export.skill_compiler import augment

    rows = _rows()
    out = augment(rows, None, 50, seed=3)
    assert len(out) == 50
    values = {s.slot: {x.value for r in rows for x in r.slots if x.slot == s.slot} for r in rows for s in r.slots}
    for a in out:
        assert a.intent == "Play" and a.skill == "music"  # only utterances with slots are templates
        for s in a.slots:
            assert a.text[s.start : s.end] == s.value
            assert s.value in values[s.slot]
    # new combinations appear (e.g. "Blue" by "the Beatles"), and the draw is reproducible
    assert any(a.text not in {r.text for r in rows} for a in out)
    assert [a.text for a in augment(rows, None, 50, seed=3)] == [a.text for a in out]


def test_augment_uses_catalog_values():
    pytest.importorskip("torch")
    from edge_nlu.definitions.model import Intent, Slot, SlotType, SlotValue
    from export.skill_compiler import augment

    rows = [r for r in _rows() if r.intent == "Play"]
    definition = SkillDefinition(
        name="music",
        intents={"Play": Intent("Play", [Slot("genre", "Genre")], rows)},
        slot_types={"Genre": SlotType("Genre", [SlotValue("bossa nova", ["bossa"])])},
    )
    texts = {a.text for a in augment(rows, definition, 200, seed=0)}
    assert "put on some bossa nova" in texts and "put on some bossa" in texts


def test_augment_without_slots_adds_nothing():
    pytest.importorskip("torch")
    from export.skill_compiler import augment

    assert augment([Utterance("stop the music", "Stop", [], "music")], None, 10) == []


def test_lexical_ids_shape_and_edges():
    ids = lexical_ids(["Find", "The", "Boys"])
    assert len(ids) == 3
    n_templates = len(TEMPLATES.split(","))
    assert len(ids[0]) == n_templates - 1  # bos, no eos
    assert len(ids[1]) == n_templates - 2  # neither
    assert len(ids[2]) == n_templates - 1  # eos
    assert all(0 <= i < BUCKETS for word in ids for i in word)
    assert lexical_ids([]) == []
    # casing changes the shape features only: the lower-cased word features are shared
    a, b = lexical_ids(["find", "the", "boys"]), ids
    assert set(a[1]) & set(b[1]) and set(a[1]) != set(b[1])


def test_lexical_ids_are_stable_across_processes():
    """crc32, not Python's salted hash(): a skill built in one process decodes the same in another."""
    code = (
        "import json; from edge_nlu.runtime.lexical import lexical_ids; "
        "print(json.dumps(lexical_ids(['Play', 'jazz', 'ünïcode', '\\ud800'])))"
    )
    outs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outs.add(
            subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
        )
    assert len(outs) == 1
    assert json.loads(outs.pop()) == lexical_ids(["Play", "jazz", "ünïcode", "\ud800"])


def test_lexical_emissions_sum_rows():
    table = np.zeros((BUCKETS, 3), np.float32)
    ids = lexical_ids(["a", "b"])
    table[ids[0][0]] = [1.0, 0.0, 0.0]
    em = lexical_emissions(["a", "b"], table)
    assert em.shape == (2, 3)
    assert em[0, 0] >= 1.0 and np.all(em[:, 1:] == 0)
    assert lexical_emissions([], table).shape == (0, 3)


def _reference_ids(words: list[str], buckets: int = BUCKETS) -> list[list[int]]:
    """The templates spelt out as strings (what the running-crc implementation must equal)."""
    import zlib

    from edge_nlu.words import word_shape

    low = [w.lower() for w in words]
    n = len(low)

    def at(j: int) -> str:
        return low[j] if 0 <= j < n else ("<s>" if j < 0 else "</s>")

    def sh(j: int) -> str:
        return str(word_shape(words[j])) if 0 <= j < n else "_"

    out = []
    for i, w in enumerate(low):
        f = [f"w={w}", f"w-1={at(i - 1)}", f"w+1={at(i + 1)}", f"w-2={at(i - 2)}", f"w+2={at(i + 2)}"]
        f += [f"w-1:0={at(i - 1)}|{w}", f"w0:1={w}|{at(i + 1)}", f"p3={w[:3]}", f"s3={w[-3:]}"]
        f += [f"sh={sh(i)}", f"sh-1:0={sh(i - 1)}{sh(i)}", f"sh0:1={sh(i)}{sh(i + 1)}"]
        f += [f"sh-1:0:1={sh(i - 1)}{sh(i)}{sh(i + 1)}"] + (["bos"] if i == 0 else []) + (["eos"] if i == n - 1 else [])
        out.append([zlib.crc32(x.encode("utf-8", "surrogatepass")) % buckets for x in f])
    return out


@pytest.mark.parametrize(
    "words",
    [["Find", "The", "Boys"], ["play", "Ünïcode", "漢字", "\ud800", "x"], ["one"], ["a", "a", "a", "a", "a", "a"]],
)
def test_lexical_ids_match_the_spelt_out_templates(words):
    assert lexical_ids(words) == _reference_ids(words)
    assert lexical_ids(words) == _reference_ids(words)  # second call: from the per-word cache


def test_crf_nll_matches_the_log_space_forward_recursion():
    """crf_nll runs the forward recursion as a matmul in exp space; it must equal the textbook logsumexp recursion
    (values and gradients) on BIO-masked transitions with valid gold paths and ragged lengths."""
    torch = pytest.importorskip("torch")
    from edge_nlu.runtime.skill import bio_allowed
    from export.student import crf_nll

    def reference(em, tags, mask, trans):
        b, n, k = em.shape
        start, tr = trans[k], trans[:k]
        ar = torch.arange(b)
        score = start[tags[:, 0]] + em[ar, 0, tags[:, 0]]
        alpha = start[None] + em[:, 0]
        for i in range(1, n):
            m = mask[:, i]
            score = score + (tr[tags[:, i - 1], tags[:, i]] + em[ar, i, tags[:, i]]) * m
            nxt = torch.logsumexp(alpha[:, :, None] + tr[None], 1) + em[:, i]
            alpha = torch.where(m[:, None] > 0, nxt, alpha)
        return torch.logsumexp(alpha, 1) - score

    names = ["O"] + [f"{p}-{s}" for s in ("a", "b", "c") for p in ("B", "I")]
    k, b, n = len(names), 32, 14
    gen = torch.Generator().manual_seed(0)
    allowed = bio_allowed(names)  # [k + 1, k]: row k is the start
    tags = torch.zeros((b, n), dtype=torch.long)
    for r in range(b):  # random valid BIO paths
        prev = k
        for i in range(n):
            ok = [j for j in range(k) if allowed[prev, j]]
            prev = ok[int(torch.randint(len(ok), (1,), generator=gen))]
            tags[r, i] = prev
    lengths = torch.randint(1, n + 1, (b, 1), generator=gen)
    mask = (torch.arange(n)[None] < lengths).float()
    em = (torch.randn((b, n, k), generator=gen) * 4).requires_grad_()
    tr = (torch.randn((k + 1, k), generator=gen) * 2).requires_grad_()
    masked = tr + torch.tensor(np.where(allowed, 0.0, -1e4), dtype=torch.float32)
    got, want = crf_nll(em, tags, mask, masked), reference(em, tags, mask, masked)
    assert torch.allclose(got, want, atol=1e-3, rtol=1e-5)
    g_got = torch.autograd.grad(got.sum(), [em, tr], retain_graph=True)
    g_want = torch.autograd.grad(want.sum(), [em, tr])
    for x, y in zip(g_got, g_want):
        assert torch.allclose(x, y, atol=1e-4)


def test_frozen_input_matmul_matches_autograd():
    """The compiler's head matmul (a faster sgemm path) gives x @ w and the same weight gradient as autograd."""
    torch = pytest.importorskip("torch")
    from export.skill_compiler import _frozen_input_matmul

    gen = torch.Generator().manual_seed(0)
    x = torch.randn((300, 40), generator=gen)
    w = torch.randn((40, 5), generator=gen, requires_grad=True)
    g = torch.randn((300, 5), generator=gen)
    got = _frozen_input_matmul()(x, w)
    assert torch.allclose(got, x @ w, atol=1e-5)
    (gw,) = torch.autograd.grad(got, w, g)
    (want,) = torch.autograd.grad(x @ w, w, g)
    assert torch.allclose(gw, want, atol=1e-4)


def test_a_definition_over_the_size_limit_is_sampled_down(tiny_model, tmp_path, monkeypatch, caplog):
    pytest.importorskip("torch")
    from edge_nlu.definitions.jsonl import definition_from_utterances
    from export import skill_compiler

    rows = [Utterance(f"play song number {i}", "PlaySong") for i in range(4)]
    d = definition_from_utterances("songs", rows, source="songs.jsonl")
    monkeypatch.setattr(skill_compiler, "MAX_UTTERANCES", 3)
    with caplog.at_level("WARNING", logger="export.skill_compiler"):
        rep = skill_compiler.compile_skill(d, tiny_model, tmp_path / "songs.skill")
    assert "compiling on 3" in caplog.text and rep["utterances"] <= 3 + skill_compiler.MAX_AUGMENT
    kept = skill_compiler._downsample(rows * 10 + [Utterance("stop", "Stop")], 10, 0)
    assert len(kept) <= 11 and any(u.intent == "Stop" for u in kept)  # every intent keeps at least one
