"""Built-in-kind values for a compiled skill's slot-value swaps (export.builtin_values)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from edge_nlu.definitions.model import Intent, SkillDefinition, Slot, SlotSpan, SlotType, Utterance
from edge_nlu.runtime.resolve import resolve_builtin

KINDS = ("date", "time", "datetime", "number", "four_digit_number", "duration", "ordinal")


def _row(text: str, slots: list[tuple[str, str]], intent: str = "Book") -> Utterance:
    spans = []
    for name, value in slots:
        i = text.index(value)
        spans.append(SlotSpan(name, i, i + len(value), value))
    return Utterance(text, intent, spans, "booking")


def test_values_of_each_kind_are_many_distinct_and_reproducible():
    from export.builtin_values import values_of

    for kind in KINDS:
        vals = values_of(kind)
        assert len(vals) >= 25 and len(set(vals)) == len(vals), kind
        assert all(v and v == v.strip() for v in vals), kind
    assert values_of("no_such_kind") == ()
    # seeded by the kind's name, not Python's salted hash: another process draws the same lists
    code = "from export.builtin_values import values_of; print(repr(values_of('datetime')[-5:]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == repr(values_of("datetime")[-5:])


@pytest.mark.parametrize("kind", ["number", "date", "time"])
def test_most_generated_values_resolve_as_their_kind(kind):
    """The lists are the surface forms the runtime's own resolvers read: most of them resolve."""
    from export.builtin_values import values_of

    vals = values_of(kind)
    resolved = sum(resolve_builtin(kind, v, None) is not None for v in vals)
    assert resolved >= 0.6 * len(vals), (kind, resolved, len(vals))


def test_slot_kinds_from_names_and_declared_types():
    from export.builtin_values import slot_kinds

    rows = [
        _row("a table for six at noon", [("party_size_number", "six"), ("timeRange", "noon")]),
        _row("book it for friday in paris", [("when", "friday"), ("city", "paris")]),
    ]
    # undeclared: the names the runtime resolves as built-in kinds; "when" and "city" are not such names
    assert slot_kinds(rows, None) == {"party_size_number": "number", "timeRange": "datetime"}
    definition = SkillDefinition(
        name="booking",
        intents={"Book": Intent("Book", [Slot("when", "AMAZON.DATE"), Slot("city", "City")], rows)},
        slot_types={"AMAZON.DATE": SlotType("AMAZON.DATE", builtin=True), "City": SlotType("City")},
    )
    # a declared built-in type counts; a catalog type does not
    assert slot_kinds(rows, definition) == {
        "party_size_number": "number",
        "timeRange": "datetime",
        "when": "date",
    }


def test_augment_draws_builtin_values_for_those_slots_only():
    pytest.importorskip("torch")
    from export.builtin_values import builtin_pools, values_of
    from export.skill_compiler import augment

    rows = [
        _row(
            "book a table for six at noon in paris",
            [("party_size_number", "six"), ("timeRange", "noon"), ("city", "paris")],
        ),
        _row(
            "a table at dinner for two in rome",
            [("timeRange", "dinner"), ("party_size_number", "two"), ("city", "rome")],
        ),
    ]
    out = augment(rows, None, 300, seed=1, extra=builtin_pools(rows, None))
    seen: dict[str, set[str]] = {}
    for u in out:
        for s in u.slots:
            assert u.text[s.start : s.end] == s.value
            seen.setdefault(s.slot, set()).add(s.value)
    assert seen["city"] <= {"paris", "rome"}  # no built-in kind: the examples' own values only
    assert len(seen["timeRange"] - {"noon", "dinner"}) >= 20  # dates and times drawn from the kind's list
    assert seen["timeRange"] - {"noon", "dinner"} <= set(values_of("datetime"))
    assert {"noon", "dinner"} <= seen["timeRange"]  # the examples' own values stay in the mix (half the draws)
    assert len(seen["party_size_number"] - {"six", "two"}) >= 10
