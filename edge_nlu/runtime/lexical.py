"""Hashed lexical slot features for skills compiled on a frozen base.

The frozen shared encoder knows what words mean, but a skill trained from a few dozen utterances also needs the
exact local patterns its data repeats ("the album ⟨title⟩", "for ⟨n⟩ people", a title running to the end of the
utterance): the n-gram features a MaxEnt-CRF uses. Each word gets the ids of its templates (word, neighbours,
bigrams, affixes, position) hashed into a fixed number of buckets (crc32: stable across processes and platforms);
the skill stores one emission row per bucket, added to its dense slot emissions.
"""

from __future__ import annotations

import zlib

import numpy as np

from edge_nlu.words import word_shape

BUCKETS = 4096
# recorded in the skill: a skill built with another list is refused
TEMPLATES = "w,w-1,w+1,w-2,w+2,w-1:0,w0:1,p3,s3,bos,eos,sh,sh-1:0,sh0:1,sh-1:0:1"


def _bucket(feature: str, buckets: int) -> int:
    return zlib.crc32(feature.encode("utf-8", "surrogatepass")) % buckets


def lexical_ids(words: list[str], buckets: int = BUCKETS) -> list[list[int]]:
    """Per word, the bucket ids of its lexical features (lower-cased words; ``<s>``/``</s>`` past the ends)."""
    low = [w.lower() for w in words]
    shapes = [str(word_shape(w)) for w in words]
    n = len(low)

    def at(j: int) -> str:
        return low[j] if 0 <= j < n else ("<s>" if j < 0 else "</s>")

    def sh(j: int) -> str:
        return shapes[j] if 0 <= j < n else "_"

    out = []
    for i, w in enumerate(low):
        feats = [
            "w=" + w,
            "w-1=" + at(i - 1),
            "w+1=" + at(i + 1),
            "w-2=" + at(i - 2),
            "w+2=" + at(i + 2),
            "w-1:0=" + at(i - 1) + "|" + w,
            "w0:1=" + w + "|" + at(i + 1),
            "p3=" + w[:3],
            "s3=" + w[-3:],
            "sh=" + sh(i),  # casing: a capitalised word mid-sentence often starts a title or a name
            "sh-1:0=" + sh(i - 1) + sh(i),
            "sh0:1=" + sh(i) + sh(i + 1),
            "sh-1:0:1=" + sh(i - 1) + sh(i) + sh(i + 1),
        ]
        if i == 0:
            feats.append("bos")
        if i == n - 1:
            feats.append("eos")
        out.append([_bucket(f, buckets) for f in feats])
    return out


def lexical_emissions(words: list[str], table: np.ndarray) -> np.ndarray:
    """[n_words, n_tags] sum of ``table`` rows over each word's feature buckets."""
    ids = lexical_ids(words, table.shape[0])
    if not ids:
        return np.zeros((0, table.shape[1]), dtype=np.float32)
    return np.stack([table[i].sum(0) for i in ids])
