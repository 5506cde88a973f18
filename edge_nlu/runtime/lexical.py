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


def _features(words: list[str]) -> tuple[list[str], list[int]]:
    """All feature strings of an utterance, word after word, and the number of features of each word."""
    low = [w.lower() for w in words]
    n = len(low)
    pad = ["<s>", "<s>", *low, "</s>", "</s>"]  # pad[i + 2] is word i
    shp = ["_", *(str(word_shape(w)) for w in words), "_"]  # shp[i + 1] is word i
    feats: list[str] = []
    counts: list[int] = []
    for i, w in enumerate(low):
        p1, p2, n1, n2 = pad[i + 1], pad[i], pad[i + 3], pad[i + 4]
        s0, sp, sn = shp[i + 1], shp[i], shp[i + 2]
        feats += (
            "w=" + w,
            "w-1=" + p1,
            "w+1=" + n1,
            "w-2=" + p2,
            "w+2=" + n2,
            "w-1:0=" + p1 + "|" + w,
            "w0:1=" + w + "|" + n1,
            "p3=" + w[:3],
            "s3=" + w[-3:],
            "sh=" + s0,  # casing: a capitalised word mid-sentence often starts a title or a name
            "sh-1:0=" + sp + s0,
            "sh0:1=" + s0 + sn,
            "sh-1:0:1=" + sp + s0 + sn,
        )
        k = 13
        if i == 0:
            feats.append("bos")
            k += 1
        if i == n - 1:
            feats.append("eos")
            k += 1
        counts.append(k)
    return feats, counts


def _hash(feats: list[str], buckets: int) -> np.ndarray:
    crc = zlib.crc32
    return np.fromiter((crc(f.encode("utf-8", "surrogatepass")) for f in feats), np.int64, len(feats)) % buckets


def lexical_ids(words: list[str], buckets: int = BUCKETS) -> list[list[int]]:
    """Per word, the bucket ids of its lexical features (lower-cased words; ``<s>``/``</s>`` past the ends)."""
    feats, counts = _features(words)
    ids = _hash(feats, buckets).tolist()
    out, k = [], 0
    for c in counts:
        out.append(ids[k : k + c])
        k += c
    return out


def lexical_emissions(words: list[str], table: np.ndarray) -> np.ndarray:
    """[n_words, n_tags] sum of ``table`` rows over each word's feature buckets."""
    if not words:
        return np.zeros((0, table.shape[1]), dtype=np.float32)
    feats, counts = _features(words)
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return np.add.reduceat(table[_hash(feats, table.shape[0])], starts, axis=0)
