"""edge_nlu.metrics: against seqeval on real SNIPS gold/prediction pairs, and on hand-computed cases."""

from __future__ import annotations

import random

import pytest

from edge_nlu.data import data_dir
from edge_nlu.definitions.model import SlotSpan, Utterance
from edge_nlu.metrics import evaluate, published_snips2017, snips2017_slot_scores
from edge_nlu.words import spans_to_bio, split_words, word_key

DATA = data_dir()
HAS_SNIPS = (DATA / "snips" / "test.jsonl").is_file()
HAS_SNIPS2017 = (DATA / "snips2017" / "original" / "AddToPlaylist" / "Snips_metrics.json").is_file()


def U(text: str, intent: str | None, *slots: tuple[str, str]) -> Utterance:
    """An utterance with slots given as (slot, value); each value is located left to right in ``text``."""
    spans, pos = [], 0
    for slot, value in slots:
        start = text.index(value, pos)
        spans.append(SlotSpan(slot, start, start + len(value), value))
        pos = start + len(value)
    return Utterance(text, intent, spans)


def span(text: str, slot: str, ws: list, i: int, j: int) -> SlotSpan:
    """Span over words i..j-1."""
    s, e = ws[i][1], ws[j - 1][2]
    return SlotSpan(slot, s, e, text[s:e])


def perturb(gold: list[Utterance], seed: int) -> list[Utterance]:
    """Deterministic, word-aligned perturbations: shift boundaries, change types, drop/add spans, change intents."""
    rng = random.Random(seed)
    intents = sorted({u.intent for u in gold})
    types = sorted({s.slot for u in gold for s in u.slots})
    out = []
    for u in gold:
        ws = split_words(u.text)
        # word index ranges of the gold spans
        ranges = []
        for s in u.slots:
            idx = [k for k, (_, a, b) in enumerate(ws) if a < s.end and b > s.start]
            ranges.append([s.slot, idx[0], idx[-1] + 1])
        new = []
        for slot, i, j in ranges:
            r = rng.random()
            if r < 0.08:
                continue  # drop
            if r < 0.16:
                slot = rng.choice(types)  # change type
            elif r < 0.22 and j - i > 1:
                j -= 1  # shrink right
            elif r < 0.28 and j - i > 1:
                i += 1  # shrink left
            elif r < 0.34:
                j = min(j + 1, len(ws))  # grow right (may collide; fixed below)
            elif r < 0.40:
                i = max(i - 1, 0)
            new.append([slot, i, j])
        if rng.random() < 0.1 and ws:  # add a spurious one-word span
            k = rng.randrange(len(ws))
            new.append([rng.choice(types), k, k + 1])
        # resolve overlaps: keep spans in order, clip to the previous end
        new.sort(key=lambda x: (x[1], x[2]))
        spans, last = [], 0
        for slot, i, j in new:
            i = max(i, last)
            if i >= j:
                continue
            spans.append(span(u.text, slot, ws, i, j))
            last = j
        intent = rng.choice(intents) if rng.random() < 0.05 else u.intent
        out.append(Utterance(u.text, intent, spans))
    return out


def seqeval_scores(gold: list[Utterance], pred: list[Utterance]) -> tuple[float, float, float]:
    from seqeval.metrics import f1_score, precision_score, recall_score

    yt, yp = [], []
    for g, p in zip(gold, pred, strict=True):
        ws = split_words(g.text)
        yt.append(spans_to_bio(ws, g.slots))
        yp.append(spans_to_bio(ws, p.slots))
    return precision_score(yt, yp), recall_score(yt, yp), f1_score(yt, yp)


@pytest.fixture(scope="module")
def snips_test() -> list[Utterance]:
    if not HAS_SNIPS:
        pytest.skip("shared data not available")
    from edge_nlu.definitions.jsonl import read_jsonl

    return read_jsonl(DATA / "snips" / "test.jsonl")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_seqeval_on_perturbed_snips(snips_test, seed):
    pytest.importorskip("seqeval")
    pred = perturb(snips_test, seed)
    r = evaluate(snips_test, pred)
    p, rec, f = seqeval_scores(snips_test, pred)
    assert r["slot_f1"] < 0.95  # the perturbation did something
    assert r["slot_precision"] == pytest.approx(p, abs=1e-9)
    assert r["slot_recall"] == pytest.approx(rec, abs=1e-9)
    assert r["slot_f1"] == pytest.approx(f, abs=1e-9)
    # per-slot support agrees with the gold counts
    assert sum(v["support"] for v in r["per_slot"].values()) == sum(len(u.slots) for u in snips_test)


def test_perfect_prediction(snips_test):
    r = evaluate(snips_test, snips_test)
    assert r["n"] == len(snips_test)
    assert r["intent_accuracy"] == r["slot_f1"] == r["exact_match"] == 1.0
    assert "oos_recall" not in r


def test_matches_seqeval_on_real_model_predictions(snips_test):
    """Predictions of a quick MaxEnt-CRF trained on a few hundred SNIPS rows."""
    pytest.importorskip("seqeval")
    pytest.importorskip("pycrfsuite")
    pytest.importorskip("sklearn")
    from benchmarks.maxent_crf import MaxEntCRF
    from edge_nlu.definitions.jsonl import definition_from_utterances, read_jsonl

    train = read_jsonl(DATA / "snips" / "train.jsonl")[:300]
    model = MaxEntCRF(max_iterations=50).fit(definition_from_utterances("snips", train))
    gold = snips_test[:300]
    pred = model.parse_many([u.text for u in gold])
    r = evaluate(gold, pred)
    p, rec, f = seqeval_scores(gold, pred)
    assert 0.3 < r["slot_f1"] < 1.0
    assert r["slot_precision"] == pytest.approx(p, abs=1e-9)
    assert r["slot_recall"] == pytest.approx(rec, abs=1e-9)
    assert r["slot_f1"] == pytest.approx(f, abs=1e-9)


def test_hand_computed_exact_match_and_per_slot():
    gold = [
        U("wake me at five am tomorrow", "alarm_set", ("time", "five am"), ("date", "tomorrow")),
        U("play jazz", "play_music", ("genre", "jazz")),
        U("what time is it", "time_query"),
        U("play the beatles", "play_music", ("artist", "the beatles")),
    ]
    pred = [
        U("wake me at five am tomorrow", "alarm_set", ("time", "five am"), ("date", "tomorrow")),  # exact
        U("play jazz", "play_radio", ("genre", "jazz")),  # intent wrong, slot right
        U("what time is it", "time_query", ("time", "time")),  # spurious slot
        U("play the beatles", "play_music", ("artist", "beatles")),  # boundary wrong
    ]
    r = evaluate(gold, pred)
    assert r["n"] == 4
    assert r["intent_accuracy"] == 0.75
    assert r["exact_match"] == 0.25
    # gold 4 spans, pred 5, tp 3
    assert r["slot_precision"] == pytest.approx(3 / 5)
    assert r["slot_recall"] == pytest.approx(3 / 4)
    assert r["slot_f1"] == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    ps = r["per_slot"]
    assert ps["time"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1}
    assert ps["artist"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert ps["date"]["f1"] == ps["genre"]["f1"] == 1.0


def test_oos_metrics():
    gold = [
        Utterance("a", "x"),
        Utterance("b", "x"),
        Utterance("c", "y"),
        Utterance("d", None),
        Utterance("e", "oos"),
        Utterance("f", "oos"),
    ]
    pred = [
        Utterance("a", "x"),
        Utterance("b", "oos"),  # in-scope predicted oos: wrong
        Utterance("c", "x"),
        Utterance("d", "oos"),  # None == "oos"
        Utterance("e", None),
        Utterance("f", "y"),
    ]
    r = evaluate(gold, pred)
    assert r["intent_accuracy"] == pytest.approx(3 / 6)
    assert r["in_scope_accuracy"] == pytest.approx(1 / 3)
    assert r["oos_recall"] == pytest.approx(2 / 3)
    assert r["oos_precision"] == pytest.approx(2 / 3)
    assert r["exact_match"] == pytest.approx(3 / 6)


def test_undefined_scores_are_none_not_zero():
    gold = [Utterance("a", "oos"), Utterance("b", None)]
    r = evaluate(gold, [Utterance("a", "x"), Utterance("b", "y")])
    # no slots on either side, no in-scope rows, nothing predicted out of scope: 0/0 everywhere
    assert r["slot_precision"] is r["slot_recall"] is r["slot_f1"] is None
    assert r["in_scope_accuracy"] is None and r["oos_precision"] is None
    assert r["oos_recall"] == 0.0 and r["intent_accuracy"] == 0.0
    span = SlotSpan("city", 0, 1, "a")
    r = evaluate([Utterance("a", "x", [span])], [Utterance("a", "x")])  # a missed span: F1 0, precision undefined
    assert r["slot_f1"] == 0.0 and r["slot_recall"] == 0.0 and r["slot_precision"] is None


def test_split_words_keeps_combining_marks_and_drops_format_characters():
    import unicodedata

    text = "weather in São Paulo"
    nfd = unicodedata.normalize("NFD", text)
    assert [w for w, _, _ in split_words(nfd)] == [unicodedata.normalize("NFD", w) for w in text.split()]
    for w, s, e in split_words(nfd):
        assert nfd[s:e] == w
    assert split_words("the kitchen\u200b") == [("the", 0, 3), ("kitchen", 4, 11)]
    assert split_words("kitchen\u00ad") == [("kitchen", 0, 7)]  # a joiner at a word's edge is in no word
    # a joiner between letters keeps one word (soft hyphen; ZWNJ inside a Persian word); a zero-width space splits
    assert [w for w, _, _ in split_words("\ufeffturn\u00adoff")] == ["turn\u00adoff"]
    assert [w for w, _, _ in split_words("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645")] == [
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    ]
    assert [w for w, _, _ in split_words("turn\u200boff")] == ["turn", "off"]
    assert word_key("Turn\u00adOff") == "turnoff" and word_key(unicodedata.normalize("NFD", "São")) == "são"


def test_misaligned_rows_raise():
    with pytest.raises(ValueError):
        evaluate([Utterance("a", "x")], [Utterance("b", "x")])
    with pytest.raises(ValueError):
        evaluate([Utterance("a", "x")], [])


def test_snips2017_scorer_tiny():
    gold = [
        U("play Hey Jude by the Beatles", "PlayMusic", ("track", "Hey Jude"), ("artist", "the Beatles")),
        U("play some jazz", "PlayMusic", ("genre", "jazz")),
        U("play the Beatles and the Beatles", "PlayMusic", ("artist", "the Beatles"), ("artist", "the Beatles")),
    ]
    # draw 1: values matched case-insensitively, punctuation/space stripped; the third row predicts one artist
    # three times (each gold slot matchable once); jazz missed.
    d1 = [
        Utterance(gold[0].text, "PlayMusic", [SlotSpan("track", 5, 13, "Hey Jude"), SlotSpan("artist", 17, 28, "x")]),
        Utterance(gold[1].text, "PlayMusic", []),
        Utterance(gold[2].text, "PlayMusic", [SlotSpan("artist", 5, 16, "THE BEATLES.")] * 3),
    ]
    # draw 2: everything right
    d2 = gold
    r = snips2017_slot_scores(gold, [d1, d2])
    # d1 artist: tp 2 (the third "the beatles" finds no unmatched gold), pred 4, gold 3 -> P .5, R 2/3
    f_artist_d1 = 2 * 0.5 * (2 / 3) / (0.5 + 2 / 3)
    assert r["slots"]["artist"]["f1_by_draw"] == [pytest.approx(f_artist_d1), 1.0]
    assert r["slots"]["artist"]["f1"] == pytest.approx((f_artist_d1 + 1) / 2)
    assert r["slots"]["track"]["f1"] == 1.0
    assert r["slots"]["genre"]["f1_by_draw"] == [0.0, 1.0]  # nothing predicted -> F1 0
    assert r["slots"]["genre"]["support"] == 1 and r["slots"]["artist"]["support"] == 3
    expected = (3 * (f_artist_d1 + 1) / 2 + 1 * 1.0 + 1 * 0.5) / 5
    assert r["score"] == pytest.approx(expected)
    assert r["draws"] == 2


@pytest.mark.skipif(not HAS_SNIPS2017, reason="shared data not available")
def test_published_snips2017_reproduces_quoted_figures():
    snips = published_snips2017(DATA, "Snips")["by_size"]
    assert snips[10]["mean"] == pytest.approx(0.57, abs=0.005)
    assert snips[70]["mean"] == pytest.approx(0.82, abs=0.005)
    assert len(snips[10]["intents"]) == 7
    alexa = published_snips2017(DATA, "Alexa")["by_size"]
    assert list(alexa) == [70]
    full = published_snips2017(DATA, "Snips_metrics_full.json")["by_size"]
    assert list(full) == ["full"] and 0.9 < full["full"]["mean"] < 1.0
