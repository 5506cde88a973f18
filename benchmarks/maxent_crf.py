"""MaxEnt intent classifier + linear-chain CRF slot tagger: the "before" baseline of custom voice skills.

Benchmark-only (scikit-learn and python-crfsuite; the device runtime never imports this module).

- Intent: multinomial LogisticRegression (C=10) over word 1-2-grams (tf-idf), first/last word and an utterance length
  bucket. Char 2-4-grams inside words (``char_ngrams=True``) and ``class_weight="balanced"`` did not help on SNIPS dev
  (0.980 either way; C=1: 0.979, C=30: 0.983, within noise of 700 rows) and are off by default.
- Slots: python-crfsuite (L-BFGS, elastic net) over the words of :func:`edge_nlu.words.split_words`, with a ±2 word
  window, word shape, prefixes/suffixes, relative position and length buckets, the intent (gold when training,
  predicted when parsing) and gazetteer features from the definition's slot-type catalogs (longest match over
  lower-cased word sequences; leave-one-out on training rows so the CRF does not learn to trust values it only saw in
  the row being tagged). BIO is decoded with :func:`edge_nlu.words.bio_to_spans`.

Deterministic: L-BFGS for both models, no random state involved.

Measured (``python -m benchmarks.maxent_crf --dataset snips --split dev|test``, 2 shared CPU cores):
SNIPS dev: intent 0.980, slot F1 0.950, exact 0.874 (train 159 s unloaded); without the gazetteer's leave-one-out
slot F1 falls to 0.835. SNIPS test: intent 0.960 (0.966 with char n-grams), slot F1 0.937, exact 0.850.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pycrfsuite
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from edge_nlu.definitions.model import SkillDefinition, Utterance
from edge_nlu.words import bio_to_spans, spans_to_bio, split_words

OOS = "oos"


# --- intent / router classifier --------------------------------------------------------------------------------------


def _extra_features(texts: Sequence[str]) -> list[dict[str, float]]:
    out = []
    for t in texts:
        ws = [w.lower() for w, _, _ in split_words(t)]
        n = len(ws)
        f: dict[str, float] = {f"len={min(n, 12) // 3}": 1.0}
        if ws:
            f["first=" + ws[0]] = 1.0
            f["last=" + ws[-1]] = 1.0
            if n > 1:
                f["first2=" + " ".join(ws[:2])] = 1.0
        out.append(f)
    return out


def _word_tokens(text: str) -> list[str]:
    return [w.lower() for w, _, _ in split_words(text)]


class TextClassifier:
    """Multinomial logistic regression over word/char n-grams and position features; handles a single class."""

    def __init__(self, C: float = 10.0, char_ngrams: bool = False, class_weight: str | None = None):
        self.C = C
        self.char_ngrams = char_ngrams
        self.class_weight = class_weight
        self.classes_: list[str] = []
        self.pipe: Pipeline | None = None

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> TextClassifier:
        self.classes_ = sorted(set(labels))
        if len(self.classes_) < 2:
            self.pipe = None
            return self
        parts = [
            (
                "word",
                TfidfVectorizer(
                    tokenizer=_word_tokens, token_pattern=None, lowercase=False, ngram_range=(1, 2), sublinear_tf=True
                ),
            ),
            ("extra", Pipeline([("f", FunctionTransformer(_extra_features)), ("v", DictVectorizer())])),
        ]
        if self.char_ngrams:
            parts.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)))
        self.pipe = Pipeline(
            [
                ("features", FeatureUnion(parts)),
                ("lr", LogisticRegression(C=self.C, max_iter=2000, class_weight=self.class_weight)),
            ]
        )
        self.pipe.fit(list(texts), list(labels))
        self.classes_ = [str(c) for c in self.pipe.classes_]
        return self

    def predict_proba(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if self.pipe is None:
            return [{c: 1.0 for c in self.classes_} for _ in texts]
        probs = self.pipe.predict_proba(list(texts))
        return [{c: float(p) for c, p in zip(self.classes_, row, strict=True)} for row in probs]

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [max(p, key=p.get) for p in self.predict_proba(texts)]


# --- slot tagger features ------------------------------------------------------------------------------------------


def _shape(w: str) -> str:
    out = []
    for c in w:
        s = "X" if c.isupper() else "x" if c.isalpha() else "d" if c.isdigit() else c
        if not out or out[-1] != s:
            out.append(s)
    return "".join(out)


def _bucket(i: int, n: int) -> int:
    return min(4 * i // max(n, 1), 3)


def _len_bucket(n: int) -> str:
    return "1-3" if n <= 3 else "4-6" if n <= 6 else "7-10" if n <= 10 else "11-15" if n <= 15 else "16+"


class Gazetteer:
    """Lower-cased word sequences of each slot type's catalog values and synonyms; longest-match tagging."""

    def __init__(self, definition: SkillDefinition, max_len: int = 8):
        self.entries: dict[tuple[str, ...], set[str]] = {}
        self.max_len = 1
        for tname, st in definition.slot_types.items():
            if st.builtin:
                continue
            for v in st.values:
                for text in [v.value, *v.synonyms]:
                    key = tuple(w.lower() for w, _, _ in split_words(text))
                    if 0 < len(key) <= max_len:
                        self.entries.setdefault(key, set()).add(tname)
                        self.max_len = max(self.max_len, len(key))
        # slot name -> type names, so a training row's own values can be left out
        self.slot_to_types: dict[str, set[str]] = {}
        for intent in definition.intents.values():
            for s in intent.slots:
                self.slot_to_types.setdefault(s.name, set()).add(s.type)
        # how many training rows mention each (type, words) as a slot value
        self.seen: Counter[tuple[str, tuple[str, ...]]] = Counter()
        for u in definition.utterances():
            for k in set(self._own_values(u)):
                self.seen[k] += 1

    def _own_values(self, u: Utterance) -> list[tuple[str, tuple[str, ...]]]:
        out = []
        for s in u.slots:
            key = tuple(w.lower() for w, _, _ in split_words(s.value))
            for t in self.slot_to_types.get(s.slot, {s.slot}):
                out.append((t, key))
        return out

    def tag(self, words: Sequence[str], exclude: set[tuple[str, tuple[str, ...]]] | None = None) -> list[list[str]]:
        """Per word the features ``B:type``/``I:type`` of the longest catalog match starting at or covering it.

        Each type is matched on its own (greedy, longest first, non-overlapping within a type). ``exclude`` lists
        (type, words) entries to ignore (leave-one-out for training rows).
        """
        low = [w.lower() for w in words]
        n = len(low)
        feats: list[list[str]] = [[] for _ in range(n)]
        if not self.entries:
            return feats
        next_free: dict[str, int] = {}
        for i in range(n):
            for length in range(min(self.max_len, n - i), 0, -1):
                types = self.entries.get(tuple(low[i : i + length]))
                if not types:
                    continue
                for t in sorted(types):
                    if next_free.get(t, 0) > i:
                        continue
                    if exclude and (t, tuple(low[i : i + length])) in exclude:
                        continue
                    feats[i].append("B:" + t)
                    for j in range(i + 1, i + length):
                        feats[j].append("I:" + t)
                    next_free[t] = i + length
        return feats

    def exclusions(self, u: Utterance) -> set[tuple[str, tuple[str, ...]]]:
        """The row's own slot values that no other training row mentions (to leave out of its gazetteer features)."""
        return {k for k in set(self._own_values(u)) if self.seen[k] <= 1}


def word_features(words: Sequence[str], intent: str | None, gaz: list[list[str]]) -> list[list[str]]:
    """CRF features (binary, as strings) for each word."""
    n = len(words)
    low = [w.lower() for w in words]
    lb = "len=" + _len_bucket(n)
    it = f"intent={intent}"
    out = []
    for i, w in enumerate(words):
        lw = low[i]
        f = [
            "bias",
            "w=" + lw,
            "shape=" + _shape(w),
            "p1=" + lw[:1],
            "p2=" + lw[:2],
            "p3=" + lw[:3],
            "s1=" + lw[-1:],
            "s2=" + lw[-2:],
            "s3=" + lw[-3:],
            f"pos={_bucket(i, n)}",
            lb,
            it,
            it + "|w=" + lw,
        ]
        if w[:1].isupper():
            f.append("title")
        if w.isdigit():
            f.append("digit")
        if i == 0:
            f.append("BOS")
        if i == n - 1:
            f.append("EOS")
        for d in (-2, -1, 1, 2):
            j = i + d
            f.append(f"w[{d}]=" + (low[j] if 0 <= j < n else ("<s>" if j < 0 else "</s>")))
        if i > 0:
            f.append("w[-1:0]=" + low[i - 1] + "|" + lw)
        if i + 1 < n:
            f.append("w[0:1]=" + lw + "|" + low[i + 1])
        if i > 1:
            f.append("w[-2:-1]=" + low[i - 2] + "|" + low[i - 1])
        if i + 2 < n:
            f.append("w[1:2]=" + low[i + 1] + "|" + low[i + 2])
        for g in gaz[i]:
            f.append("gaz=" + g)
        for d in (-1, 1):
            j = i + d
            if 0 <= j < n:
                for g in gaz[j]:
                    f.append(f"gaz[{d}]=" + g)
        out.append(f)
    return out


# --- the model ----------------------------------------------------------------------------------------------------


class MaxEntCRF:
    """One skill: a logistic-regression intent classifier and a CRF slot tagger (see the module docstring)."""

    def __init__(
        self,
        C: float = 10.0,
        char_ngrams: bool = False,
        class_weight: str | None = None,
        c1: float = 0.05,
        c2: float = 0.01,
        max_iterations: int = 150,
        gazetteer: bool = True,
        leave_one_out: bool = True,
    ):
        self.C, self.char_ngrams, self.class_weight = C, char_ngrams, class_weight
        self.c1, self.c2, self.max_iterations = c1, c2, max_iterations
        self.use_gazetteer, self.leave_one_out = gazetteer, leave_one_out
        self.name: str | None = None
        self.intents: TextClassifier | None = None
        self.gaz: Gazetteer | None = None
        self._crf_bytes: bytes | None = None
        self._tagger: pycrfsuite.Tagger | None = None
        self.train_seconds = 0.0

    # training
    def fit(self, definition: SkillDefinition) -> MaxEntCRF:
        t0 = time.perf_counter()
        self.name = definition.name
        rows = [u for u in definition.utterances() if u.intent is not None and u.intent != OOS]
        if not rows:
            raise ValueError(f"skill {definition.name!r} has no training utterances")
        self.intents = TextClassifier(self.C, self.char_ngrams, self.class_weight).fit(
            [u.text for u in rows], [u.intent for u in rows]
        )
        self.gaz = Gazetteer(definition) if self.use_gazetteer else None
        self._crf_bytes, self._tagger = None, None
        if any(u.slots for u in rows):
            trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
            trainer.set_params(
                {
                    "c1": self.c1,
                    "c2": self.c2,
                    "max_iterations": self.max_iterations,
                    "feature.possible_transitions": True,
                }
            )
            for u in rows:
                words = split_words(u.text)
                if not words:
                    continue
                exclude = self.gaz.exclusions(u) if self.gaz is not None and self.leave_one_out else None
                xs = self._features(words, u.intent, exclude)
                trainer.append(xs, spans_to_bio(words, u.slots))
            fd, path = tempfile.mkstemp(suffix=".crfsuite")
            os.close(fd)
            try:
                trainer.train(path)
                self._crf_bytes = Path(path).read_bytes()
            finally:
                os.unlink(path)
            self._open_tagger()
        self.train_seconds = time.perf_counter() - t0
        return self

    def _open_tagger(self) -> None:
        self._tagger = None
        if self._crf_bytes is not None:
            self._tagger = pycrfsuite.Tagger()
            self._tagger.open_inmemory(self._crf_bytes)

    def _features(self, words, intent, exclude=None) -> list[list[str]]:
        tokens = [w for w, _, _ in words]
        gaz = self.gaz.tag(tokens, exclude) if self.gaz is not None else [[] for _ in tokens]
        return word_features(tokens, intent, gaz)

    # inference
    def intent_scores(self, text: str) -> dict[str, float]:
        """Intent probabilities (they sum to 1)."""
        assert self.intents is not None, "call fit() first"
        return self.intents.predict_proba([text])[0]

    def tag(self, text: str, intent: str | None) -> list:
        """Slot spans of ``text`` given its intent."""
        words = split_words(text)
        if self._tagger is None or not words:
            return []
        tags = self._tagger.tag(self._features(words, intent))
        return bio_to_spans(text, words, tags)

    def parse(self, text: str) -> Utterance:
        """Intent and slots (exact character offsets, ``value == text[start:end]``)."""
        scores = self.intent_scores(text)
        intent = max(scores, key=scores.get)
        return Utterance(text=text, intent=intent, slots=self.tag(text, intent), skill=self.name)

    def parse_many(self, texts: Sequence[str]) -> list[Utterance]:
        assert self.intents is not None, "call fit() first"
        out = []
        for text, scores in zip(texts, self.intents.predict_proba(list(texts)), strict=True):
            intent = max(scores, key=scores.get)
            out.append(Utterance(text=text, intent=intent, slots=self.tag(text, intent), skill=self.name))
        return out

    # persistence
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_tagger"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._open_tagger()

    def save(self, path: str | Path) -> None:
        with open(path, "wb") as f:
            pickle.dump(self, f)

    @staticmethod
    def load(path: str | Path) -> MaxEntCRF:
        with open(path, "rb") as f:
            return pickle.load(f)


class MaxEntCRFSkills:
    """Several skills: one :class:`MaxEntCRF` per skill and a logistic-regression router over skills (+ "oos")."""

    def __init__(self, router_C: float = 10.0, **model_kwargs):
        self.router_C = router_C
        self.model_kwargs = model_kwargs
        self.models: dict[str, MaxEntCRF] = {}
        self.router: TextClassifier | None = None

    def fit(self, defs: dict[str, SkillDefinition], oos: list[Utterance] | None = None) -> MaxEntCRFSkills:
        texts: list[str] = []
        labels: list[str] = []
        for name, d in defs.items():
            self.models[name] = MaxEntCRF(**self.model_kwargs).fit(d)
            for u in d.utterances():
                texts.append(u.text)
                labels.append(name)
        for u in oos or []:
            texts.append(u.text)
            labels.append(OOS)
        self.router = TextClassifier(self.router_C).fit(texts, labels)
        return self

    def skill_scores(self, text: str) -> dict[str, float]:
        assert self.router is not None, "call fit() first"
        return self.router.predict_proba([text])[0]

    def parse(self, text: str, skill: str | None = None) -> Utterance:
        """``skill`` given: that skill's model; None: route (predicted "oos" -> intent "oos", skill None, no slots)."""
        if skill is None:
            scores = self.skill_scores(text)
            skill = max(scores, key=scores.get)
            if skill == OOS:
                return Utterance(text=text, intent=OOS, slots=[], skill=None)
        u = self.models[skill].parse(text)
        u.skill = skill
        return u

    def save(self, path: str | Path) -> None:
        with open(path, "wb") as f:
            pickle.dump(self, f)

    @staticmethod
    def load(path: str | Path) -> MaxEntCRFSkills:
        with open(path, "rb") as f:
            return pickle.load(f)


def main(argv: Sequence[str] | None = None) -> None:
    """Train on a dataset's train split, evaluate on a split, print the scores: ``python -m benchmarks.maxent_crf``."""
    import argparse

    from edge_nlu.data import split_path
    from edge_nlu.definitions.jsonl import definitions_from_jsonl, read_jsonl
    from edge_nlu.metrics import evaluate

    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="snips")
    ap.add_argument("--split", default="test")
    ap.add_argument(
        "--route", action="store_true", help="route with the multi-skill router instead of giving the skill"
    )
    ap.add_argument("--C", type=float, default=10.0)
    ap.add_argument("--c1", type=float, default=0.05)
    ap.add_argument("--c2", type=float, default=0.01)
    ap.add_argument("--char", action="store_true", help="add char 2-4-grams to the intent features")
    ap.add_argument("--no-gaz", action="store_true")
    ap.add_argument("--no-loo", action="store_true")
    args = ap.parse_args(argv)
    kw = dict(
        C=args.C,
        c1=args.c1,
        c2=args.c2,
        char_ngrams=args.char,
        gazetteer=not args.no_gaz,
        leave_one_out=not args.no_loo,
    )
    defs = definitions_from_jsonl(split_path(args.dataset, "train"))
    gold = read_jsonl(split_path(args.dataset, args.split))
    t0 = time.perf_counter()
    oos = [u for u in read_jsonl(split_path(args.dataset, "train")) if u.intent in (None, OOS)]
    m = MaxEntCRFSkills(**kw).fit(defs, oos or None)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = [m.parse(u.text, None if args.route or len(defs) == 1 or u.skill is None else u.skill) for u in gold]
    parse_s = time.perf_counter() - t0
    r = evaluate(gold, pred)
    keys = [k for k in r if k not in ("per_slot", "n")]
    print(
        f"{args.dataset}/{args.split} n={r['n']} "
        + " ".join(f"{k}={r[k]:.4f}" if r[k] is not None else f"{k}=n/a" for k in keys)
        + f" train_s={train_s:.1f} parse_ms={1000 * parse_s / len(gold):.2f}"
    )


if __name__ == "__main__":
    main()
