"""Hashed lexical features: per-word slot features, and per-utterance intent features.

The frozen shared encoder knows what words mean, but a skill trained from a few dozen utterances also needs the
exact local patterns its data repeats ("the album ⟨title⟩", "for ⟨n⟩ people", a title running to the end of the
utterance): the n-gram features a MaxEnt-CRF uses. Each word gets the ids of its templates (word, neighbours,
bigrams, affixes, position) hashed into a fixed number of buckets (crc32: stable across processes and platforms);
the skill stores one emission row per bucket, added to its dense slot emissions.
"""

from __future__ import annotations

import zlib

import numpy as np

from edge_nlu.words import word_key, word_shape

BUCKETS = 4096
# recorded in the skill: a skill built with another list is refused
TEMPLATES = "w,w-1,w+1,w-2,w+2,w-1:0,w0:1,p3,s3,bos,eos,sh,sh-1:0,sh0:1,sh-1:0:1"


_crc = zlib.crc32
_CACHE_MAX = 50_000  # words kept (cleared when full, like the tokenizer's piece cache)
_words: dict[str, tuple[bytes, int, int, int, int, int, int, int, int, int]] = {}
_consts: dict[str, int] = {}


_P = {k: _crc(k.encode()) for k in ("w=", "w-1=", "w+1=", "w-2=", "w+2=", "p3=", "s3=", "w-1:0=", "w0:1=")}


def _word(w: str) -> tuple[bytes, int, int, int, int, int, int, int, int, int]:
    """A lower-cased word's bytes and running crc32 values: its unigram features under each template, and the
    states after "w-1:0=<w>|" and "w0:1=<w>|" that a neighbour's bytes complete into a bigram feature
    (crc32(a + b) == crc32(b, crc32(a)), so no feature string is built)."""
    e = _words.get(w)
    if e is None:
        b = w.encode("utf-8", "surrogatepass")
        e = (
            b,
            _crc(b, _P["w="]),
            _crc(b, _P["w-1="]),
            _crc(b, _P["w+1="]),
            _crc(b, _P["w-2="]),
            _crc(b, _P["w+2="]),
            _crc(w[:3].encode("utf-8", "surrogatepass"), _P["p3="]),
            _crc(w[-3:].encode("utf-8", "surrogatepass"), _P["s3="]),
            _crc(b + b"|", _P["w-1:0="]),
            _crc(b + b"|", _P["w0:1="]),
        )
        if len(_words) > _CACHE_MAX:
            _words.clear()
        _words[w] = e
    return e


def _const(f: str) -> int:
    c = _consts.get(f)
    if c is None:
        c = _consts[f] = _crc(f.encode())
    return c


def _crcs(words: list[str], gaz=None) -> tuple[list[int], list[int]]:
    """crc32 of every feature of an utterance, word after word, and the number of features of each word; with
    ``gaz`` (a :class:`~edge_nlu.runtime.gazetteer.Gazetteer`) also each word's gazetteer features."""
    n = len(words)
    gz = gaz.features(words) if gaz is not None else None
    pad = [_word("<s>"), _word("<s>"), *(_word(word_key(w)) for w in words), _word("</s>"), _word("</s>")]
    shp = ["_", *(str(word_shape(w)) for w in words), "_"]  # shp[i + 1] is word i
    out: list[int] = []
    counts: list[int] = []
    for i in range(n):
        p2, p1, w, n1, n2 = pad[i : i + 5]
        s0, sp, sn = shp[i + 1], shp[i], shp[i + 2]
        out += (
            w[1],  # w=
            p1[2],  # w-1=
            n1[3],  # w+1=
            p2[4],  # w-2=
            n2[5],  # w+2=
            _crc(w[0], p1[8]),  # w-1:0=<prev>|<w>
            _crc(n1[0], w[9]),  # w0:1=<w>|<next>
            w[6],  # p3=
            w[7],  # s3=
            _const("sh=" + s0),  # casing: a capitalised word mid-sentence often starts a title or a name
            _const("sh-1:0=" + sp + s0),
            _const("sh0:1=" + s0 + sn),
            _const("sh-1:0:1=" + sp + s0 + sn),
        )
        k = 13
        if i == 0:
            out.append(_const("bos"))
            k += 1
        if i == n - 1:
            out.append(_const("eos"))
            k += 1
        if gz is not None and gz[i]:
            out += (_const("gz=" + f) for f in gz[i])
            k += len(gz[i])
        counts.append(k)
    return out, counts


def lexical_ids(words: list[str], buckets: int = BUCKETS, gaz=None) -> list[list[int]]:
    """Per word, the bucket ids of its lexical features (lower-cased words; ``<s>``/``</s>`` past the ends)."""
    crcs, counts = _crcs(words, gaz)
    ids = [c % buckets for c in crcs]
    out, k = [], 0
    for c in counts:
        out.append(ids[k : k + c])
        k += c
    return out


def lexical_emissions(words: list[str], table: np.ndarray, gaz=None, scale: np.ndarray | None = None) -> np.ndarray:
    """[n_words, n_tags] float32 sum of ``table`` rows over each word's feature buckets: a float table as is, an
    int8 one times its per-tag ``scale`` (summed in int32 first, so the scale is one multiply per word)."""
    if not words:
        return np.zeros((0, table.shape[1]), dtype=np.float32)
    crcs, counts = _crcs(words, gaz)
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    ids = np.array(crcs, dtype=np.int64) % table.shape[0]
    if scale is None:
        return np.add.reduceat(table[ids].astype(np.float32), starts, axis=0)
    return np.add.reduceat(table[ids].astype(np.int32), starts, axis=0).astype(np.float32) * scale


def lexical_ok(table: np.ndarray | None, scale: np.ndarray | None, n_tags: int) -> bool:
    """Whether a skill's lexical slot table fits its tags: float [buckets, n_tags], or int8 with a finite,
    positive scale per tag; a scale without a table (or a float table with one) is malformed."""
    if table is None:
        return scale is None
    if table.ndim != 2 or table.shape[1] != n_tags or not len(table):
        return False
    if table.dtype == np.int8:
        return scale is not None and scale.shape == (n_tags,) and bool(np.all(np.isfinite(scale) & (scale > 0)))
    return table.dtype.kind == "f" and scale is None


# intent features: the utterance's distinct word unigrams and bigrams (<s>/</s> at the ends), lower-cased
INTENT_TEMPLATES = "w,w-1:0"


def intent_ids(words: list[str], buckets: int = BUCKETS) -> list[int]:
    """Distinct bucket ids of an utterance's unigrams and bigrams (a binary bag of n-grams, as the expert was
    trained on); empty for no words."""
    if not words:
        return []
    pad = [_word("<s>"), *(_word(word_key(w)) for w in words), _word("</s>")]
    crcs = {e[1] for e in pad[1:-1]}  # w=<word>
    crcs.update(_crc(cur[0], prev[8]) for prev, cur in zip(pad, pad[1:]))  # w-1:0=<prev>|<word>
    return sorted({c % buckets for c in crcs})


def intent_emissions(ids: list[int], table: np.ndarray, scale: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """An utterance's lexical intent scores: its L2-normalised binary n-gram vector times the (int8, per-column
    ``scale``) weight ``table``, plus ``bias``."""
    if not ids:
        return bias.astype(np.float32)
    return table[ids].sum(0, dtype=np.int32) * (scale / np.sqrt(len(ids))) + bias
