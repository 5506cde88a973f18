"""Entity resolution: catalogs (exact, normalised, fuzzy) and the English built-ins, against a fixed reference time."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_nlu.definitions.model import SlotType, SlotValue
from edge_nlu.errors import DefinitionError
from edge_nlu.runtime.resolve import (
    BUILTIN_TYPES,
    MAX_TEXT_LENGTH,
    CatalogResolver,
    builtin_type_for_slot,
    normalize_text,
    resolve_builtin,
    resolve_date,
    resolve_datetime,
    resolve_duration,
)

NOW = datetime(2026, 11, 24, 10, 0)  # a Tuesday


def value(type_name: str, text: str):
    got = resolve_builtin(type_name, text, NOW)
    return None if got is None else got["value"]


# ---------------------------------------------------------------------------------------------------------------------
# Catalogs
# ---------------------------------------------------------------------------------------------------------------------

PIZZA = SlotType(
    "Topping",
    values=[
        SlotValue("pepperoni", ["pepperonis", "salami"], id="PEP"),
        SlotValue("mushroom", ["shrooms", "champignons"], id="MUSH"),
        SlotValue("large", ["big", "XL"], id="L"),
        SlotValue("extra cheese", ["more cheese"], id="CHEESE"),
        SlotValue("jalapeño", [], id="JAL"),
        SlotValue("ham"),
    ],
)


@pytest.fixture(scope="module")
def pizza() -> CatalogResolver:
    return CatalogResolver.from_slot_type(PIZZA)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("pepperoni", ("pepperoni", "PEP")),
        ("PEPPERONI", ("pepperoni", "PEP")),
        ("  Pepperoni!  ", ("pepperoni", "PEP")),
        ("extra   cheese", ("extra cheese", "CHEESE")),
        ("Extra\tCheese.", ("extra cheese", "CHEESE")),
        ("salami", ("pepperoni", "PEP")),
        ("Shrooms", ("mushroom", "MUSH")),
        ("xl", ("large", "L")),
        ("the large", ("large", "L")),
        ("a big", ("large", "L")),
        ("mushrooms", ("mushroom", "MUSH")),
        ("the mushrooms", ("mushroom", "MUSH")),
        ("hams", ("ham", None)),
        ("ham", ("ham", None)),
        ("JALAPEÑO", ("jalapeño", "JAL")),
        ("ｐｅｐｐｅｒｏｎｉ", ("pepperoni", "PEP")),  # fullwidth -> NFKC
        ("peperoni", ("pepperoni", "PEP")),  # fuzzy
        ("pepperonni", ("pepperoni", "PEP")),
        ("mushrom", ("mushroom", "MUSH")),
        ("extra chese", ("extra cheese", "CHEESE")),
        ("jalapeno", ("jalapeño", "JAL")),
    ],
)
def test_catalog_matches(pizza, text, expected):
    assert pizza.resolve(text) == {"value": expected[0], "id": expected[1]}


@pytest.mark.parametrize(
    "text",
    ["", "   ", "!!!", "pineapple", "pep", "mush", "cheese", "extra", "hm", "large pizza with ham", "x" * 300],
)
def test_catalog_misses(pizza, text):
    assert pizza.resolve(text) is None


def test_short_values_never_fuzzy():
    pets = CatalogResolver(["car", "bus", "van"])
    assert pets.resolve("cat") is None
    assert pets.resolve("Car") == {"value": "car", "id": None}
    assert pets.resolve("cars") == {"value": "car", "id": None}


def test_fuzzy_below_threshold_is_none():
    cat = CatalogResolver(["kitchen", "bedroom"])
    assert cat.resolve("kitchn") == {"value": "kitchen", "id": None}
    assert cat.resolve("chicken") is None  # ratio 0.71
    assert cat.resolve("bathroom") is None


def test_fuzzy_off():
    cat = CatalogResolver(["pepperoni"], fuzzy=False)
    assert cat.resolve("peperoni") is None
    assert cat.resolve("Pepperonis") == {"value": "pepperoni", "id": None}


def test_fuzzy_tie_between_entries_is_none():
    cat = CatalogResolver(["abcdex", "abcdey"])
    assert cat.resolve("abcdez") is None  # equally close to both
    assert cat.resolve("abcdexx") == {"value": "abcdex", "id": None}


def test_fuzzy_picks_best():
    cat = CatalogResolver(["living room", "dining room"])
    assert cat.resolve("livin room") == {"value": "living room", "id": None}
    assert cat.resolve("dinning room") == {"value": "dining room", "id": None}


def test_canonical_beats_synonym_and_shared_synonyms_are_ambiguous():
    cat = CatalogResolver(
        [
            SlotValue("small", ["little"], id="S"),
            SlotValue("little", [], id="LIT"),
            SlotValue("coke", ["soda"], id="C"),
            SlotValue("sprite", ["soda"], id="SP"),
        ]
    )
    assert cat.resolve("little") == {"value": "little", "id": "LIT"}
    assert cat.resolve("soda") is None
    assert cat.resolve("sodas") is None


def test_duplicate_entries_merge():
    cat = CatalogResolver([SlotValue("red", ["crimson"]), SlotValue("red", ["scarlet"])])
    assert len(cat) == 1
    assert cat.resolve("scarlet") == {"value": "red", "id": None}
    assert cat.resolve("crimson") == {"value": "red", "id": None}


def test_catalog_dict_round_trip(pizza):
    data = json.loads(json.dumps(pizza.to_dict()))
    again = CatalogResolver.from_dict(data)
    assert again.to_dict() == pizza.to_dict()
    for text in ["salami", "the large", "peperoni", "hams", "nope"]:
        assert again.resolve(text) == pizza.resolve(text)


def test_from_dict_accepts_strings_and_rejects_garbage():
    cat = CatalogResolver.from_dict({"values": ["red", {"value": "blue", "synonyms": ["navy"], "id": 7}]})
    assert cat.resolve("navy") == {"value": "blue", "id": "7"}
    assert cat.resolve("Red") == {"value": "red", "id": None}
    for bad in [[], {"values": "red"}, {"values": [{"synonyms": []}]}, {"values": [3]}, {"values": [], "threshold": 2}]:
        with pytest.raises(DefinitionError):
            CatalogResolver.from_dict(bad)


def test_normalize_text():
    assert normalize_text("  «Hello,   World!»  ") == "hello, world"
    assert normalize_text("C++") == "c++"
    assert normalize_text("ＡＢＣ") == "abc"


def test_large_catalog_uses_index_and_is_fast():
    words = [f"item{i:05d}{chr(97 + i % 26)}{chr(97 + (i // 26) % 26)}" for i in range(6000)]
    cat = CatalogResolver(words + ["pepperoni pizza"])
    assert cat._trigram_index is not None
    assert cat.resolve("ITEM01234" + words[1234][-2:]) == {"value": words[1234], "id": None}
    start = time.perf_counter()
    assert cat.resolve("peperoni pizza") == {"value": "pepperoni pizza", "id": None}
    assert cat.resolve("something else entirely") is None
    assert time.perf_counter() - start < 1.0


def test_catalog_non_string_input(pizza):
    assert pizza.resolve(None) is None  # type: ignore[arg-type]
    assert pizza.resolve(12) is None  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------------------
# Numbers, ordinals, four-digit numbers
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("seven", 7),
        ("Seven", 7),
        ("zero", 0),
        ("twenty one", 21),
        ("twenty-one", 21),
        ("a hundred and five", 105),
        ("one hundred five", 105),
        ("two thousand twenty", 2020),
        ("two thousand and sixteen", 2016),
        ("nineteen hundred", 1900),
        ("a thousand", 1000),
        ("one million two hundred thousand", 1_200_000),
        ("3", 3),
        ("3.5", 3.5),
        ("1,200", 1200),
        ("12,345,678", 12345678),
        ("a dozen", 12),
        ("two dozen", 24),
        ("half a dozen", 6),
        ("half", 0.5),
        ("a half", 0.5),
        ("a quarter", 0.25),
        ("three quarters", 0.75),
        ("one and a half", 1.5),
        ("two and a quarter", 2.25),
        ("three point five", 3.5),
        ("zero point two five", 0.25),
        ("minus four", -4),
        ("-4", -4),
        ("a couple", 2),
        ("1/2", 0.5),
    ],
)
def test_number(text, expected):
    got = resolve_builtin("AMAZON.NUMBER", text, NOW)
    assert got == {"value": expected, "id": None}
    assert type(got["value"]) is type(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "seven eight",
        "twenty twenty",
        "five hundred hundred",
        "thousand million",
        "and",
        "a",
        "two and",
        "bob",
        "3 4",
    ],
)
def test_number_rejects(text):
    assert value("snips/number", text) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("third", 3),
        ("the third", 3),
        ("first", 1),
        ("21st", 21),
        ("2nd", 2),
        ("twenty first", 21),
        ("twenty-first", 21),
        ("twelfth", 12),
        ("fortieth", 40),
        ("one hundredth", 100),
        ("hundred and first", 101),
        ("5", 5),
    ],
)
def test_ordinal(text, expected):
    assert value("AMAZON.Ordinal", text) == expected
    assert value("snips/ordinal", text) == expected


@pytest.mark.parametrize("text", ["three", "0th", "first second", "the", "twenty"])
def test_ordinal_rejects(text):
    assert value("ordinal", text) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1958", "1958"),
        ("0042", "0042"),
        ("nineteen fifty eight", "1958"),
        ("two thousand twenty", "2020"),
        ("twenty twenty", "2020"),
        ("nineteen oh five", "1905"),
        ("one two three four", "1234"),
        ("oh one two three", "0123"),
    ],
)
def test_four_digit_number(text, expected):
    assert value("AMAZON.FOUR_DIGIT_NUMBER", text) == expected


@pytest.mark.parametrize("text", ["123", "12345", "seven", "one two three"])
def test_four_digit_number_rejects(text):
    assert value("AMAZON.FOUR_DIGIT_NUMBER", text) is None


# ---------------------------------------------------------------------------------------------------------------------
# Times
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("seven", "07:00:00"),  # policy: 7-11 without am/pm -> morning
        ("six", "18:00:00"),  # policy: 1-6 -> afternoon
        ("one", "13:00:00"),
        ("twelve", "12:00:00"),
        ("seven am", "07:00:00"),
        ("seven pm", "19:00:00"),
        ("7am", "07:00:00"),
        ("7 p.m.", "19:00:00"),
        ("two p m", "14:00:00"),
        ("twelve am", "00:00:00"),
        ("twelve pm", "12:00:00"),
        ("7:30 pm", "19:30:00"),
        ("7:30", "07:30:00"),
        ("5:15", "17:15:00"),
        ("05:15", "05:15:00"),  # zero-padded: as written
        ("19:45", "19:45:00"),
        ("08:56:29", "08:56:29"),
        ("04:34:15 pm", "16:34:15"),
        ("half past six", "18:30:00"),
        ("half past six in the morning", "06:30:00"),
        ("quarter to nine", "08:45:00"),
        ("a quarter past ten", "10:15:00"),
        ("ten past six", "18:10:00"),
        ("twenty to seven pm", "18:40:00"),
        ("five after eleven", "11:05:00"),
        ("noon", "12:00:00"),
        ("midday", "12:00:00"),
        ("midnight", "00:00:00"),
        ("12 o'clock noon", "12:00:00"),
        ("in the morning", "09:00:00"),
        ("morning", "09:00:00"),
        ("this afternoon", "15:00:00"),
        ("in the evening", "19:00:00"),
        ("tonight", "21:00:00"),
        ("seven in the evening", "19:00:00"),
        ("eleven at night", "23:00:00"),
        ("twelve at night", "00:00:00"),
        ("two at night", "02:00:00"),
        ("morning at seven am", "07:00:00"),
        ("eight tonight", "20:00:00"),
        ("eight thirty pm", "20:30:00"),
        ("seven thirty", "07:30:00"),
        ("eight fifty five", "08:55:00"),
        ("one oh two", "13:02:00"),
        ("seven hundred and thirty am", "07:30:00"),
        ("nineteen hundred", "19:00:00"),
        ("twenty three", "23:00:00"),
        ("23 o clock", "23:00:00"),
        ("3 o'clock pm", "15:00:00"),
        ("at 9", "09:00:00"),
        ("730", "07:30:00"),
        ("1945", "19:45:00"),
        ("1700 hours", "17:00:00"),
        ("0900", "09:00:00"),
        ("now", "10:00:00"),
        ("tomorrow at seven pm", "19:00:00"),
    ],
)
def test_time(text, expected):
    assert value("AMAZON.TIME", text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "seven eight nine", "25:00", "7:75", "thirteen pm", "noon pm", "seven am in the evening", "o'clock", "banana"],
)
def test_time_rejects(text):
    assert value("time", text) is None


# ---------------------------------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("today", "2026-11-24"),
        ("Today's", "2026-11-24"),
        ("tomorrow", "2026-11-25"),
        ("yesterday", "2026-11-23"),
        ("the day after tomorrow", "2026-11-26"),
        ("day before yesterday", "2026-11-22"),
        ("monday", "2026-11-30"),
        ("tuesday", "2026-11-24"),  # today included
        ("this tuesday", "2026-11-24"),
        ("wednesday", "2026-11-25"),
        ("Friday", "2026-11-27"),
        ("coming sunday", "2026-11-29"),
        ("next friday", "2026-12-04"),  # policy: the weekday of next calendar week
        ("next monday", "2026-11-30"),
        ("next tuesday", "2026-12-01"),
        ("last friday", "2026-11-20"),
        ("last tuesday", "2026-11-17"),
        ("this weekend", "2026-11-28"),
        ("weekend", "2026-11-28"),
        ("next weekend", "2026-12-05"),
        ("june third", "2027-06-03"),  # passed this year -> next year
        ("december third", "2026-12-03"),
        ("november twenty fourth", "2026-11-24"),
        ("3rd of june", "2027-06-03"),
        ("the third of june", "2027-06-03"),
        ("june the third", "2027-06-03"),
        ("third june", "2027-06-03"),
        ("June 3", "2027-06-03"),
        ("june 3 2027", "2027-06-03"),
        ("June 3, 2027", "2027-06-03"),
        ("nov the 9th", "2027-11-09"),
        ("dec 25th", "2026-12-25"),
        ("march twenty four two thousand and seventeen", "2017-03-24"),
        ("first of february twenty seventeen", "2017-02-01"),
        ("tenth of march two thousand seventeen", "2017-03-10"),
        ("september the 13th 2037", "2037-09-13"),
        ("2026-12-01", "2026-12-01"),
        ("12/25", "2026-12-25"),
        ("6/21/2035", "2035-06-21"),
        ("7/4/27", "2027-07-04"),
        ("in three days", "2026-11-27"),
        ("in 2 weeks", "2026-12-08"),
        ("three days from now", "2026-11-27"),
        ("a week from today", "2026-12-01"),
        ("a week from tomorrow", "2026-12-02"),
        ("two weeks ago", "2026-11-10"),
        ("in a month", "2026-12-24"),
        ("in 9 months", "2027-08-24"),
        ("the fifteenth", "2026-12-15"),
        ("the twenty fourth", "2026-11-24"),
        ("christmas", "2026-12-25"),
        ("new year's eve", "2026-12-31"),
        ("valentine's day", "2027-02-14"),
        ("on friday", "2026-11-27"),
        ("tomorrow at seven pm", "2026-11-25"),  # the date part of a date+time
    ],
)
def test_date(text, expected):
    got = resolve_builtin("AMAZON.DATE", text, NOW)
    assert got == {"value": expected, "id": None}


@pytest.mark.parametrize(
    "text, expected, grain",
    [
        ("next week", "2026-11-30", "week"),
        ("this week", "2026-11-23", "week"),
        ("last week", "2026-11-16", "week"),
        ("this month", "2026-11-01", "month"),
        ("next month", "2026-12-01", "month"),
        ("next year", "2027-01-01", "year"),
        ("june", "2027-06-01", "month"),
        ("december", "2026-12-01", "month"),
        ("next march", "2027-03-01", "month"),
        ("june 2027", "2027-06-01", "month"),
        ("2027", "2027-01-01", "year"),
        ("nineteen ninety", "1990-01-01", "year"),
    ],
)
def test_date_periods(text, expected, grain):
    assert resolve_date(text, NOW) == {"value": expected, "id": None, "grain": grain}


@pytest.mark.parametrize(
    "text", ["", "february thirtieth 2027", "13/45", "2026-13-01", "next", "june june", "in three hours", "banana"]
)
def test_date_rejects(text):
    assert value("date", text) is None


def test_weekend_on_sunday_is_today_and_leap_day():
    sunday = datetime(2026, 11, 29, 12, 0)
    assert resolve_date("this weekend", sunday)["value"] == "2026-11-29"
    assert resolve_date("february twenty ninth", NOW)["value"] == "2028-02-29"


def test_default_and_aware_reference_times():
    assert resolve_date("today")["value"] == datetime.now().date().isoformat()
    aware = datetime(2026, 11, 24, 23, 30, tzinfo=timezone.utc)
    assert resolve_date("tomorrow", aware)["value"] == "2026-11-25"


# ---------------------------------------------------------------------------------------------------------------------
# Date + time ("datetime", snips/datetime)
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected, kind",
    [
        ("tomorrow at seven pm", "2026-11-25T19:00:00", "datetime"),
        ("tomorrow at 7:30", "2026-11-25T07:30:00", "datetime"),
        ("seven pm tomorrow", "2026-11-25T19:00:00", "datetime"),
        ("7pm on friday", "2026-11-27T19:00:00", "datetime"),
        ("friday morning", "2026-11-27T09:00:00", "datetime"),
        ("tomorrow evening", "2026-11-25T19:00:00", "datetime"),
        ("next friday at noon", "2026-12-04T12:00:00", "datetime"),
        ("june third at half past six", "2027-06-03T18:30:00", "datetime"),
        ("the morning of june third", "2027-06-03T09:00:00", "datetime"),
        ("tonight", "2026-11-24T21:00:00", "datetime"),
        ("at 8 tonight", "2026-11-24T20:00:00", "datetime"),
        ("this morning", "2026-11-24T09:00:00", "datetime"),
        ("now", "2026-11-24T10:00:00", "datetime"),
        ("in 5 minutes", "2026-11-24T10:05:00", "datetime"),
        ("in one hour", "2026-11-24T11:00:00", "datetime"),
        ("1 second from now", "2026-11-24T10:00:01", "datetime"),
        ("twenty one minutes from now", "2026-11-24T10:21:00", "datetime"),
        ("in an hour and a half", "2026-11-24T11:30:00", "datetime"),
        ("tomorrow", "2026-11-25", "date"),
        ("in three days", "2026-11-27", "date"),
        ("eight am", "08:00:00", "time"),
        ("15:04", "15:04:00", "time"),
        ("thirty minutes", "PT30M", "duration"),  # HWU64 "time" slots of timers
        ("june 13 2038", "2038-06-13", "date"),  # a year after "month day", not 20:38
        ("march 3rd 2027", "2027-03-03", "date"),
        ("june 13 1130", "2027-06-13T11:30:00", "datetime"),  # no year that early: a time
        ("june 13 1800", "2027-06-13T18:00:00", "datetime"),  # years: 150 back to 100 ahead of today (2026)
        ("june 13 1900", "1900-06-13", "date"),
        ("june 13 2000", "2000-06-13", "date"),
        ("june 13 2100", "2100-06-13", "date"),
        ("june 13 2200", "2027-06-13T22:00:00", "datetime"),
    ],
)
def test_datetime(text, expected, kind):
    got = resolve_builtin("snips/datetime", text, NOW)
    assert got is not None and got["value"] == expected and got["kind"] == kind
    assert got["id"] is None


def test_datetime_grain_is_reported():
    assert resolve_datetime("next month", NOW) == {"value": "2026-12-01", "id": None, "kind": "date", "grain": "month"}


# ---------------------------------------------------------------------------------------------------------------------
# Durations
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, iso, seconds",
    [
        ("five minutes", "PT5M", 300),
        ("a minute", "PT1M", 60),
        ("an hour and a half", "PT1H30M", 5400),
        ("one and a half hours", "PT1H30M", 5400),
        ("1.5 hours", "PT1H30M", 5400),
        ("half an hour", "PT30M", 1800),
        ("a quarter of an hour", "PT15M", 900),
        ("2 hours 30 minutes", "PT2H30M", 9000),
        ("two hours and thirty minutes", "PT2H30M", 9000),
        ("ten seconds", "PT10S", 10),
        ("90 minutes", "PT90M", 5400),
        ("a week", "P1W", 604800),
        ("two weeks", "P2W", 1209600),
        ("a fortnight", "P2W", 1209600),
        ("one week and two days", "P9D", 777600),
        ("three days", "P3D", 259200),
        ("a day and a half", "P1DT12H", 129600),
        ("a month", "P1M", 2592000),
        ("a year and a half", "P1Y6M", 47088000),
        ("for 20 mins", "PT20M", 1200),
        ("a couple of minutes", "PT2M", 120),
        ("0.5 seconds", "PT0.5S", 0.5),
        ("5 hrs", "PT5H", 18000),
    ],
)
def test_duration(text, iso, seconds):
    assert resolve_builtin("AMAZON.DURATION", text, NOW) == {"value": iso, "id": None, "seconds": seconds}
    assert resolve_builtin("snips/duration", text, NOW)["value"] == iso


@pytest.mark.parametrize(
    "text", ["", "minutes", "five", "five apples", "hours five", "an hour and a bit", "-5 minutes"]
)
def test_duration_rejects(text):
    assert resolve_duration(text, NOW) is None


# ---------------------------------------------------------------------------------------------------------------------
# Dispatch and slot-name mapping
# ---------------------------------------------------------------------------------------------------------------------


def test_type_names_dispatch_case_insensitively():
    assert value("amazon.number", "seven") == 7
    assert value("AMAZON.Number", "seven") == 7
    assert value("number", "seven") == 7
    assert value("AMAZON.Unknown", "seven") is None
    assert resolve_builtin(None, "seven", NOW) is None  # type: ignore[arg-type]
    for name, kind in BUILTIN_TYPES.items():
        assert resolve_builtin(name.upper(), "", NOW) is None
        assert kind in _TYPES


@pytest.mark.parametrize(
    "slot, expected",
    [
        ("time", "datetime"),
        ("date", "date"),
        ("timeofday", "time"),
        ("timeRange", "datetime"),
        ("party_size_number", "number"),
        ("rating_value", "number"),
        ("best_rating", "number"),
        ("number", "number"),
        ("duration", "duration"),
        ("year", "four_digit_number"),
        ("depart_time.time", "datetime"),
        ("depart_date.day_name", "date"),
        ("arrival_date", "date"),
        ("alarm_duration", "duration"),
        ("place_name", None),
        ("person", None),
        ("general_frequency", None),
        ("", None),
    ],
)
def test_builtin_type_for_slot(slot, expected):
    assert builtin_type_for_slot(slot) == expected


def test_long_input_returns_none_at_once():
    assert resolve_builtin("number", "seven" + " " * MAX_TEXT_LENGTH, NOW) is None
    assert resolve_builtin("datetime", "tomorrow " * 100, NOW) is None


# ---------------------------------------------------------------------------------------------------------------------
# Robustness: any text, never raises, returns quickly
# ---------------------------------------------------------------------------------------------------------------------

_WORDS = (
    "seven twenty one hundred and a half quarter past to at am pm noon midnight tomorrow next friday june third "
    "of in days weeks hours minutes ago from now the 3 12 30 2026 12:30 12/25 2026-12-01 21st dozen point oh"
).split()
_text = st.one_of(
    st.text(max_size=250),
    st.lists(st.sampled_from(_WORDS), max_size=45).map(" ".join),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x1FAFF), max_size=60),
)
_CATALOG = CatalogResolver.from_slot_type(PIZZA)
_TYPES = ["number", "ordinal", "four_digit_number", "time", "date", "datetime", "duration"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_text)
def test_never_raises_and_is_fast(text):
    start = time.perf_counter()
    for kind in _TYPES:
        got = resolve_builtin(kind, text, NOW)
        assert got is None or ("value" in got and "id" in got)
    got = _CATALOG.resolve(text)
    assert got is None or got["value"] in {v.value for v in PIZZA.values}
    assert time.perf_counter() - start < 2.0  # a guard against pathological (super-linear) input, not a benchmark
    if len(text) > MAX_TEXT_LENGTH:
        assert all(resolve_builtin(kind, text, NOW) is None for kind in _TYPES)
