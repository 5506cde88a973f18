"""Rasa NLU training data (YAML): ``nlu:`` items of ``intent``, ``synonym``, ``lookup`` and ``regex`` examples.

Entity markup in examples: ``[text](entity)``, ``[text](entity:value)`` (Rasa 2 synonym shorthand) and
``[text]{"entity": "name", "value": "canonical", "role": "r", "group": "g"}``. A role makes the slot ``entity.role``
(its type stays ``entity``). Synonyms (from markup values and ``synonym:`` items) and lookups fill the slot type
catalogs; regexes are accepted and ignored.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from edge_nlu.definitions._yaml import Map, Node, Scalar, Seq, load_yaml
from edge_nlu.definitions.model import Intent, SkillDefinition, Slot, SlotSpan, SlotType, SlotValue, Utterance
from edge_nlu.errors import DefinitionError

log = logging.getLogger(__name__)

_NAME = re.compile(r"[^\s\[\](){}:]+")
_KINDS = ("intent", "synonym", "lookup", "regex")


def _err(file: str, line: int | None, message: str, field: str | None) -> DefinitionError:
    return DefinitionError(message, file=file, line=line, field=field)


def parse_markup(example: str, file: str, line: int, field: str) -> tuple[str, list[tuple[SlotSpan, str | None, str]]]:
    """Plain text and (span, canonical value or None, entity) of every annotation of a Rasa example."""
    text = ""
    spans: list[tuple[SlotSpan, str | None, str]] = []
    i = 0
    while i < len(example):
        c = example[i]
        if c == "]":
            raise _err(file, line, f"unbalanced ']' at column {i + 1} in {example!r}", field)
        if c != "[":
            text += c
            i += 1
            continue
        j = example.find("]", i + 1)
        k = example.find("[", i + 1)
        if j < 0 or 0 <= k < j:
            raise _err(file, line, f"unbalanced '[' at column {i + 1} in {example!r}", field)
        surface = example[i + 1 : j]
        if not surface.strip() or surface != surface.strip():
            raise _err(file, line, f"the annotated text [{surface}] must not be empty or start/end with spaces", field)
        nxt = example[j + 1 : j + 2]
        value = role = None
        if nxt == "(":
            e = example.find(")", j + 2)
            if e < 0:
                raise _err(file, line, f"unbalanced '(' at column {j + 2} in {example!r}", field)
            inner = example[j + 2 : e]
            entity, sep, value = inner.partition(":")
            entity = entity.strip()
            value = value.strip() if sep else None
            if not _NAME.fullmatch(entity) or (sep and not value):
                raise _err(file, line, f"bad entity annotation ({inner}) (expected (entity) or (entity:value))", field)
            end = e + 1
        elif nxt == "{":
            depth = 0
            e = -1
            instr = escaped = False
            for p in range(j + 1, len(example)):  # find the closing brace, skipping braces in JSON strings
                ch = example[p]
                if instr:
                    if escaped:
                        escaped = False
                    elif ch == "\\":
                        escaped = True
                    elif ch == '"':
                        instr = False
                elif ch == '"':
                    instr = True
                elif ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                    if depth == 0:
                        e = p
                        break
            if e < 0:
                raise _err(file, line, f"unbalanced '{{' at column {j + 2} in {example!r}", field)
            try:
                obj = json.loads(example[j + 1 : e + 1])
            except (json.JSONDecodeError, RecursionError):
                raise _err(file, line, f"bad JSON in entity annotation {example[j + 1 : e + 1]!r}", field) from None
            if (
                not isinstance(obj, dict)
                or not isinstance(obj.get("entity"), str)
                or not _NAME.fullmatch(obj["entity"])
            ):
                raise _err(file, line, 'entity annotation JSON needs "entity": "<name>"', field)
            entity = obj["entity"]
            for key in ("value", "role", "group"):
                if key in obj and (not isinstance(obj[key], str) or not obj[key].strip()):
                    raise _err(file, line, f'"{key}" of an entity annotation must be a non-empty string', field)
            value, role = obj.get("value"), obj.get("role")
            unknown = set(obj) - {"entity", "value", "role", "group"}
            if unknown:
                raise _err(file, line, f"unknown keys in entity annotation: {', '.join(sorted(unknown))}", field)
            end = e + 1
        else:
            raise _err(
                file,
                line,
                f"[{surface}] at column {i + 1} must be followed by (entity) or {{json}} in {example!r}",
                field,
            )
        slot = f"{entity}.{role.strip()}" if role else entity
        spans.append((SlotSpan(slot, len(text), len(text) + len(surface), surface), value, entity))
        text += surface
        i = end
    return text, spans


def _scalar_str(file: str, node: Node | None, field: str, line: int) -> str:
    if not isinstance(node, Scalar) or node.value is None or not node.value.strip():
        what = "nothing" if node is None or (isinstance(node, Scalar) and node.value is None) else type(node).__name__
        raise _err(file, getattr(node, "line", line), f"must be a non-empty string, not {what}", field)
    return node.value.strip()


def _examples(file: str, node: Node | None, field: str, line: int) -> list[tuple[str, int]]:
    """(example, line) of an ``examples`` field: a ``|`` block of ``- `` lines, or a list of strings/``text:``."""
    out: list[tuple[str, int]] = []
    if isinstance(node, Scalar) and node.value is not None:
        for k, raw in enumerate(node.value.split("\n")):
            ln = node.line + k if node.style in ("literal", "folded") else node.line
            s = raw.strip()
            if not s or s.startswith("#"):
                continue
            if not (s == "-" or s.startswith("- ")):
                raise _err(file, ln, f"each example must start with '- ', got {s[:30]!r}", field)
            ex = s[1:].strip()
            if not ex:
                raise _err(file, ln, "empty example", field)
            out.append((ex, ln))
    elif isinstance(node, Seq):
        for k, item in enumerate(node.items):
            if isinstance(item, Map):
                if "text" not in item.items:
                    raise _err(file, item.line, "missing required field 'text'", f"{field}[{k}]")
                item = item.items["text"]
            out.append((_scalar_str(file, item, f"{field}[{k}]", node.line), getattr(item, "line", node.line)))
    else:
        raise _err(file, getattr(node, "line", line), "must be a '|' block of '- ' lines or a list", field)
    return out


def read_rasa(path: str | Path) -> SkillDefinition:
    """Read a Rasa NLU YAML training file (one skill, named after the file)."""
    file, root = load_yaml(path)
    if not isinstance(root, Map):
        raise _err(file, getattr(root, "line", 1), "the file must hold a YAML mapping with an 'nlu' list", None)
    if "version" in root.items and not isinstance(root.items["version"], Scalar):
        raise _err(file, root.key_lines["version"], "must be a string", "version")
    nlu = root.items.get("nlu")
    if nlu is None:
        raise _err(file, 1, "missing required field 'nlu' (is this Rasa NLU data?)", None)
    if not isinstance(nlu, Seq):
        raise _err(file, getattr(nlu, "line", root.key_lines["nlu"]), "must be a list", "nlu")
    name = Path(path).stem
    d = SkillDefinition(name=name, source=file)
    catalog: dict[str, dict[str, SlotValue]] = {}  # entity -> lower surface or value -> SlotValue
    order: dict[str, list[SlotValue]] = {}
    synonyms: list[tuple[str, list[str], int]] = []
    lookups: list[tuple[str, list[str]]] = []
    n_regex = n_examples = 0
    for n, item in enumerate(nlu.items):
        f = f"nlu[{n}]"
        if not isinstance(item, Map):
            raise _err(file, getattr(item, "line", nlu.line), "must be a mapping (intent/synonym/lookup/regex)", f)
        kinds = [k for k in _KINDS if k in item.items]
        if len(kinds) != 1:
            raise _err(file, item.line, "must have exactly one of intent, synonym, lookup, regex", f)
        kind = kinds[0]
        label = _scalar_str(file, item.items[kind], f"{f}.{kind}", item.line)
        unknown = set(item.items) - {kind, "examples", "metadata"}
        if unknown:
            raise _err(file, item.key_lines[min(unknown)], f"unknown field {min(unknown)!r}", f"{f}.{min(unknown)}")
        if "examples" not in item.items:
            raise _err(file, item.line, "missing required field 'examples'", f)
        exf = f"{f}.examples"
        examples = _examples(file, item.items["examples"], exf, item.key_lines["examples"])
        if kind == "regex":
            log.debug("%s: ignoring regex %r", file, label)
            n_regex += 1
            continue
        if kind == "synonym":
            synonyms.append((label, [e for e, _ in examples], item.line))
            continue
        if kind == "lookup":
            lookups.append((label, [e for e, _ in examples]))
            continue
        if label in d.intents:
            raise _err(file, item.line, f"duplicate intent {label!r}", f"{f}.intent")
        if not examples:
            raise _err(file, item.line, f"intent {label!r} has no examples", exf)
        intent = d.intents[label] = Intent(label)
        slot_types: dict[str, str] = {}
        for ex, ln in examples:
            text, anns = parse_markup(ex, file, ln, exf)
            if not text.strip():
                raise _err(file, ln, "empty example", exf)
            spans = []
            for span, value, entity in anns:
                spans.append(span)
                slot_types.setdefault(span.slot, entity)
                vals = catalog.setdefault(entity, {})
                lst = order.setdefault(entity, [])
                canon = " ".join((value or span.value).split())
                sv = vals.get(canon.lower())
                if sv is None:
                    sv = vals[canon.lower()] = SlotValue(canon)
                    lst.append(sv)
                if span.value.lower() != canon.lower() and span.value.lower() not in (s.lower() for s in sv.synonyms):
                    sv.synonyms.append(span.value)
            intent.utterances.append(Utterance(text, label, spans, skill=name))
            n_examples += 1
        intent.slots = [Slot(s, t) for s, t in slot_types.items()]
    if not d.intents:
        raise _err(file, nlu.line, "holds no intents", "nlu")

    for entity, values in lookups:
        vals = catalog.setdefault(entity, {})
        lst = order.setdefault(entity, [])
        for v in values:
            v = " ".join(v.split())
            if v.lower() not in vals:
                sv = vals[v.lower()] = SlotValue(v)
                lst.append(sv)
    unattached = 0
    for canon, syns, _line in synonyms:
        group = {canon.lower(), *(s.lower() for s in syns)}
        attached = False
        for lst in order.values():
            hits = [sv for sv in lst if sv.value.lower() in group or any(s.lower() in group for s in sv.synonyms)]
            if not hits:
                continue
            attached = True
            target = next((sv for sv in hits if sv.value.lower() == canon.lower()), None)
            if target is None:
                target = SlotValue(canon)
                lst.insert(lst.index(hits[0]), target)
            for sv in hits:  # merge the group into the canonical value
                if sv is not target:
                    lst.remove(sv)
                for s in [sv.value, *sv.synonyms, *syns]:
                    if s.lower() != canon.lower() and s.lower() not in (x.lower() for x in target.synonyms):
                        target.synonyms.append(s)
            for s in syns:
                if s.lower() != canon.lower() and s.lower() not in (x.lower() for x in target.synonyms):
                    target.synonyms.append(s)
        if not attached:
            unattached += 1
            log.debug("%s: synonym %r matches no annotated entity value", file, canon)
    d.slot_types = {e: SlotType(e, values=lst) for e, lst in order.items()}
    for intent in d.intents.values():
        for s in intent.slots:
            d.slot_types.setdefault(s.type, SlotType(s.type))
    d.stats.update(
        intents=len(d.intents),
        utterances=n_examples,
        slot_types=len(d.slot_types),
        values=sum(len(t.values) for t in d.slot_types.values()),
        synonyms=sum(len(v.synonyms) for t in d.slot_types.values() for v in t.values),
        synonym_groups=len(synonyms),
        unattached_synonyms=unattached,
        lookups=len(lookups),
        regexes_ignored=n_regex,
    )
    return d
