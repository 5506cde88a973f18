"""Built-in gazetteers: countries, US states and cities, as per-word lexical features of a skill's slot CRF.

A skill learned from ten utterances cannot know that "Gambia" is a country and "Delaware" a state: its few place
names are all it has seen. The gazetteer gives every word the names it is part of ("country:B", "region:I",
"city:B"), which the skill's CRF weighs like any other lexical feature (``edge_nlu.runtime.lexical``), so a new
country is tagged like the countries of the training utterances. Names are stored as sorted crc32 hashes of their
lower-cased words (``gazetteer.npz``, written by ``python -m export.gazetteer``); a lookup hashes the utterance's
word n-grams (up to ``MAX_WORDS`` words) and searches all of them at once.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from edge_nlu.words import word_key

PATH = Path(__file__).resolve().parent / "data" / "gazetteer.npz"
MAX_WORDS = 5
TYPES = ("country", "region", "city")


def name_hash(words: list[str]) -> int:
    """crc32 of lower-cased words joined by single spaces (the key of a name and of an n-gram)."""
    return zlib.crc32(" ".join(word_key(w) for w in words).encode("utf-8", "surrogatepass"))


class Gazetteer:
    """Sorted name hashes per type, plus US state codes (matched only when written in capitals: "AZ", not "az")."""

    def __init__(self, path: Path = PATH) -> None:
        data = path.read_bytes()
        self.version = hashlib.sha256(data).hexdigest()[:12]
        with np.load(io.BytesIO(data), allow_pickle=False) as z:  # the bytes the version was taken of
            self.tables = {t: np.ascontiguousarray(z[t], dtype=np.uint32) for t in TYPES}
            self.codes = {str(c) for c in z["region_codes"]}

    def features(self, words: list[str]) -> list[list[str]]:
        """Per word, the gazetteer features it has: ``"<type>:B"`` on a name's first word, ``"<type>:I"`` on the
        rest (every matching name of up to MAX_WORDS words, overlaps included)."""
        n = len(words)
        out: list[list[str]] = [[] for _ in range(n)]
        if n == 0:
            return out
        keys, spans = [], []
        low = [word_key(w).encode("utf-8", "surrogatepass") for w in words]
        for i in range(n):
            c = 0
            for j in range(i, min(n, i + MAX_WORDS)):
                c = zlib.crc32(low[j], c) if j == i else zlib.crc32(b" " + low[j], c)
                keys.append(c)
                spans.append((i, j + 1))
        arr = np.array(keys, dtype=np.uint32)
        for t, table in self.tables.items():
            if not len(table):
                continue
            pos = np.minimum(np.searchsorted(table, arr), len(table) - 1)
            for k in np.flatnonzero(table[pos] == arr):
                i, j = spans[k]
                out[i].append(f"{t}:B")
                out[i + 1 : j] = [f + [f"{t}:I"] for f in out[i + 1 : j]]
        for i, w in enumerate(words):
            if len(w) == 2 and w.isupper() and w.lower() in self.codes:
                out[i].append("region:B")
        return [sorted(set(f)) for f in out]


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The packaged gazetteer, loaded on first use (only skills compiled with gazetteer features need it)."""
    return Gazetteer(PATH)


def gazetteer_templates() -> str:
    """The lexical template list of a skill with gazetteer features: the plain one plus the gazetteer's version,
    so a skill built against another gazetteer is refused rather than silently mis-featured."""
    from edge_nlu.runtime.lexical import TEMPLATES

    return f"{TEMPLATES},gz@{gazetteer().version}"
