"""Word segmentation with character offsets and span <-> word-level BIO conversion.

Words are what slots are tagged on (first word-piece of each word in the DNN, one CRF item per word in the
baseline). The rule matches BERT's pre-tokenizer (split on whitespace, every punctuation mark its own word) so a word
is never split across word-pieces of two words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the data model imports this module's users; keep words.py import-light
    from edge_nlu.definitions.model import SlotSpan

_WORD = re.compile(r"[^\W_]+|[^\w\s]|_", re.UNICODE)


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith(("P", "S"))


# invisible characters that belong inside a word: zero-width (non-)joiner (Persian, Indic scripts), soft hyphen, word
# joiner; every other format character (zero-width space, BOM, bidi controls) separates words and is in none
_JOINERS = frozenset("\u200c\u200d\u00ad\u2060")


def _glue(ch: str) -> bool:
    return ch in _JOINERS or unicodedata.category(ch).startswith("M")


def _join_marks(words: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Keep combining marks and joiners inside their word; drop other invisible format characters.

    Decomposed text ("Sa\u0303o", what some ASR and keyboards emit) must give the same words as composed text
    ("São"): a combining mark is not a word character to ``re``. A joiner between two letters keeps them one word;
    one at a word's edge, and any other format character, is in no word (nor in a slot value).
    """
    out: list[tuple[str, int, int]] = []
    for w, s, e in words:
        if out and out[-1][2] == s and out[-1][0][0].isalnum():
            prev = out[-1][0]
            if all(_glue(c) for c in w) or (w[0].isalnum() and _glue(prev[-1])):
                out[-1] = (prev + w, out[-1][1], e)
                continue
        if all(unicodedata.category(c) == "Cf" for c in w):
            continue
        out.append((w, s, e))
    for i, (w, s, _e) in enumerate(out):  # a joiner left at a word's end ("kitchen\u00ad") is not part of it
        k = len(w)
        while k > 1 and w[k - 1] in _JOINERS:
            k -= 1
        if k < len(w):
            out[i] = (w[:k], s, s + k)
    return out


@lru_cache(maxsize=65536)
def word_key(word: str) -> str:
    """The form of a word that features and lookups hash: lower case, NFC, without invisible format characters,
    so decomposed or soft-hyphenated input finds the same patch rows and lexical features as plain text."""
    if word.isascii():
        return word.lower()
    kept = "".join(c for c in word if unicodedata.category(c) != "Cf")
    return unicodedata.normalize("NFC", kept).lower()


def split_words(text: str) -> list[tuple[str, int, int]]:
    """Words of ``text`` as (word, start, end); punctuation and symbols are words of their own."""
    out: list[tuple[str, int, int]] = []
    for m in _WORD.finditer(text):
        w = m.group()
        # \w includes some marks/symbols; split any remaining punctuation characters off
        if len(w) > 1 and not w.isalnum() and any(_is_punct(c) for c in w):
            start = m.start()
            buf_start = None
            for i, c in enumerate(w):
                if _is_punct(c):
                    if buf_start is not None:
                        out.append((w[buf_start:i], start + buf_start, start + i))
                        buf_start = None
                    out.append((c, start + i, start + i + 1))
                elif buf_start is None:
                    buf_start = i
            if buf_start is not None:
                out.append((w[buf_start:], start + buf_start, start + len(w)))
        else:
            out.append((w, m.start(), m.end()))
    return out if text.isascii() else _join_marks(out)


def spans_to_bio(words: Sequence[tuple[str, int, int]], spans: Sequence[SlotSpan]) -> list[str]:
    """BIO tags of ``words`` for character ``spans``; a word belongs to a span when they overlap."""
    tags = ["O"] * len(words)
    for span in sorted(spans, key=lambda s: s.start):
        first = True
        for i, (_, ws, we) in enumerate(words):
            if we <= span.start or ws >= span.end:
                continue
            if tags[i] != "O":
                continue
            tags[i] = ("B-" if first else "I-") + span.slot
            first = False
    return tags


def bio_to_spans(text: str, words: Sequence[tuple[str, int, int]], tags: Sequence[str]) -> list[SlotSpan]:
    """Character spans from word-level BIO tags (an I- without a matching open span starts a new span)."""
    from edge_nlu.definitions.model import SlotSpan

    spans: list[SlotSpan] = []
    cur: tuple[str, int, int] | None = None
    for (_, ws, we), tag in zip(words, tags):
        if tag.startswith("I-") and cur is not None and cur[0] == tag[2:]:
            cur = (cur[0], cur[1], we)
            continue
        if cur is not None:
            spans.append(SlotSpan(cur[0], cur[1], cur[2], text[cur[1] : cur[2]]))
            cur = None
        if tag.startswith(("B-", "I-")):
            cur = (tag[2:], ws, we)
    if cur is not None:
        spans.append(SlotSpan(cur[0], cur[1], cur[2], text[cur[1] : cur[2]]))
    return spans


N_SHAPES = 7  # 0 special, 1 lower, 2 Title, 3 UPPER, 4 mixed case, 5 has a digit, 6 punctuation/other


@lru_cache(maxsize=65536)  # called for every word of every parse; words repeat, and the checks cost ~5 µs a word
def word_shape(word: str) -> int:
    """Casing/shape class of a word: the tokenizer is uncased, so this is the model's only casing signal."""
    if any(c.isdigit() for c in word):
        return 5
    if not any(c.isalpha() for c in word):
        return 6
    if word.islower():
        return 1
    if word.isupper():
        return 3 if len(word) > 1 else 2
    if word[0].isupper() and word[1:].islower():
        return 2
    return 4


def lower_shape(shape: int) -> int:
    """The shape the same word would have in lowercased (ASR-style) text."""
    return 1 if shape in (2, 3, 4) else shape
