"""Snips NLU dataset JSON: ``language``, ``intents`` (utterances as text chunks) and ``entities`` (catalogs).

Utterance text is the concatenation of its chunks, so slot offsets are exact; a slot chunk's surrounding whitespace is
left out of its span. Built-in ``snips/*`` entities become built-in slot types; values annotated in utterances are
added to their entity's catalog (as Snips NLU does for its gazetteers).
"""

from __future__ import annotations

import logging
from pathlib import Path

from edge_nlu.definitions._yaml import JsonSource, load_json
from edge_nlu.definitions.builtins import SNIPS_BUILTIN_ENTITIES
from edge_nlu.definitions.model import Intent, SkillDefinition, Slot, SlotSpan, SlotType, SlotValue, Utterance

log = logging.getLogger(__name__)


def _norm(s: str) -> str:
    return " ".join(s.split())


def _obj(src: JsonSource, v: object, path: tuple) -> dict:
    if not isinstance(v, dict):
        raise src.error(f"must be an object, not {type(v).__name__}", path)
    return v


def _list(src: JsonSource, v: object, path: tuple) -> list:
    if not isinstance(v, list):
        raise src.error(f"must be a list, not {type(v).__name__}", path)
    return v


def _str(src: JsonSource, v: object, path: tuple, *, empty_ok: bool = False) -> str:
    if not isinstance(v, str):
        raise src.error(f"must be a string, not {type(v).__name__}", path)
    if not empty_ok and not v.strip():
        raise src.error("must not be empty", path)
    return v


def _bool(src: JsonSource, obj: dict, key: str, default: bool, path: tuple) -> bool:
    v = obj.get(key, default)
    if not isinstance(v, bool):
        raise src.error(f"must be true or false, not {type(v).__name__}", path + (key,))
    return v


def _read_entities(src: JsonSource, raw: dict) -> dict[str, SlotType]:
    types: dict[str, SlotType] = {}
    for name, ent in raw.items():
        ep = ("entities", name)
        if not name.strip():
            raise src.error("entity names must not be empty", ("entities",))
        ent = _obj(src, ent, ep)
        if name.startswith("snips/"):
            if name not in SNIPS_BUILTIN_ENTITIES:
                log.warning("%s: unknown built-in entity %s; treating it as a built-in slot type", src.file, name)
            types[name] = SlotType(name, builtin=True)
            continue
        use_synonyms = _bool(src, ent, "use_synonyms", True, ep)
        extensible = _bool(src, ent, "automatically_extensible", True, ep)
        st = SlotType(name, extensible=extensible)
        seen: dict[str, SlotValue] = {}
        for i, item in enumerate(_list(src, ent.get("data", []), ep + ("data",))):
            ip = ep + ("data", i)
            item = _obj(src, item, ip)
            if "value" not in item:
                raise src.error("missing required field 'value'", ip)
            value = _norm(_str(src, item["value"], ip + ("value",)))
            synonyms = []
            for k, syn in enumerate(_list(src, item.get("synonyms", []), ip + ("synonyms",))):
                syn = _norm(_str(src, syn, ip + ("synonyms", k), empty_ok=True))
                if syn and syn.lower() != value.lower() and syn.lower() not in (s.lower() for s in synonyms):
                    synonyms.append(syn)
            if value.lower() in seen:
                log.warning("%s: entity %s lists value %r twice; merging", src.file, name, value)
                sv = seen[value.lower()]
                sv.synonyms += [s for s in synonyms if s not in sv.synonyms] if use_synonyms else []
                continue
            sv = SlotValue(value, synonyms if use_synonyms else [])
            seen[value.lower()] = sv
            st.values.append(sv)
        types[name] = st
    return types


def read_snips(path: str | Path) -> SkillDefinition:
    """Read a Snips NLU dataset JSON file (one skill, named after the file)."""
    src = load_json(path)
    root = src.data
    if not isinstance(root, dict):
        raise src.error("the file must hold a JSON object", ())
    if "language" in root:
        lang = _str(src, root["language"], ("language",))
        if isinstance(lang, str) and lang.lower() not in ("en", "en-us", "en-gb"):
            log.warning("%s: language %r: edge-nlu's shared base and built-in types are English", src.file, lang)
    if "intents" not in root:
        raise src.error("missing required field 'intents' (is this a Snips dataset?)", ())
    intents = _obj(src, root["intents"], ("intents",))
    if not intents:
        raise src.error("holds no intents", ("intents",))
    types = _read_entities(src, _obj(src, root.get("entities", {}), ("entities",)))
    name = Path(path).stem
    d = SkillDefinition(name=name, source=src.file)
    used: set[str] = set()
    added_values = 0
    for iname, it in intents.items():
        ip = ("intents", iname)
        if not iname.strip():
            raise src.error("intent names must not be empty", ("intents",))
        it = _obj(src, it, ip)
        utts = _list(src, it.get("utterances", []), ip + ("utterances",))
        if not utts:
            raise src.error(f"intent {iname!r} has no utterances", ip + ("utterances",) if "utterances" in it else ip)
        intent = d.intents[iname] = Intent(iname)
        slot_types: dict[str, str] = {}
        for u, utt in enumerate(utts):
            up = ip + ("utterances", u)
            utt = _obj(src, utt, up)
            if "data" not in utt:
                raise src.error("missing required field 'data'", up)
            chunks = _list(src, utt["data"], up + ("data",))
            text = ""
            spans: list[SlotSpan] = []
            for c, chunk in enumerate(chunks):
                cp = up + ("data", c)
                chunk = _obj(src, chunk, cp)
                if "text" not in chunk:
                    raise src.error("missing required field 'text'", cp)
                ctext = _str(src, chunk["text"], cp + ("text",), empty_ok=True)
                entity, slot = chunk.get("entity"), chunk.get("slot_name")
                if entity is not None or slot is not None:
                    entity = _str(src, entity, cp + ("entity",))
                    slot = _str(src, slot if slot is not None else entity, cp + ("slot_name",))
                    if entity not in types:
                        if not entity.startswith("snips/"):
                            raise src.error(f"unknown entity {entity!r} (not in 'entities')", cp + ("entity",))
                        if entity not in SNIPS_BUILTIN_ENTITIES:
                            log.warning("%s: unknown built-in entity %s", src.file, entity)
                        types[entity] = SlotType(entity, builtin=True)
                    if slot_types.setdefault(slot, entity) != entity:
                        raise src.error(
                            f"slot {slot!r} has entity {entity!r} here but {slot_types[slot]!r} elsewhere in "
                            f"intent {iname!r}",
                            cp + ("entity",),
                        )
                    stripped = ctext.strip()
                    if not stripped:
                        raise src.error(f"the text of slot {slot!r} is empty", cp + ("text",))
                    start = len(text) + (len(ctext) - len(ctext.lstrip()))
                    spans.append(SlotSpan(slot, start, start + len(stripped), stripped))
                    used.add(entity)
                    st = types[entity]
                    value = _norm(stripped)
                    if not st.builtin and all(
                        value.lower() != v.value.lower() and value.lower() not in (s.lower() for s in v.synonyms)
                        for v in st.values
                    ):
                        st.values.append(SlotValue(value))
                        added_values += 1
                text += ctext
            if not text.strip():
                raise src.error("the utterance text is empty", up + ("data",))
            intent.utterances.append(Utterance(text, iname, spans, skill=name))
        intent.slots = [Slot(s, t) for s, t in slot_types.items()]
    d.slot_types = types
    d.stats.update(
        intents=len(d.intents),
        utterances=sum(len(i.utterances) for i in d.intents.values()),
        slot_types=len(types),
        builtin_slot_types=sum(1 for t in types.values() if t.builtin),
        values=sum(len(t.values) for t in types.values()),
        synonyms=sum(len(v.synonyms) for t in types.values() for v in t.values),
        values_from_utterances=added_values,
        unused_entities=len(set(types) - used),
    )
    return d
