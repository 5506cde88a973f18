"""Surface forms of built-in slot kinds (dates, times, numbers, ...) for a compiled skill's slot-value swaps.

A skill compiled from ten examples may see one value of its date slot ("meal", "noon") and then tags every date and
clock time of a parse as the nearest slot it knows (a party size, a state). When a slot is a built-in kind (declared
so by the definition, e.g. ``AMAZON.DATE``, or named so: ``timeRange``, ``party_size_number``, the names the runtime
resolves with :func:`edge_nlu.runtime.resolve.builtin_type_for_slot`), the compiler swaps in values of that kind as
well as the examples' own, so the skill learns "a date goes here" from many dates. The lists are generated
deterministically from a fixed seed: the same definition gives the same skill.
"""

from __future__ import annotations

import logging
import random
from functools import cache

from edge_nlu.definitions import builtins
from edge_nlu.definitions.model import SkillDefinition, Utterance
from edge_nlu.runtime.resolve import BUILTIN_TYPES, builtin_type_for_slot

log = logging.getLogger(__name__)

_MONTHS = builtins._MONTHS
_ABBR = ["jan.", "feb.", "mar.", "apr.", "aug.", "sept.", "oct.", "nov.", "dec."]
_DAYS = builtins._DAYS
_SPANS = ["week", "month", "year", "weekend", "summer", "winter"]
_PARTS = ["morning", "afternoon", "evening", "night", "noon", "midnight", "midday", "lunch", "dinner", "breakfast"]


def _dates(rng: random.Random, n: int = 160) -> list[str]:
    def one() -> str:
        m, d, y = rng.choice(_MONTHS), rng.randint(1, 28), rng.randint(2018, 2040)
        return rng.choice(
            [
                f"{m} {d}",
                f"{m} {builtins.ordinal_digits(d)}",
                f"{m} {builtins.ordinal_words(d)}",
                f"the {builtins.ordinal_words(d)} of {m}",
                f"{m} {d}, {y}",
                f"{rng.choice(_ABBR)} {d}, {y}",
                f"{m} {builtins.ordinal_words(d)}, {y}",
                f"{builtins.ordinal_digits(d)} of {m} {y}",
                f"{rng.randint(1, 12)}/{d}/{y}",
                f"{rng.choice(['next', 'this', 'last', 'on'])} {rng.choice(_DAYS)}",
                f"{rng.choice(_DAYS)}",
                f"in {builtins.number_words(rng.randint(2, 12))} {rng.choice(['days', 'weeks', 'months'])}",
                f"{rng.choice(['this', 'next'])} {rng.choice(_SPANS)}",
                f"{y}",
                f"{m}",
            ]
        )

    return builtins._dates() + [one() for _ in range(n)]


def _times(rng: random.Random, n: int = 120) -> list[str]:
    def one() -> str:
        h12, h24, mm, ss = rng.randint(1, 12), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
        ap = rng.choice(["am", "pm", "a.m.", "p.m."])
        return rng.choice(
            [
                f"{h12} {ap}",
                f"{h12}:{mm:02d} {ap}",
                f"{h24:02d}:{mm:02d}",
                f"{h24}:{mm:02d}:{ss:02d}",
                f"{h12:02d}:{mm:02d}:{ss:02d} {ap}",
                f"{builtins.number_words(h12)} {ap}",
                f"{builtins.number_words(h12)} o'clock",
                f"{builtins.number_words(h24) if h24 else 'zero'} hundred hours",
                f"{rng.choice(['at', 'around', 'by'])} {h12} {ap}",
                f"{rng.choice(['this', 'tomorrow', 'in the'])} {rng.choice(_PARTS[:4])}",
                f"{rng.choice(_PARTS)}",
            ]
        )

    return builtins._times() + [one() for _ in range(n)]


@cache
def values_of(kind: str) -> tuple[str, ...]:
    """Surface forms of a resolver kind (a value of ``BUILTIN_TYPES``); empty for a kind without a list."""
    rng = random.Random(f"edge-nlu builtin values {kind}")
    if kind == "date":
        out = _dates(rng)
    elif kind == "time":
        out = _times(rng)
    elif kind == "datetime":
        dates, times = _dates(rng, 100), _times(rng, 80)
        out = dates + times + [f"{rng.choice(dates)} at {rng.choice(times)}" for _ in range(40)]
    elif kind == "number":
        nums = [rng.randint(1, 30) for _ in range(60)] + [rng.randint(31, 500) for _ in range(20)]
        out = builtins._numbers() + [str(k) if rng.random() < 0.5 else builtins.number_words(k) for k in nums]
    elif kind == "four_digit_number":
        out = builtins._four_digits() + [str(rng.randint(1900, 2040)) for _ in range(60)]
    elif kind == "duration":
        units = ["seconds", "minutes", "hours", "days", "weeks", "months"]
        out = builtins._durations() + [
            f"{builtins.number_words(rng.randint(2, 30))} {rng.choice(units)}" for _ in range(40)
        ]
    elif kind == "ordinal":
        out = builtins._ordinals() + [builtins.ordinal_words(rng.randint(1, 40)) for _ in range(20)]
    else:
        return ()
    return tuple(dict.fromkeys(out))  # (first occurrences, in order)


def slot_kinds(rows: list[Utterance], definition: SkillDefinition | None) -> dict[str, str]:
    """Slot name -> built-in kind, for the slots of ``rows`` whose declared type is a built-in one the runtime
    resolves, or whose name the runtime resolves as one (``builtin_type_for_slot``)."""
    declared: dict[str, str] = {}
    if definition is not None:
        for it in definition.intents.values():
            for sl in it.slots:
                st = definition.slot_types.get(sl.type)
                kind = BUILTIN_TYPES.get(sl.type.lower()) if st is None or st.builtin else None
                if kind:
                    declared[sl.name] = kind
    out = {}
    for name in sorted({s.slot for u in rows for s in u.slots}):
        kind = declared.get(name) or builtin_type_for_slot(name)
        if kind and values_of(kind):
            out[name] = kind
    return out


def builtin_pools(rows: list[Utterance], definition: SkillDefinition | None) -> dict[str, list[str]]:
    """Swap values for the built-in-kind slots of ``rows`` (see :func:`slot_kinds`)."""
    kinds = slot_kinds(rows, definition)
    if kinds:
        log.info("built-in values for slots: %s", ", ".join(f"{k} ({v})" for k, v in kinds.items()))
    return {name: list(values_of(kind)) for name, kind in kinds.items()}
