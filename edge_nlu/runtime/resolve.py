"""Entity resolution: turn a parsed slot's text into a canonical value (standard library only).

Two kinds of resolvers:

* :class:`CatalogResolver` -- a skill's custom slot type (values, synonyms, ids) resolves
  ``"Pepperonis"`` / ``"peperoni"`` to ``{"value": "pepperoni", "id": "PEP"}``.
* :func:`resolve_builtin` -- English built-in types (numbers, ordinals, times, dates, date+time, durations) under
  their Alexa, Snips and generic names; :func:`builtin_type_for_slot` guesses the type from a data set's slot name.

Every result is a dict with at least ``"value"`` and ``"id"`` (``None`` for built-ins); ``None`` means "could not
resolve". Resolvers never raise on any string (nor on non-strings): inputs over :data:`MAX_TEXT_LENGTH` characters
return ``None`` at once.

Policies of the built-in English resolvers (all relative to the reference datetime ``now``, default ``datetime.now()``;
its timezone, if any, is ignored -- wall-clock values are returned):

* Hours without am/pm or a part of the day: ``1``-``6`` are afternoon (``"six"`` -> 18:00), ``7``-``11`` morning,
  ``12`` noon; ``0`` and ``13``-``23`` and zero-padded ``"07:30"`` are taken as written. ``"at night"`` makes
  ``12`` midnight, ``1``-``4`` early morning and ``5``-``11`` evening.
* Parts of the day alone: morning 09:00, afternoon 15:00, evening 19:00, night/tonight 21:00, noon 12:00,
  midnight 00:00.
* A bare weekday (or ``"this"``/``"coming"`` weekday) is its next occurrence, today included. ``"next <weekday>"`` is
  that weekday in the next calendar week (weeks start on Monday): on Tuesday 2026-11-24 ``"friday"`` is 11-27,
  ``"next friday"`` 12-04 and ``"next monday"`` 11-30. ``"last <weekday>"`` is the latest occurrence before today.
* ``"weekend"``/``"this weekend"`` is the coming Saturday (today on Saturday and Sunday); ``"next weekend"`` the
  Saturday of next calendar week.
* A date without a year (``"june third"``, ``"12/25"``) is its next occurrence, today included; a month alone
  (``"june"``) is the first of its next occurrence with ``"grain": "month"``; a day alone (``"the fifteenth"``) the next
  such day of a month. Numeric dates are US order: ``M/D``, ``M/D/YYYY``; ISO ``YYYY-MM-DD`` is accepted.
* Periods resolve to their first day and say so: ``"next week"`` -> next Monday with ``"grain": "week"``,
  ``"this month"`` -> the 1st with ``"grain": "month"``, ``"next year"`` -> January 1st with ``"grain": "year"``.
* Durations are ISO 8601 (``"PT1H30M"``, ``"P1W"`` when weeks only, ``"P1Y2M"``); fractions are carried down (1.5 hours
  = PT1H30M). ``"seconds"`` gives the total with months = 30 days and years = 365 days.
* ``"datetime"`` (``snips/datetime``) resolves whatever grain was said and reports it in ``"kind"``: ``"datetime"``
  (``"tomorrow at seven pm"``, ``"in 5 minutes"``, ``"now"``), ``"date"`` or ``"time"``; no date is invented for a bare
  time. A phrase that is none of these but a duration resolves as one, ``"kind": "duration"``.
* ``AMAZON.FOUR_DIGIT_NUMBER`` resolves to a string of four digits (leading zeros kept: ``"oh one two three"``).
"""

from __future__ import annotations

import calendar
import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from fractions import Fraction

from edge_nlu.definitions.model import SlotType, SlotValue
from edge_nlu.errors import DefinitionError

__all__ = [
    "MAX_TEXT_LENGTH",
    "BUILTIN_TYPES",
    "CatalogResolver",
    "builtin_type_for_slot",
    "normalize_text",
    "resolve_builtin",
    "resolve_date",
    "resolve_datetime",
    "resolve_duration",
    "resolve_four_digit_number",
    "resolve_number",
    "resolve_ordinal",
    "resolve_time",
]

MAX_TEXT_LENGTH = 200
"""Longer inputs are never a slot value: every resolver returns None for them without looking further."""

_FUZZY_INDEX_MIN = 5000
_FUZZY_MAX_CANDIDATES = 300
_MEMO_MAX = 4096  # resolved texts remembered per catalog (cleared when full: bounded memory, no LRU upkeep)

# --------------------------------------------------------------------------------------------------------------------
# Catalog resolution
# --------------------------------------------------------------------------------------------------------------------

_ARTICLES = frozenset({"the", "a", "an"})


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def normalize_text(text: str) -> str:
    """NFKC, casefold, whitespace collapsed, punctuation around the text stripped."""
    t = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    start, end = 0, len(t)
    while start < end and (_is_punct(t[start]) or t[start].isspace()):
        start += 1
    while end > start and (_is_punct(t[end - 1]) or t[end - 1].isspace()):
        end -= 1
    return t[start:end]


def _singular(word: str) -> str:
    if len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us")):
        return word[:-1]
    return word


def _loose_key(normalized: str) -> str:
    """Article- and plural-insensitive key of an already normalised text; inner punctuation is dropped too."""
    if normalized.replace(" ", "").isalnum():  # the common case: nothing to drop (letters and digits are never P*)
        words = normalized.split()
    else:
        chars = []
        for ch in normalized:
            if ch in "'\u2019`":
                continue
            chars.append(" " if _is_punct(ch) else ch)
        words = "".join(chars).split()
    while len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    return " ".join(_singular(w) for w in words)


def _trigrams(key: str) -> set[str]:
    padded = f" {key} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


class CatalogResolver:
    """Resolves text to an entry of a slot type's catalog: ``resolve(text) -> {"value", "id"} | None``.

    Matching, first hit wins: (1) normalised text (:func:`normalize_text`) equals a value or synonym; (2) the same
    ignoring leading articles, plurals and inner punctuation ("the large" -> "large", "pizzas" -> "pizza");
    (3) when ``fuzzy``: the closest value or synonym with a :class:`difflib.SequenceMatcher` ratio of at least
    ``threshold``, both sides at least ``min_fuzzy_length`` characters. A canonical value beats another entry's
    synonym; a text that matches two different entries equally well resolves to None rather than to either.
    Catalogs with more than 5,000 keys search fuzzy candidates through a trigram index.
    """

    def __init__(
        self,
        values: Iterable[SlotValue | Mapping | str],
        *,
        name: str | None = None,
        fuzzy: bool = True,
        threshold: float = 0.85,
        min_fuzzy_length: int = 4,
    ) -> None:
        self.name = name
        self.fuzzy = bool(fuzzy)
        self.threshold = float(threshold)
        self.min_fuzzy_length = int(min_fuzzy_length)
        self._entries: list[SlotValue] = []
        by_identity: dict[tuple[str, str | None], int] = {}
        for raw in values:
            sv = _as_slot_value(raw)
            key = (sv.value, sv.id)
            if key in by_identity:  # the same entry listed twice: merge its synonyms
                merged = self._entries[by_identity[key]]
                merged.synonyms.extend(s for s in sv.synonyms if s not in merged.synonyms)
                continue
            by_identity[key] = len(self._entries)
            self._entries.append(SlotValue(sv.value, list(sv.synonyms), sv.id))

        # key -> (rank, entry index); entry index -1 marks a key shared by two entries at the same rank
        self._exact: dict[str, tuple[int, int]] = {}
        self._loose: dict[str, tuple[int, int]] = {}
        for idx, sv in enumerate(self._entries):
            for rank, text in [(0, sv.value)] + [(1, s) for s in sv.synonyms]:
                norm = normalize_text(text)
                if not norm:
                    continue
                _add_key(self._exact, norm, rank, idx)
                _add_key(self._loose, _loose_key(norm), rank, idx)

        self._fuzzy_keys: list[str] = [k for k, (_, i) in self._loose.items() if i >= 0 and len(k) >= 1]
        self._fuzzy_keys = [k for k in self._fuzzy_keys if len(k) >= self.min_fuzzy_length]
        self._trigram_index: dict[str, list[int]] | None = None
        self._char_table = None  # (char -> row, [chars, keys] counts, key lengths): built on the first fuzzy lookup
        # text -> entry index (None: no match): slot values repeat, and a fuzzy miss costs up to milliseconds
        self._memo: dict[str, int | None] = {}
        if self.fuzzy and len(self._fuzzy_keys) > _FUZZY_INDEX_MIN:
            index: dict[str, list[int]] = {}
            for ki, key in enumerate(self._fuzzy_keys):
                for g in _trigrams(key):
                    index.setdefault(g, []).append(ki)
            self._trigram_index = index

    # -- construction -------------------------------------------------------------------------------------------------
    @classmethod
    def from_slot_type(cls, slot_type: SlotType, **kwargs) -> CatalogResolver:
        """The resolver of a catalog slot type (``fuzzy`` etc. as keyword arguments)."""
        return cls(slot_type.values, name=slot_type.name, **kwargs)

    def to_dict(self) -> dict:
        """JSON-able form; :meth:`from_dict` inverts it."""
        return {
            "name": self.name,
            "values": [{"value": sv.value, "synonyms": list(sv.synonyms), "id": sv.id} for sv in self._entries],
            "fuzzy": self.fuzzy,
            "threshold": self.threshold,
            "min_fuzzy_length": self.min_fuzzy_length,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> CatalogResolver:
        """Build from :meth:`to_dict`'s form (``values`` entries may also be plain strings); raises DefinitionError."""
        if not isinstance(data, Mapping):
            raise DefinitionError("a catalog must be an object with a 'values' list", field="values")
        values = data.get("values", [])
        if not isinstance(values, list):
            raise DefinitionError("'values' must be a list", field="values")
        name = data.get("name")
        if name is not None and not isinstance(name, str):
            raise DefinitionError("'name' must be a string", field="name")
        try:
            threshold = float(data.get("threshold", 0.85))
            min_len = int(data.get("min_fuzzy_length", 4))
        except (TypeError, ValueError) as exc:
            raise DefinitionError(f"bad fuzzy settings: {exc}", field="threshold") from None
        if not 0.0 < threshold <= 1.0:
            raise DefinitionError("'threshold' must be in (0, 1]", field="threshold")
        return cls(
            [_as_slot_value(v, field=f"values[{i}]") for i, v in enumerate(values)],
            name=name,
            fuzzy=bool(data.get("fuzzy", True)),
            threshold=threshold,
            min_fuzzy_length=min_len,
        )

    @property
    def values(self) -> list[SlotValue]:
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"CatalogResolver(name={self.name!r}, entries={len(self._entries)}, fuzzy={self.fuzzy})"

    # -- resolution ---------------------------------------------------------------------------------------------------
    def resolve(self, text: str) -> dict | None:
        """``{"value": canonical, "id": id_or_None}`` of the entry ``text`` names, or None."""
        idx = self._memo.get(text, -1) if isinstance(text, str) else None
        if idx == -1:
            try:
                idx = self._match(text)
            except Exception:  # resolution must never take the runtime down
                return None
            if len(self._memo) >= _MEMO_MAX:
                self._memo.clear()
            self._memo[text] = idx
        if idx is None:
            return None
        sv = self._entries[idx]
        return {"value": sv.value, "id": sv.id}

    def _match(self, text: str) -> int | None:
        if not isinstance(text, str) or len(text) > MAX_TEXT_LENGTH:
            return None
        norm = normalize_text(text)
        if not norm:
            return None
        hit = self._exact.get(norm)
        if hit is not None:
            return hit[1] if hit[1] >= 0 else None
        loose = _loose_key(norm)
        hit = self._loose.get(loose)
        if hit is not None:
            return hit[1] if hit[1] >= 0 else None
        if not self.fuzzy or len(loose) < self.min_fuzzy_length:
            return None
        return self._fuzzy(loose)

    def _candidates(self, query: str) -> Iterable[str]:
        if self._trigram_index is None:
            return self._prefilter(query)
        counts: dict[int, int] = {}
        for g in _trigrams(query):
            for ki in self._trigram_index.get(g, ()):
                counts[ki] = counts.get(ki, 0) + 1
        best = sorted(counts.items(), key=lambda kv: -kv[1])[:_FUZZY_MAX_CANDIDATES]
        return [self._fuzzy_keys[ki] for ki, _ in best]

    def _prefilter(self, query: str) -> list[str]:
        """The keys that pass ``real_quick_ratio`` and ``quick_ratio`` (the cheap bounds :meth:`_fuzzy` checks first),
        in order, computed for all keys at once with numpy: ``quick_ratio``'s matches are the multiset intersection
        of the two strings' characters. A hair looser than the threshold; :meth:`_fuzzy` re-checks each key exactly.
        """
        import numpy as np

        if self._char_table is None:
            keys = self._fuzzy_keys
            lens = np.array([len(k) for k in keys], dtype=np.int64)
            codes = np.frombuffer("".join(keys).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
            chars, row_of = np.unique(codes, return_inverse=True)
            dtype = np.uint8 if lens.max(initial=0) < 256 else np.uint16
            cell = row_of.ravel() * len(keys) + np.repeat(np.arange(len(keys)), lens)
            counts = np.bincount(cell, minlength=len(chars) * len(keys)).astype(dtype).reshape(len(chars), len(keys))
            rows = {chr(c): r for r, c in enumerate(chars.tolist())}
            self._char_table = (rows, counts, lens.astype(np.float64))
        rows, counts, lens = self._char_table
        if not len(lens):
            return []
        lq = len(query)
        total = lens + lq
        bound = self.threshold - 1e-9
        ok = 2.0 * np.minimum(lens, lq) / total >= bound
        matches = np.zeros(len(lens), dtype=np.float64)
        seen: dict[str, int] = {}
        for ch in query:
            seen[ch] = seen.get(ch, 0) + 1
        for ch, n in seen.items():
            r = rows.get(ch)
            if r is not None:
                matches += np.minimum(counts[r], min(n, int(np.iinfo(counts.dtype).max)))
        ok &= 2.0 * matches / total >= bound
        keys = self._fuzzy_keys
        return [keys[i] for i in np.flatnonzero(ok)]

    def _fuzzy(self, query: str) -> int | None:
        matcher = difflib.SequenceMatcher(autojunk=False)
        matcher.set_seq2(query)
        lq = len(query)
        best_score = 0.0
        best_entries: set[int] = set()
        for key in self._candidates(query):
            lk = len(key)
            if 2.0 * min(lq, lk) / (lq + lk) < self.threshold:
                continue
            matcher.set_seq1(key)
            if matcher.real_quick_ratio() < self.threshold or matcher.quick_ratio() < self.threshold:
                continue
            score = matcher.ratio()
            if score < self.threshold or score < best_score - 1e-9:
                continue
            entry = self._loose[key][1]
            if score > best_score + 1e-9:
                best_score, best_entries = score, {entry}
            else:
                best_entries.add(entry)
        if len(best_entries) != 1:  # nothing close enough, or a tie between two entries
            return None
        return next(iter(best_entries))


def _add_key(table: dict[str, tuple[int, int]], key: str, rank: int, idx: int) -> None:
    if not key:
        return
    old = table.get(key)
    if old is None or rank < old[0]:
        table[key] = (rank, idx)
    elif rank == old[0] and old[1] != idx:
        table[key] = (rank, -1)


def _as_slot_value(raw: SlotValue | Mapping | str, *, field: str = "values") -> SlotValue:
    if isinstance(raw, SlotValue):
        return raw
    if isinstance(raw, str):
        return SlotValue(raw)
    if isinstance(raw, Mapping):
        value = raw.get("value")
        synonyms = raw.get("synonyms") or []
        ident = raw.get("id")
        if not isinstance(value, str) or not value.strip():
            raise DefinitionError("a catalog value needs a non-empty string 'value'", field=field)
        if not isinstance(synonyms, list) or not all(isinstance(s, str) for s in synonyms):
            raise DefinitionError("'synonyms' must be a list of strings", field=f"{field}.synonyms")
        if ident is not None and not isinstance(ident, (str, int)):
            raise DefinitionError("'id' must be a string", field=f"{field}.id")
        return SlotValue(value, list(synonyms), None if ident is None else str(ident))
    raise DefinitionError(f"a catalog value must be a string or an object, not {type(raw).__name__}", field=field)


# --------------------------------------------------------------------------------------------------------------------
# English built-ins: text preparation and numbers
# --------------------------------------------------------------------------------------------------------------------

_UNITS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine".split())}
_TEENS = {w: i + 10 for i, w in enumerate("ten eleven twelve thirteen fourteen fifteen sixteen seventeen".split())}
_TEENS.update({"eighteen": 18, "nineteen": 19})
_TENS = {w: (i + 2) * 10 for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_TENS["fourty"] = 40  # common misspelling in the data sets
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_ORDINALS = {
    "first": "one", "second": "two", "third": "three", "fourth": "four", "fifth": "five", "sixth": "six",
    "seventh": "seven", "eighth": "eight", "ninth": "nine", "tenth": "ten", "eleventh": "eleven", "twelfth": "twelve",
    "hundredth": "hundred", "thousandth": "thousand", "millionth": "million", "billionth": "billion",
}  # fmt: skip
_ORDINALS.update({w + "th": w for w in _TEENS if w.endswith("teen")})
_ORDINALS.update({w[:-1] + "ieth": w for w in _TENS})

_RE_AMPM_DOTTED = re.compile(r"\b([ap])\.\s?m\b\.?")
_RE_AMPM_SPACED = re.compile(r"\b([ap]) m\b")
_RE_AMPM_GLUED = re.compile(r"(\d)\s?([ap])m\b")
_RE_OCLOCK = re.compile(r"\bo\s?'?\s?clock\b")
_RE_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_RE_DIGIT_WORD = re.compile(r"(?<=\d)(?=[a-z]{3,})|(?<=[a-z]{3})(?=\d)")
_RE_NUM = re.compile(r"[+-]?(?:\d+\.\d+|\d+|\.\d+)")
_RE_FRACTION = re.compile(r"(\d+)/(\d+)")
_RE_ORD_DIGITS = re.compile(r"(\d+)(st|nd|rd|th)")


def _prepare(text: object) -> list[str] | None:
    """Lower-cased word tokens of a built-in's input; None when the input cannot be a value."""
    if not isinstance(text, str) or len(text) > MAX_TEXT_LENGTH:
        return None
    t = unicodedata.normalize("NFKC", text).casefold()
    t = t.replace("\u2019", "'").replace("`", "'")
    t = _RE_OCLOCK.sub(" oclock ", t)
    t = _RE_AMPM_DOTTED.sub(r" \1m ", t)
    t = _RE_AMPM_SPACED.sub(r" \1m ", t)
    t = _RE_AMPM_GLUED.sub(r"\1 \2m", t)
    t = t.replace("'", "")
    t = _RE_THOUSANDS.sub("", t)
    t = re.sub(r"[^\w\s:/.\-+]", " ", t)
    t = t.replace("_", " ")
    # separators survive only between digits (12:30, 12/25, 2026-12-01, 3.5) or before a digit (-5, .5)
    t = re.sub(r"(?<!\d)[:/]|[:/](?!\d)", " ", t)
    t = re.sub(r"\.(?!\d)", " ", t)
    t = re.sub(r"(?<=[^\d\s])[-+]|[-+](?!\d)", " ", t)
    t = _RE_DIGIT_WORD.sub(" ", t)
    toks = t.split()
    return toks or None


def _strip_and(toks: list[str]) -> list[str]:
    i, j = 0, len(toks)
    while i < j and toks[i] == "and":
        i += 1
    while j > i and toks[j - 1] == "and":
        j -= 1
    return toks[i:j]


def _int_words(toks: list[str]) -> int | None:
    """A cardinal in words (or a leading digit string followed by scales): "a hundred and five" -> 105."""
    if not toks:
        return None
    total, cur, last, max_scale = 0, 0, None, None
    n = len(toks)
    for i, w in enumerate(toks):
        if w == "and":
            if last in ("hundred", "scale") and i < n - 1:
                continue
            return None
        if w in ("a", "an"):
            if i == 0 and n > 1 and (toks[1] == "hundred" or toks[1] in _SCALES):
                cur, last = 1, "unit"
                continue
            return None
        if w.isdigit():
            if last is not None or len(w) > 15:
                return None
            cur, last = int(w), "digit"
        elif w in _UNITS:
            v = _UNITS[w]
            if v == 0 and n != 1:
                return None
            if last in ("unit", "teen", "digit"):
                return None
            cur, last = cur + v, "unit"
        elif w in _TEENS or w in _TENS:
            if last in ("unit", "teen", "tens", "digit"):
                return None
            cur += _TEENS.get(w) or _TENS[w]
            last = "teen" if w in _TEENS else "tens"
        elif w == "hundred":
            if last is None:
                cur = 1
            elif not 0 < cur < 100 or last == "hundred":
                return None
            cur, last = cur * 100, "hundred"
        elif w in _SCALES:
            s = _SCALES[w]
            if max_scale is not None and s >= max_scale:
                return None
            if last is None:
                cur = 1
            if cur == 0:
                return None
            total, cur, last, max_scale = total + cur * s, 0, "scale", s
        else:
            return None
    if last is None:
        return None
    return total + cur


_FRACTION_WORDS = {"half": Fraction(1, 2), "quarter": Fraction(1, 4)}


def _number(toks: list[str]) -> Fraction | None:
    """Any number: digits, words, fractions ("one and a half", "a dozen", "three point five"), as a Fraction."""
    if not toks or len(toks) > 24:
        return None
    if toks[0] in ("minus", "negative"):
        v = _number(toks[1:])
        return None if v is None else -v
    if len(toks) == 1:
        w = toks[0]
        if _RE_NUM.fullmatch(w):
            return Fraction(w) if len(w) <= 30 else None
        m = _RE_FRACTION.fullmatch(w)
        if m and int(m.group(2)) != 0 and len(w) <= 12:
            return Fraction(int(m.group(1)), int(m.group(2)))
    if toks[0] in ("a", "an") and len(toks) >= 2 and toks[1] in ("couple", "dozen", "half", "quarter"):
        toks = toks[1:]
    if toks[-1] == "dozen":
        if len(toks) == 1:
            return Fraction(12)
        if toks[:-1] in (["half", "a"], ["half"]):
            return Fraction(6)
        v = _number(toks[:-1])
        return None if v is None or v <= 0 else v * 12
    if toks == ["couple"] or toks == ["couple", "of"]:
        return Fraction(2)
    if len(toks) == 1 and toks[0] in _FRACTION_WORDS:
        return _FRACTION_WORDS[toks[0]]
    if len(toks) == 2 and toks[1] in ("quarters", "halves", "quarter"):
        n = _int_words(toks[:1])
        if n is not None and n > 0:
            return n * (Fraction(1, 4) if toks[1].startswith("quarter") else Fraction(1, 2))
    # "X and a half", "X and a quarter", "X and three quarters"
    if len(toks) >= 3 and toks[-1] in ("half", "quarter", "quarters") and "and" in toks:
        k = len(toks) - 1 - toks[::-1].index("and")
        frac = _number(toks[k + 1 :])
        whole = _number(toks[:k])
        if frac is not None and whole is not None and 0 < frac < 1 and whole >= 0:
            return whole + frac
        return None
    if "point" in toks:
        k = toks.index("point")
        whole = _int_words(toks[:k]) if k else 0
        digits = []
        for w in toks[k + 1 :]:
            if w.isdigit():
                digits.append(w)
            elif w in _UNITS:
                digits.append(str(_UNITS[w]))
            elif w == "oh":
                digits.append("0")
            else:
                return None
        if whole is None or not digits or len(digits) > 20:
            return None
        return Fraction(f"{whole}.{''.join(digits)}")
    v = _int_words(toks)
    return None if v is None else Fraction(v)


def _plain(v: Fraction) -> int | float:
    return int(v) if v.denominator == 1 else float(v)


def _ordinal(toks: list[str]) -> int | None:
    if toks and toks[0] == "the":
        toks = toks[1:]
    if not toks or len(toks) > 12:
        return None
    if len(toks) == 1:
        m = _RE_ORD_DIGITS.fullmatch(toks[0])
        if m and len(m.group(1)) <= 12:
            n = int(m.group(1))
            return n if n > 0 else None
        if toks[0].isdigit() and len(toks[0]) <= 12:
            n = int(toks[0])
            return n if n > 0 else None
    card = _ORDINALS.get(toks[-1])
    if card is None:
        return None
    n = _int_words(toks[:-1] + [card])
    return n if n is not None and n > 0 else None


# --------------------------------------------------------------------------------------------------------------------
# Times
# --------------------------------------------------------------------------------------------------------------------

_DAY_PARTS = {
    "morning": ("am", 9),
    "afternoon": ("pm", 15),
    "evening": ("pm", 19),
    "night": ("night", 21),
    "tonight": ("night", 21),
    "tonite": ("night", 21),
}
_TIME_FILLERS = frozenset({"at", "around", "about", "approximately", "exactly", "by", "@"})
_RE_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def _hour_word(toks: list[str]) -> int | None:
    if toks in (["noon"], ["midday"]):
        return 12
    if toks == ["midnight"]:
        return 0
    if len(toks) == 1 and toks[0].isdigit() and len(toks[0]) <= 2:
        h = int(toks[0])
    else:
        h = _int_words(toks) if len(toks) <= 2 else None
    return h if h is not None and 0 <= h <= 23 else None


def _minute_words(toks: list[str]) -> int | None:
    if not toks or len(toks) > 3:
        return None
    if toks[0] in ("oh", "o"):
        if len(toks) != 2:
            return None
        m = _UNITS.get(toks[1]) if not toks[1].isdigit() else int(toks[1])
        return m if m is not None and 0 < m < 10 else None
    if len(toks) == 1 and toks[0].isdigit() and len(toks[0]) == 2:
        m = int(toks[0])
        return m if m < 60 else None
    m = _int_words(toks)
    return m if m is not None and 10 <= m < 60 else None


def _offset_minutes(toks: list[str]) -> int | None:
    """The X of "X past six" / "X to nine": half, quarter, twenty, ten minutes..."""
    if toks and toks[0] == "a":
        toks = toks[1:]
    if toks in (["half"],):
        return 30
    if toks in (["quarter"],):
        return 15
    if toks and toks[-1] in ("minute", "minutes", "mins", "min"):
        toks = toks[:-1]
    if len(toks) == 1 and toks[0].isdigit() and len(toks[0]) <= 2:
        m = int(toks[0])
    else:
        m = _int_words(toks) if 0 < len(toks) <= 2 else None
    return m if m is not None and 0 < m < 60 else None


def _clock(toks: list[str]) -> tuple[int, int, int, bool] | None:
    """(hour, minute, second, as_written) of a clock phrase without am/pm; as_written: no 12-hour ambiguity."""
    n = len(toks)
    if n == 0 or n > 6:
        return None
    if toks in (["noon"], ["midday"], ["twelve", "noon"], ["12", "noon"]):
        return 12, 0, 0, True
    if toks in (["midnight"], ["twelve", "midnight"], ["12", "midnight"]):
        return 0, 0, 0, True
    if n == 1:
        w = toks[0]
        m = _RE_CLOCK.fullmatch(w)
        if m:
            h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
            if h > 23 or mi > 59 or s > 59:
                return None
            return h, mi, s, len(m.group(1)) == 2 and (h == 0 or w.startswith("0") or h > 12)
        if w.isdigit() and len(w) in (3, 4):  # ATIS style: 730, 1945, 0900
            h, mi = int(w[:-2]), int(w[-2:])
            if h > 23 or mi > 59:
                return None
            return h, mi, 0, len(w) == 4 and (w.startswith("0") or h > 12 or h == 0)
    if n >= 2 and toks[-1] == "hours" and toks[-2].isdigit() and len(toks[-2]) == 4:  # "1700 hours"
        got = _clock(toks[:-1])
        return None if got is None else (got[0], got[1], 0, True)
    for rel in ("past", "after", "to", "till", "til", "until", "before", "of"):
        if rel in toks:
            k = toks.index(rel)
            off = _offset_minutes(toks[:k])
            hour = _hour_word(toks[k + 1 :])
            if off is None or hour is None:
                return None
            if rel in ("past", "after"):
                return hour, off, 0, hour in (0, 12) or hour > 12
            hour = (hour - 1) % 24 if hour != 0 else 23
            return hour, 60 - off, 0, hour == 23 or hour > 12
    # "seven", "seven thirty", "eight fifty five", "one oh two", "nineteen hundred", "twenty three"
    for k in (1, 2):
        if k > n:
            break
        hour = _hour_word(toks[:k])
        if hour is None:
            continue
        rest = toks[k:]
        if not rest:
            return hour, 0, 0, hour == 0 or hour > 12
        if rest[0] == "hundred":
            rest = _strip_and(rest[1:])
            if not rest:
                return hour, 0, 0, True
            mi = _minute_words(rest)
            if mi is not None:
                return hour, mi, 0, hour == 0 or hour > 12
            continue
        mi = _minute_words(rest)
        if mi is not None:
            return hour, mi, 0, hour == 0 or hour > 12
    return None


def _apply_meridiem(h: int, meridiem: str | None, as_written: bool) -> int | None:
    if meridiem == "am":
        if not 1 <= h <= 12:
            return 0 if h == 0 else None
        return 0 if h == 12 else h
    if meridiem == "pm":
        if not 1 <= h <= 12:
            return None
        return 12 if h == 12 else h + 12
    if meridiem == "night":
        if h == 12:
            return 0
        if 1 <= h <= 4 or h == 0 or h > 12:
            return h
        return h + 12
    if as_written or h == 0 or h > 12:
        return h
    return h + 12 if 1 <= h <= 6 else h  # the documented policy: 1-6 pm, 7-11 am, 12 noon


def _time(toks: list[str]) -> tuple[int, int, int] | None:
    toks = list(toks)
    while toks and toks[0] in _TIME_FILLERS:
        toks = toks[1:]
    if not toks:
        return None
    if toks in (["now"], ["right", "now"]):
        return None  # handled by callers that know the reference time
    toks = [t for t in toks if t != "oclock"] or toks
    meridiem = None
    day_default = None
    if toks[-1] in ("am", "pm"):
        meridiem = toks[-1]
        toks = toks[:-1]
    # parts of the day, anywhere: "seven in the morning", "morning at seven am", "tonight at 8", "this evening"
    for j, w in enumerate(toks):
        if w in _DAY_PARTS:
            part, default = _DAY_PARTS[w]
            if (part, meridiem) in (("am", "pm"), ("pm", "am")):
                return None
            before = toks[:j]
            while before and before[-1] in ("the", "in", "at", "this", "of", "during", "late", "early"):
                before = before[:-1]
            after = toks[j + 1 :]
            while after and after[0] in _TIME_FILLERS:
                after = after[1:]
            if before and after:
                return None
            toks = before or after
            meridiem = meridiem or part
            day_default = default
            break
    while toks and toks[0] in _TIME_FILLERS:
        toks = toks[1:]
    if not toks:
        if day_default is None:
            return None
        return day_default, 0, 0
    got = _clock(toks)
    if got is None:
        return None
    h, mi, s, as_written = got
    if toks in (["noon"], ["midday"], ["midnight"]) or (len(toks) == 2 and toks[1] in ("noon", "midnight")):
        if meridiem in ("am", "pm") and day_default is None:
            return None
        return h, mi, s
    h = _apply_meridiem(h, meridiem, as_written)
    if h is None:
        return None
    return h, mi, s


def _fmt_time(t: tuple[int, int, int]) -> str:
    return f"{t[0]:02d}:{t[1]:02d}:{t[2]:02d}"


# --------------------------------------------------------------------------------------------------------------------
# Durations
# --------------------------------------------------------------------------------------------------------------------

_DURATION_UNITS = {
    "second": "S", "seconds": "S", "sec": "S", "secs": "S",
    "minute": "MIN", "minutes": "MIN", "min": "MIN", "mins": "MIN",
    "hour": "H", "hours": "H", "hr": "H", "hrs": "H",
    "day": "D", "days": "D",
    "week": "W", "weeks": "W", "wk": "W", "wks": "W",
    "fortnight": "2W", "fortnights": "2W",
    "month": "MO", "months": "MO",
    "year": "Y", "years": "Y", "yr": "Y", "yrs": "Y",
    "decade": "10Y", "decades": "10Y",
}  # fmt: skip
_UNIT_ORDER = ["Y", "MO", "W", "D", "H", "MIN", "S"]
_UNIT_DOWN = {"Y": ("MO", 12), "MO": ("D", 30), "W": ("D", 7), "D": ("H", 24), "H": ("MIN", 60), "MIN": ("S", 60)}
_UNIT_SECONDS = {"Y": 365 * 86400, "MO": 30 * 86400, "W": 7 * 86400, "D": 86400, "H": 3600, "MIN": 60, "S": 1}


def _duration(toks: list[str]) -> dict[str, Fraction] | None:
    """Unit -> amount of a duration phrase ("an hour and a half" -> {"H": 3/2}); None when not a duration."""
    while toks and toks[0] in ("for", "about", "around", "approximately", "exactly", "roughly", "just"):
        toks = toks[1:]
    if not toks or len(toks) > 30:
        return None
    if toks[0] == "quarter" or toks[:2] == ["a", "quarter"]:  # "a quarter hour"
        rest = toks[2:] if toks[0] == "a" else toks[1:]
        if rest in (["hour"], ["of", "an", "hour"]):
            return {"MIN": Fraction(15)}
    amounts: dict[str, Fraction] = {}
    buf: list[str] = []
    last_unit = None
    for w in toks:
        unit = _DURATION_UNITS.get(w)
        if unit is None:
            buf.append(w)
            continue
        words = _strip_and(buf)
        while words and words[-1] in ("of", "a", "an") and len(words) > 1:
            words = words[:-1]
        if words in (["a"], ["an"], ["one"], ["single"]):
            amount = Fraction(1)
        else:
            amount = _number(words) if words else None
        if amount is None or amount < 0:
            return None
        factor = 1
        if unit[0].isdigit():  # fortnight, decade
            factor, unit = int(unit[:-1]), unit[-1]
        if unit in amounts and last_unit != unit:
            return None
        amounts[unit] = amounts.get(unit, Fraction(0)) + amount * factor
        last_unit = unit
        buf = []
    if buf:
        tail = _strip_and(buf)
        frac = _number(tail) if buf[0] == "and" else None
        if last_unit is None or frac is None or not 0 < frac < 1:
            return None
        amounts[last_unit] += frac
    if not amounts:
        return None
    return amounts


def _normalize_duration(amounts: dict[str, Fraction]) -> dict[str, Fraction]:
    """Carry fractions down to smaller units; weeks fold into days unless they are alone."""
    out = {u: Fraction(amounts.get(u, 0)) for u in _UNIT_ORDER}
    for u in _UNIT_ORDER[:-1]:
        frac = out[u] - int(out[u])
        if frac:
            smaller, mult = _UNIT_DOWN[u]
            out[u] -= frac
            out[smaller] += frac * mult
    if out["W"] and any(out[u] for u in _UNIT_ORDER if u != "W"):
        out["D"] += out["W"] * 7
        out["W"] = Fraction(0)
    return out


def _iso_duration(parts: dict[str, Fraction]) -> str:
    def num(v: Fraction) -> str:
        if v.denominator == 1:
            return str(v.numerator)
        return f"{float(v):.3f}".rstrip("0").rstrip(".")

    if parts["W"] and not any(parts[u] for u in _UNIT_ORDER if u != "W"):
        return f"P{num(parts['W'])}W"
    date_part = "".join(f"{num(parts[u])}{code}" for u, code in (("Y", "Y"), ("MO", "M"), ("D", "D")) if parts[u])
    time_part = "".join(f"{num(parts[u])}{code}" for u, code in (("H", "H"), ("MIN", "M"), ("S", "S")) if parts[u])
    if not date_part and not time_part:
        return "PT0S"
    return "P" + date_part + ("T" + time_part if time_part else "")


# --------------------------------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------------------------------

_WEEKDAYS = {}
for _i, _name in enumerate(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]):
    for _form in (_name, _name + "s", _name[:3], _name[:3] + "s"):
        _WEEKDAYS[_form] = _i
_WEEKDAYS.update({"tues": 1, "weds": 2, "thur": 3, "thurs": 3})
_WEEKDAYS.pop("sats", None)
_MONTHS = {}
for _i, _name in enumerate(calendar.month_name[1:], start=1):
    _MONTHS[_name.lower()] = _i
    _MONTHS[_name.lower()[:3]] = _i
_MONTHS["sept"] = 9
_HOLIDAYS = {
    "christmas": (12, 25), "christmas day": (12, 25), "xmas": (12, 25), "christmas eve": (12, 24),
    "new years day": (1, 1), "new years": (1, 1), "new year": (1, 1), "new years eve": (12, 31),
    "valentines day": (2, 14), "valentines": (2, 14), "halloween": (10, 31), "independence day": (7, 4),
    "boxing day": (12, 26), "st patricks day": (3, 17), "saint patricks day": (3, 17),
}  # fmt: skip
_RE_ISO_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_RE_US_DATE = re.compile(r"(\d{1,2})[/-](\d{1,2})(?:[/-](\d{2}|\d{4}))?")
_DATE_FILLERS = frozenset({"on", "for", "by", "until", "till", "of", "from", "starting"})


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year = d.year + y
    if not 1 <= year <= 9999:
        raise OverflowError
    month = m + 1
    return d.replace(year=year, month=month, day=min(d.day, calendar.monthrange(year, month)[1]))


def _upcoming(today: date, month: int, day: int) -> date | None:
    """The next month/day on or after today (up to 8 years ahead for February 29th)."""
    for year in range(today.year, today.year + 9):
        try:
            d = date(year, month, day)
        except ValueError:
            continue
        if d >= today:
            return d
    return None


def _year(toks: list[str]) -> int | None:
    if not toks or len(toks) > 8:
        return None
    if len(toks) == 1 and toks[0].isdigit():
        y = int(toks[0]) if len(toks[0]) == 4 else None
        return y if y is not None and 1000 <= y <= 2999 else None
    y = _int_words(toks)
    if y is not None:
        return y if 1000 <= y <= 2999 else None
    # "nineteen ninety", "twenty twenty seven", "nineteen oh five", "nineteen hundred"
    for k in (1, 2):
        century = _int_words(toks[:k])
        if century is None or not 10 <= century <= 29:
            continue
        rest = toks[k:]
        if rest == ["hundred"]:
            return century * 100
        if rest[:1] in (["oh"], ["o"]) and len(rest) == 2 and rest[1] in _UNITS and _UNITS[rest[1]] > 0:
            return century * 100 + _UNITS[rest[1]]
        tail = _int_words(rest)
        if tail is not None and 10 <= tail <= 99:
            return century * 100 + tail
    return None


def _day_of_month(toks: list[str]) -> int | None:
    if toks and toks[0] == "the":
        toks = toks[1:]
    if not toks or len(toks) > 3:
        return None
    d = _ordinal(toks)
    if d is None:
        d = _int_words(toks)
    return d if d is not None and 1 <= d <= 31 else None


def _month_day(toks: list[str], today: date) -> tuple[date, str] | None:
    idx = [i for i, w in enumerate(toks) if w in _MONTHS]
    if len(idx) != 1:
        return None
    i = idx[0]
    month = _MONTHS[toks[i]]
    left, right = toks[:i], toks[i + 1 :]
    if left and left[-1] == "of":
        left = left[:-1]
    if left:
        day = _day_of_month(left)
        if day is None:
            return None
        choices = [(day, right)]
    else:
        if right and right[0] == "the":
            right = right[1:]
        if not right:
            first = date(today.year, month, 1)
            if month < today.month:
                first = first.replace(year=today.year + 1)
            return first, "month"
        if right[:1] in (["of"], ["in"]):  # "june of 2027"
            y = _year(right[1:])
            return (date(y, month, 1), "month") if y is not None else None
        y = _year(right)
        if y is not None:
            return date(y, month, 1), "month"
        choices = []
        for k in range(1, min(3, len(right)) + 1):
            day = _day_of_month(right[:k])
            if day is not None:
                choices.append((day, right[k:]))
    for day, rest in choices:
        if rest and rest[0] in ("of", "in"):
            rest = rest[1:]
        if not rest:
            d = _upcoming(today, month, day)
            if d is not None:
                return d, "day"
            continue
        y = _year(rest)
        if y is None:
            continue
        try:
            return date(y, month, day), "day"
        except ValueError:
            continue
    return None


def _weekday(toks: list[str], today: date) -> date | None:
    if not toks or toks[-1] not in _WEEKDAYS:
        return None
    wd = _WEEKDAYS[toks[-1]]
    mod = toks[:-1]
    if mod and mod[0] == "the":
        mod = mod[1:]
    if mod in ([], ["this"], ["coming"], ["this", "coming"], ["upcoming"]):
        return today + timedelta(days=(wd - today.weekday()) % 7)
    if mod in (["next"], ["the", "next"]):
        return today + timedelta(days=7 - today.weekday() + wd)
    if mod in (["last"], ["past"], ["previous"]):
        return today - timedelta(days=(today.weekday() - wd - 1) % 7 + 1)
    return None


def _relative_amount(toks: list[str]) -> tuple[dict[str, Fraction], int] | None:
    """(duration, sign) of "in three days", "three days from now", "two weeks ago", "a week from today"."""
    if not toks:
        return None
    if toks[0] in ("in", "within", "after") and len(toks) > 1:
        amounts, sign = _duration(toks[1:]), 1
    elif toks[-1] == "ago":
        amounts, sign = _duration(toks[:-1]), -1
    elif toks[-1] in ("later", "hence"):
        amounts, sign = _duration(toks[:-1]), 1
    elif len(toks) > 2 and toks[-2] == "from" and toks[-1] in ("now", "today"):
        amounts, sign = _duration(toks[:-2]), 1
    else:
        return None
    return (amounts, sign) if amounts else None


def _shift(now: datetime, amounts: dict[str, Fraction], sign: int) -> datetime:
    parts = _normalize_duration(amounts)
    months = int(parts["Y"]) * 12 + int(parts["MO"])
    moved = datetime.combine(_add_months(now.date(), sign * months), now.time()) if months else now
    secs = sum(parts[u] * _UNIT_SECONDS[u] for u in ("W", "D", "H", "MIN", "S"))
    if secs > 10**10:
        raise OverflowError
    return moved + sign * timedelta(seconds=float(secs))


def _date(toks: list[str], today: date, now: datetime) -> tuple[date, str] | None:
    while toks and toks[0] in _DATE_FILLERS:
        toks = toks[1:]
    if not toks:
        return None
    n = len(toks)
    head = toks[1:] if toks[0] == "the" and n > 1 else toks
    phrase = " ".join(head)
    if phrase in ("today", "todays", "tonight", "this day"):
        return today, "day"
    if phrase in ("tomorrow", "tomorrows", "tmrw", "tmr", "tommorow", "tomorow"):
        return today + timedelta(days=1), "day"
    if phrase in ("yesterday", "yesterdays", "last night"):
        return today - timedelta(days=1), "day"
    if phrase in ("day after tomorrow", "day after tomorrows"):
        return today + timedelta(days=2), "day"
    if phrase in ("day before yesterday",):
        return today - timedelta(days=2), "day"
    if phrase in _HOLIDAYS:
        got = _upcoming(today, *_HOLIDAYS[phrase])
        return (got, "day") if got else None
    monday = today - timedelta(days=today.weekday())
    if phrase in ("weekend", "this weekend", "coming weekend", "this coming weekend", "weekends"):
        if today.weekday() >= 5:
            return today, "day"
        return today + timedelta(days=5 - today.weekday()), "day"
    if phrase in ("next weekend",):
        return monday + timedelta(days=12), "day"
    if phrase in ("last weekend", "past weekend"):
        return monday - timedelta(days=2), "day"
    periods = {"week": "week", "month": "month", "year": "year"}
    words = head
    if len(words) == 2 and words[1] in periods and words[0] in ("this", "next", "last", "coming", "past", "previous"):
        unit = words[1]
        step = {"this": 0, "coming": 1, "next": 1, "last": -1, "past": -1, "previous": -1}[words[0]]
        if unit == "week":
            return monday + timedelta(weeks=step), "week"
        if unit == "month":
            return _add_months(today.replace(day=1), step), "month"
        return date(today.year + step, 1, 1), "year"
    wd = _weekday(head, today)
    if wd is not None:
        return wd, "day"
    if len(words) == 2 and words[0] in ("next", "this", "coming") and words[1] in _MONTHS:  # "next march"
        month = _MONTHS[words[1]]
        year = today.year if (month > today.month or (month == today.month and words[0] == "this")) else today.year + 1
        return date(year, month, 1), "month"
    rel = _relative_amount(toks)
    if rel is not None:
        amounts, sign = rel
        if any(u in amounts for u in ("H", "MIN", "S")):
            return None
        return _shift(now, amounts, sign).date(), "day"
    if len(toks) >= 3 and toks[-2] == "from" and toks[-1] in ("today", "now", "tomorrow"):  # "a week from tomorrow"
        amounts = _duration(toks[:-2])
        if amounts and not any(u in amounts for u in ("H", "MIN", "S")):
            base = now + timedelta(days=1 if toks[-1] == "tomorrow" else 0)
            return _shift(base, amounts, 1).date(), "day"
    if n == 1:
        w = toks[0]
        m = _RE_ISO_DATE.fullmatch(w)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3))), "day"
            except ValueError:
                return None
        m = _RE_US_DATE.fullmatch(w)
        if m and ("/" in w or m.group(3)):
            month, day = int(m.group(1)), int(m.group(2))
            if m.group(3) is None:
                got = _upcoming(today, month, day) if 1 <= month <= 12 else None
                return (got, "day") if got else None
            year = int(m.group(3))
            year = year + 2000 if len(m.group(3)) == 2 else year
            try:
                return date(year, month, day), "day"
            except ValueError:
                return None
    got = _month_day(head, today)
    if got is not None:
        return got
    if head and head[-1] in _ORDINALS or (len(head) == 1 and _RE_ORD_DIGITS.fullmatch(head[0])):
        day = _day_of_month(head)
        if day is not None:
            for k in range(0, 13):
                first = _add_months(today.replace(day=1), k)
                if day <= calendar.monthrange(first.year, first.month)[1]:
                    d = first.replace(day=day)
                    if d >= today:
                        return d, "day"
        return None
    y = _year(head)
    if y is not None and not (len(head) == 1 and len(head[0]) != 4):
        return date(y, 1, 1), "year"
    return None


# --------------------------------------------------------------------------------------------------------------------
# Date + time
# --------------------------------------------------------------------------------------------------------------------


def _date_and_time(toks: list[str], today: date, now: datetime) -> tuple[date, tuple[int, int, int]] | None:
    """A phrase with both a date and a time, in either order: "tomorrow at seven pm", "7pm on friday"."""
    n = len(toks)
    if n < 2 or n > 40:
        return None
    if toks[0] in _DAY_PARTS and n >= 2 and toks[1] == "of":  # "morning of june third"
        got = _date(toks[2:], today, now)
        if got and got[1] == "day":
            return got[0], (_DAY_PARTS[toks[0]][1], 0, 0)
    if "tonight" in toks or "tonite" in toks:  # the time needs the word: "at 8 tonight" is 20:00 (see resolve_datetime)
        return None
    for i in range(1, n):
        first, second = toks[:i], toks[i:]
        d = _date(first, today, now)
        if d is not None and d[1] == "day":
            # "june 13 2038": the date's year, not 20:38; a year is within 150 years back and 100 ahead of today,
            # so "june 13 1130" / "june 13 2200" are at 11:30 / 22:00
            year = second[0] if len(second) == 1 and len(second[0]) == 4 and second[0].isdigit() else ""
            if year and today.year - 150 <= int(year) <= today.year + 100 and _date(toks, today, now) is not None:
                continue
            t = _time(second)
            if t is not None:
                return d[0], t
        t = _time(first)
        if t is not None:
            d = _date(second, today, now)
            if d is not None and d[1] == "day":
                return d[0], t
    return None


def _now(now: datetime | None) -> datetime:
    if now is None:
        now = datetime.now()
    if now.tzinfo is not None:
        now = now.replace(tzinfo=None)
    return now.replace(microsecond=0)


def _fmt_datetime(d: date, t: tuple[int, int, int]) -> str:
    return f"{d.isoformat()}T{_fmt_time(t)}"


# --------------------------------------------------------------------------------------------------------------------
# Public resolvers
# --------------------------------------------------------------------------------------------------------------------


def _safe(fn):
    def wrapper(text, *args, **kwargs):
        try:
            return fn(text, *args, **kwargs)
        except Exception:  # never raise on user text: overflow, odd unicode, calendar edge cases
            return None

    wrapper.__name__ = fn.__name__
    wrapper.__qualname__ = fn.__qualname__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@_safe
def resolve_number(text: str, now: datetime | None = None) -> dict | None:
    """ "seven" -> 7, "a hundred and five", "1,200", "3.5", "a dozen", "half" -> 0.5; ``{"value": n, "id": None}``."""
    toks = _prepare(text)
    if toks is None:
        return None
    v = _number(toks)
    return None if v is None else {"value": _plain(v), "id": None}


@_safe
def resolve_ordinal(text: str, now: datetime | None = None) -> dict | None:
    """ "third" -> 3, "21st", "twenty first" -> 21 (a bare integer is accepted too)."""
    toks = _prepare(text)
    if toks is None:
        return None
    v = _ordinal(toks)
    return None if v is None else {"value": v, "id": None}


@_safe
def resolve_four_digit_number(text: str, now: datetime | None = None) -> dict | None:
    """ "1958", "nineteen fifty eight", "two thousand twenty", "one two three four" -> a string of four digits."""
    toks = _prepare(text)
    if toks is None:
        return None
    if len(toks) == 1 and toks[0].isdigit() and len(toks[0]) == 4:
        return {"value": toks[0], "id": None}
    if len(toks) == 4 and all(w in _UNITS or w == "oh" or (w.isdigit() and len(w) == 1) for w in toks):
        digits = "".join("0" if w == "oh" else (w if w.isdigit() else str(_UNITS[w])) for w in toks)
        return {"value": digits, "id": None}
    y = _year(toks)
    if y is None:
        v = _int_words(toks)
        y = v if v is not None and 1000 <= v <= 9999 else None
    return None if y is None else {"value": f"{y:04d}", "id": None}


@_safe
def resolve_time(text: str, now: datetime | None = None) -> dict | None:
    """ "seven am", "7:30 pm", "half past six", "noon", "19:45", "in the morning" -> ``"HH:MM:SS"``."""
    toks = _prepare(text)
    if toks is None:
        return None
    ref = _now(now) if toks in (["now"], ["right", "now"]) else None
    if ref is not None:
        return {"value": ref.strftime("%H:%M:%S"), "id": None}
    t = _time(toks)
    if t is None:
        ref = _now(now)
        combo = _date_and_time(toks, ref.date(), ref)
        t = combo[1] if combo else None
    return None if t is None else {"value": _fmt_time(t), "id": None}


@_safe
def resolve_date(text: str, now: datetime | None = None) -> dict | None:
    """ "tomorrow", "next friday", "june third", "2026-12-01", "in three days" -> ``"YYYY-MM-DD"``.

    Periods add ``"grain"`` ("week", "month" or "year") and resolve to their first day.
    """
    toks = _prepare(text)
    if toks is None:
        return None
    ref = _now(now)
    got = _date(toks, ref.date(), ref)
    if got is None:
        combo = _date_and_time(toks, ref.date(), ref)
        if combo is None:
            return None
        got = (combo[0], "day")
    d, grain = got
    out = {"value": d.isoformat(), "id": None}
    if grain != "day":
        out["grain"] = grain
    return out


@_safe
def resolve_datetime(text: str, now: datetime | None = None) -> dict | None:
    """Date, time or both, as said; ``"kind"`` says which: "datetime" ("tomorrow at seven pm", "friday morning",
    "in five minutes", "now" -> ``"YYYY-MM-DDTHH:MM:SS"``), "date" (as :func:`resolve_date`), "time" ("HH:MM:SS"),
    or, last, "duration" (as :func:`resolve_duration`: "thirty minutes" in a timer's ``time`` slot)."""
    toks = _prepare(text)
    if toks is None:
        return None
    ref = _now(now)
    today = ref.date()
    if toks in (["now"], ["right", "now"], ["immediately"], ["asap"]):
        return {"value": ref.isoformat(), "id": None, "kind": "datetime"}
    combo = _date_and_time(toks, today, ref)
    today_part = any(w in ("tonight", "tonite") for w in toks) or (
        "this" in toks and any(w in _DAY_PARTS for w in toks)
    )
    if combo is None and today_part:  # "tonight", "at 8 tonight", "this morning": today
        t = _time(toks)
        combo = (today, t) if t is not None else None
    if combo is not None:
        return {"value": _fmt_datetime(*combo), "id": None, "kind": "datetime"}
    rel = _relative_amount(toks)
    if rel is not None and any(u in rel[0] for u in ("H", "MIN", "S")):
        moved = _shift(ref, *rel)
        return {"value": moved.isoformat(timespec="seconds"), "id": None, "kind": "datetime"}
    d = _date(toks, today, ref)
    if d is not None:
        out = {"value": d[0].isoformat(), "id": None, "kind": "date"}
        if d[1] != "day":
            out["grain"] = d[1]
        return out
    t = _time(toks)
    if t is not None:
        return {"value": _fmt_time(t), "id": None, "kind": "time"}
    dur = resolve_duration(text)
    if dur is not None:
        dur["kind"] = "duration"
    return dur


@_safe
def resolve_duration(text: str, now: datetime | None = None) -> dict | None:
    """ "five minutes" -> PT5M, "an hour and a half" -> PT1H30M, "a week" -> P1W; ``"seconds"`` is the total."""
    toks = _prepare(text)
    if toks is None:
        return None
    amounts = _duration(toks)
    if amounts is None:
        return None
    parts = _normalize_duration(amounts)
    total = sum(parts[u] * _UNIT_SECONDS[u] for u in _UNIT_ORDER)
    return {"value": _iso_duration(parts), "id": None, "seconds": _plain(total)}


_RESOLVERS = {
    "number": resolve_number,
    "ordinal": resolve_ordinal,
    "four_digit_number": resolve_four_digit_number,
    "time": resolve_time,
    "date": resolve_date,
    "datetime": resolve_datetime,
    "duration": resolve_duration,
}
BUILTIN_TYPES = {name: name for name in _RESOLVERS}
BUILTIN_TYPES.update(
    {
        "amazon.number": "number",
        "amazon.ordinal": "ordinal",
        "amazon.four_digit_number": "four_digit_number",
        "amazon.date": "date",
        "amazon.time": "time",
        "amazon.duration": "duration",
        "snips/number": "number",
        "snips/ordinal": "ordinal",
        "snips/datetime": "datetime",
        "snips/duration": "duration",
    }
)
"""Accepted type names (matched case-insensitively) -> the resolver they use."""


def resolve_builtin(type_name: str, text: str, now: datetime | None = None) -> dict | None:
    """Resolve ``text`` as the built-in type ``type_name`` (Alexa, Snips or generic name; see BUILTIN_TYPES).

    None for an unknown type, or text that does not resolve; never raises.
    """
    if not isinstance(type_name, str):
        return None
    kind = BUILTIN_TYPES.get(type_name.strip().lower())
    if kind is None:
        return None
    return _RESOLVERS[kind](text, now)


_SLOT_TYPES = {
    "date": "date",
    "day_name": "date",
    "time": "datetime",
    "timerange": "datetime",
    "time_range": "datetime",
    "datetime": "datetime",
    "date_time": "datetime",
    "timeofday": "time",
    "time_of_day": "time",
    "number": "number",
    "count": "number",
    "quantity": "number",
    "party_size_number": "number",
    "rating_value": "number",
    "best_rating": "number",
    "ordinal": "ordinal",
    "duration": "duration",
    "year": "four_digit_number",
}


def builtin_type_for_slot(slot_name: str) -> str | None:
    """A built-in resolver type (a key of BUILTIN_TYPES) for a data set's slot name, or None.

    HWU64 ``time`` is mostly clock times but also "tomorrow at 7", so it maps to "datetime" (results say their
    ``kind``); ``timeofday`` -> "time"; SNIPS ``timeRange`` -> "datetime", ``party_size_number``/``rating_value``/
    ``best_rating`` -> "number", ``year`` -> "four_digit_number"; ATIS dotted names use their last part
    (``depart_time.time`` -> "datetime", ``arrive_date.day_name`` -> "date"). Names ending in ``_date``,
    ``_time`` or ``_duration`` map like those words.
    """
    if not isinstance(slot_name, str) or not slot_name:
        return None
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", slot_name.strip()).lower().replace("-", "_")
    name = name.rsplit(".", 1)[-1]
    if name in _SLOT_TYPES:
        return _SLOT_TYPES[name]
    flat = name.replace("_", "")
    for key, kind in _SLOT_TYPES.items():
        if key.replace("_", "") == flat:
            return kind
    for suffix, kind in (("_date", "date"), ("_time", "datetime"), ("_duration", "duration")):
        if name.endswith(suffix):
            return kind
    return None
