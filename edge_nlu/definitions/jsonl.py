"""The normalised JSONL of ../shared/data: one utterance a line (text, intent, skill, slots with char offsets)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from edge_nlu.definitions._yaml import _DuplicateKey, _no_duplicates, _value_error, read_utf8
from edge_nlu.definitions.model import Intent, SkillDefinition, Slot, SlotSpan, SlotType, SlotValue, Utterance
from edge_nlu.errors import DefinitionError
from edge_nlu.limits import MAX_CHARS


def _parse_row(obj: object, file: str, line: int) -> Utterance:
    if not isinstance(obj, dict):
        raise DefinitionError("each line must be a JSON object", file=file, line=line)
    text = obj.get("text")
    if not isinstance(text, str):
        raise DefinitionError("must be a string", file=file, line=line, field="text")
    if not text.strip():
        raise DefinitionError("is empty", file=file, line=line, field="text")
    if "intent" not in obj:  # a forgotten key must not read as out-of-scope
        raise DefinitionError("is missing (null for an out-of-scope row)", file=file, line=line, field="intent")
    intent = obj.get("intent")
    if intent is not None and (not isinstance(intent, str) or not intent):
        raise DefinitionError("must be a non-empty string or null", file=file, line=line, field="intent")
    skill = obj.get("skill")
    if skill is not None and (not isinstance(skill, str) or not skill):
        raise DefinitionError("must be a non-empty string or null", file=file, line=line, field="skill")
    raw_slots = obj.get("slots", [])
    if not isinstance(raw_slots, list):
        raise DefinitionError("must be a list", file=file, line=line, field="slots")
    slots: list[SlotSpan] = []
    for i, s in enumerate(raw_slots):
        f = f"slots[{i}]"
        if not isinstance(s, dict):
            raise DefinitionError("must be an object", file=file, line=line, field=f)
        name, start, end = s.get("slot"), s.get("start"), s.get("end")
        if not isinstance(name, str) or not name:
            raise DefinitionError("must be a non-empty string", file=file, line=line, field=f + ".slot")
        for key, v in (("start", start), ("end", end)):
            if not isinstance(v, int) or isinstance(v, bool):
                raise DefinitionError("must be an integer", file=file, line=line, field=f"{f}.{key}")
        if not 0 <= start < end <= len(text):
            raise DefinitionError(
                f"span {start}..{end} is out of range for a text of {len(text)} characters",
                file=file,
                line=line,
                field=f,
            )
        value = text[start:end]
        if "value" in s and s["value"] != value:
            raise DefinitionError(
                f"value {s['value']!r} does not match text[{start}:{end}] = {value!r}", file=file, line=line, field=f
            )
        slots.append(SlotSpan(name, start, end, value))
    slots.sort(key=lambda s: s.start)
    for a, b in zip(slots, slots[1:]):
        if b.start < a.end:
            raise DefinitionError(f"slots {a.slot!r} and {b.slot!r} overlap", file=file, line=line, field="slots")
    return Utterance(text=text, intent=intent, slots=slots, skill=skill)


def read_jsonl(path: str | Path, max_chars: int | None = None) -> list[Utterance]:
    """Read a normalised JSONL file; user mistakes raise DefinitionError with file, line and field.

    ``max_chars``: refuse a longer text here, with its line (the parser would refuse it later without one)."""
    file, content = read_utf8(path)  # a BOM is kept: JSON does not allow one
    rows = []
    # split on "\n" only: str.splitlines() would also split inside a text holding U+2028, U+0085 or \x1c..\x1e,
    # which JSON allows unescaped (and write_jsonl writes them so)
    for n, line in enumerate(content.split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as e:
            raise DefinitionError(f"bad JSON: {e.msg} (column {e.colno})", file=file, line=n) from None
        except RecursionError:
            raise DefinitionError("bad JSON: nested too deeply", file=file, line=n) from None
        except _DuplicateKey as e:
            raise DefinitionError(f"duplicate key {e.key!r}", file=file, line=n, field=e.key) from None
        except ValueError as e:  # e.g. an integer over Python's 4300-digit conversion limit
            raise DefinitionError(f"bad JSON: {_value_error(e)}", file=file, line=n) from None
        row = _parse_row(obj, file, n)
        if max_chars is not None and len(row.text) > max_chars:
            raise DefinitionError(
                f"is {len(row.text)} characters; the parser's limit is {max_chars}", file=file, line=n, field="text"
            )
        rows.append(row)
    if not rows:
        raise DefinitionError("holds no utterances", file=file)
    return rows


def write_jsonl(rows: Iterable[Utterance], path: str | Path) -> None:
    """Write utterances in the normalised JSONL format."""
    with open(path, "w", encoding="utf-8") as f:
        for u in rows:
            f.write(json.dumps(u.to_dict(), ensure_ascii=False) + "\n")


def definition_from_utterances(name: str, rows: Iterable[Utterance], source: str | None = None) -> SkillDefinition:
    """A skill definition from annotated utterances: each slot name is its own type, catalog = values seen.

    Out-of-scope rows (intent None or "oos") are not part of any skill and are skipped.
    """
    d = SkillDefinition(name=name, source=source)
    for u in rows:
        if u.intent is None or u.intent == "oos":
            continue
        intent = d.intents.get(u.intent)
        if intent is None:
            intent = d.intents[u.intent] = Intent(u.intent)
        intent.utterances.append(u)
        for s in u.slots:
            if all(x.name != s.slot for x in intent.slots):
                intent.slots.append(Slot(s.slot, s.slot))
            st = d.slot_types.setdefault(s.slot, SlotType(s.slot))
            if all(v.value.lower() != s.value.lower() for v in st.values):
                st.values.append(SlotValue(s.value))
    d.stats["utterances"] = sum(len(i.utterances) for i in d.intents.values())
    return d


def definitions_from_jsonl(path: str | Path) -> dict[str, SkillDefinition]:
    """One skill definition per ``skill`` value of a normalised JSONL file (rows with a null skill are skipped)."""
    rows = read_jsonl(path, max_chars=MAX_CHARS)
    by_skill: dict[str, list[Utterance]] = {}
    for u in rows:
        if u.skill:
            by_skill.setdefault(u.skill, []).append(u)
    if not by_skill:
        # a file without skill values is one skill named after the file
        return {Path(path).stem: definition_from_utterances(Path(path).stem, rows, source=str(path))}
    return {k: definition_from_utterances(k, v, source=str(path)) for k, v in by_skill.items()}
