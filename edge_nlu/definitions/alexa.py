"""Alexa Skills Kit interaction models (``interactionModel.languageModel``): intents, sample templates, slot types.

Sample templates (``"i want a {size} pizza"``) are expanded into annotated utterances by filling each placeholder with
values and synonyms of its slot type (built-in ``AMAZON.*`` types use the English lists of :mod:`.builtins`).
Expansion is deterministic (a seeded ``random.Random``) and bounded (``max_per_template`` utterances a template);
fills are picked least-used-first per slot type, so every value and synonym shows up at least once across the
templates whenever the caps allow.
"""

from __future__ import annotations

import logging
import math
import random
import re
from pathlib import Path

from edge_nlu.definitions._yaml import JsonSource, load_json
from edge_nlu.definitions.builtins import BUILTIN_INTENT_SAMPLES, builtin_values, is_builtin_type
from edge_nlu.definitions.model import Intent, SkillDefinition, Slot, SlotSpan, SlotType, SlotValue, Utterance

log = logging.getLogger(__name__)

_SLOT_NAME = re.compile(r"[^\W\d]\w*")

JsonPath = tuple  # a JSON path: keys and indices


def slugify(text: str) -> str:
    """``"Pizza Palace!"`` -> ``"pizza_palace"`` (letters, digits and underscores)."""
    return re.sub(r"[\W_]+", "_", text.lower()).strip("_")


def _norm(s: str) -> str:
    return " ".join(s.split())


def parse_template(sample: str, src: JsonSource, path: JsonPath) -> list[str | tuple[str]]:
    """Literal strings and ``(slot,)`` placeholders of a sample (whitespace already collapsed)."""
    parts: list[str | tuple[str]] = []
    i = 0
    buf = ""
    while i < len(sample):
        c = sample[i]
        if c == "}":
            raise src.error(f"unbalanced '}}' at column {i + 1} in {sample!r}", path)
        if c != "{":
            buf += c
            i += 1
            continue
        j = sample.find("}", i + 1)
        k = sample.find("{", i + 1)
        if j < 0 or (0 <= k < j):
            raise src.error(f"unbalanced '{{' at column {i + 1} in {sample!r}", path)
        name = sample[i + 1 : j].strip()
        if not _SLOT_NAME.fullmatch(name):
            raise src.error(f"bad placeholder {sample[i : j + 1]!r} (expected {{SlotName}})", path)
        if buf:
            parts.append(buf)
            buf = ""
        parts.append((name,))
        i = j + 1
    if buf:
        parts.append(buf)
    return parts


def _get(src: JsonSource, obj: dict, key: str, kind: type | tuple, path: JsonPath, *, required: bool = True):
    if key not in obj:
        if required:
            raise src.error(f"missing required field {key!r}", path)
        return None
    v = obj[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(v, kinds) or isinstance(v, bool) and bool not in kinds:
        want = {str: "a string", list: "a list", dict: "an object"}.get(kinds[0], kinds[0].__name__)
        raise src.error(f"must be {want}, not {type(v).__name__}", path + (key,))
    return v


def _string(src: JsonSource, v: object, path: JsonPath, what: str = "a non-empty string") -> str:
    if not isinstance(v, str) or not v.strip():
        raise src.error(f"must be {what}" + ("" if isinstance(v, str) else f", not {type(v).__name__}"), path)
    return _norm(v)


def _read_types(src: JsonSource, lm: dict, base: JsonPath) -> dict[str, SlotType]:
    types: dict[str, SlotType] = {}
    raw = _get(src, lm, "types", list, base, required=False) or []
    for t, ty in enumerate(raw):
        tp = base + ("types", t)
        if not isinstance(ty, dict):
            raise src.error("must be an object", tp)
        name = _string(src, ty.get("name"), tp + ("name",))
        if name in types:
            raise src.error(f"duplicate slot type {name!r}", tp + ("name",))
        values = _get(src, ty, "values", list, tp, required=not is_builtin_type(name)) or []
        st = SlotType(name, builtin=is_builtin_type(name))
        seen: set[str] = set()
        for v, val in enumerate(values):
            vp = tp + ("values", v)
            if not isinstance(val, dict):
                raise src.error("must be an object", vp)
            vid = _get(src, val, "id", str, vp, required=False)
            nm = _get(src, val, "name", dict, vp)
            value = _string(src, nm.get("value"), vp + ("name", "value"))
            syns = _get(src, nm, "synonyms", list, vp + ("name",), required=False) or []
            synonyms = []
            for s, syn in enumerate(syns):
                syn = _string(src, syn, vp + ("name", "synonyms", s))
                if syn.lower() != value.lower() and syn.lower() not in (x.lower() for x in synonyms):
                    synonyms.append(syn)
            if value.lower() in seen:
                log.warning("%s: slot type %s lists value %r twice; keeping the first", src.file, name, value)
                continue
            seen.add(value.lower())
            st.values.append(SlotValue(value, synonyms, vid or None))
        if not st.values and not st.builtin:
            raise src.error(f"slot type {name!r} has no values", tp + ("values",))
        types[name] = st
    return types


def _surfaces(st: SlotType) -> list[str]:
    out: list[str] = builtin_values(st.name) if st.builtin else []
    for v in st.values:
        out += [v.value, *v.synonyms]
    seen: set[str] = set()
    uniq = []
    for s in out:
        if s.lower() not in seen:
            seen.add(s.lower())
            uniq.append(s)
    return uniq


class _Expander:
    def __init__(self, surfaces: dict[str, list[str]], seed: int, cap: int) -> None:
        self.rng = random.Random(seed)
        self.cap = cap
        self.surfaces = {}
        for name, forms in surfaces.items():  # a seeded shuffle, so ties do not always favour the first value
            forms = list(forms)
            self.rng.shuffle(forms)
            self.surfaces[name] = forms
        self.usage: dict[str, dict[str, int]] = {k: dict.fromkeys(v, 0) for k, v in self.surfaces.items()}
        self.capped = 0

    def _pick(self, type_name: str) -> str:
        usage = self.usage[type_name]
        low = min(usage.values())
        return self.rng.choice([f for f in self.surfaces[type_name] if usage[f] == low])

    def expand(self, parts: list, slot_types: dict[str, str]) -> list[tuple[str, list[SlotSpan]]]:
        holes = [p[0] for p in parts if isinstance(p, tuple)]
        if not holes:
            return [("".join(parts), [])]
        total = math.prod(len(self.surfaces[slot_types[h]]) for h in holes)
        n = min(self.cap, total)
        if total > self.cap:
            self.capped += 1
        out: list[tuple[str, list[SlotSpan]]] = []
        seen: set[tuple[str, ...]] = set()
        attempts = 0
        while len(out) < n and attempts < 10 * n:
            attempts += 1
            combo = tuple(self._pick(slot_types[h]) for h in holes)
            if combo in seen:
                combo = tuple(self.rng.choice(self.surfaces[slot_types[h]]) for h in holes)
                if combo in seen:
                    continue
            seen.add(combo)
            fills = iter(combo)
            text = ""
            spans = []
            for p in parts:
                if isinstance(p, tuple):
                    fill = next(fills)
                    self.usage[slot_types[p[0]]][fill] += 1
                    spans.append(SlotSpan(p[0], len(text), len(text) + len(fill), fill))
                    text += fill
                else:
                    text += p
            out.append((text, spans))
        return out


def read_alexa(path: str | Path, *, max_per_template: int = 20, seed: int = 0) -> SkillDefinition:
    """Read an Alexa interaction model JSON file and expand its sample templates into annotated utterances."""
    if max_per_template < 1:
        raise ValueError("max_per_template must be at least 1")
    src = load_json(path)
    root = src.data
    if not isinstance(root, dict):
        raise src.error("the file must hold a JSON object", ())
    if "interactionModel" in root:
        im = _get(src, root, "interactionModel", dict, ())
        base: JsonPath = ("interactionModel", "languageModel")
        lm = _get(src, im, "languageModel", dict, ("interactionModel",))
    elif "languageModel" in root:
        base = ("languageModel",)
        lm = _get(src, root, "languageModel", dict, ())
    else:
        raise src.error("missing 'interactionModel.languageModel' (is this an Alexa interaction model?)", ())
    invocation = _get(src, lm, "invocationName", str, base, required=False)
    if invocation is not None and not invocation.strip():
        log.warning("%s: invocationName is empty: the skill can only be reached by routing or by name", src.file)
    invocation = _norm(invocation) if invocation else None
    name = slugify(invocation or "") or slugify(Path(path).stem) or "skill"
    d = SkillDefinition(name=name, invocation_name=invocation, source=src.file, declares_intent_slots=True)
    types = _read_types(src, lm, base)

    raw_intents = _get(src, lm, "intents", list, base)
    if not raw_intents:
        raise src.error("holds no intents", base + ("intents",))
    parsed = []  # (Intent, [(template parts, path)], [builtin samples])
    used_types: dict[str, SlotType] = {}
    sample_owner: dict[str, str] = {}
    n_dupes = 0
    for i, it in enumerate(raw_intents):
        ip = base + ("intents", i)
        if not isinstance(it, dict):
            raise src.error("must be an object", ip)
        iname = _string(src, it.get("name"), ip + ("name",))
        if iname in d.intents:
            raise src.error(f"duplicate intent {iname!r}", ip + ("name",))
        intent = d.intents[iname] = Intent(iname)
        slot_types: dict[str, str] = {}
        for j, sl in enumerate(_get(src, it, "slots", list, ip, required=False) or []):
            sp = ip + ("slots", j)
            if not isinstance(sl, dict):
                raise src.error("must be an object", sp)
            sname = _string(src, sl.get("name"), sp + ("name",))
            if not _SLOT_NAME.fullmatch(sname):
                raise src.error(f"bad slot name {sname!r} (letters, digits and underscores)", sp + ("name",))
            if sname in slot_types:
                raise src.error(f"duplicate slot {sname!r} in intent {iname!r}", sp + ("name",))
            tname = _string(src, sl.get("type"), sp + ("type",))
            if tname not in types:
                if not is_builtin_type(tname):
                    raise src.error(f"unknown slot type {tname!r} (not in languageModel.types)", sp + ("type",))
                types[tname] = SlotType(tname, builtin=True)
            used_types[tname] = types[tname]
            slot_types[sname] = tname
            intent.slots.append(Slot(sname, tname))
        samples = _get(src, it, "samples", list, ip, required=False) or []
        templates = []
        for k, sample in enumerate(samples):
            kp = ip + ("samples", k)
            sample = _string(src, sample, kp)
            parts = parse_template(sample, src, kp)
            for p in parts:
                if isinstance(p, tuple) and p[0] not in slot_types:
                    known = ", ".join(sorted(slot_types)) or "none"
                    raise src.error(f"unknown slot {{{p[0]}}} in {sample!r} (slots of {iname}: {known})", kp)
            key = sample.lower()
            if key in sample_owner:
                if sample_owner[key] != iname:
                    raise src.error(f"sample {sample!r} is also a sample of intent {sample_owner[key]!r}", kp)
                n_dupes += 1
                continue
            sample_owner[key] = iname
            templates.append((parts, kp))
        builtin = []
        if iname.startswith("AMAZON."):
            if iname in BUILTIN_INTENT_SAMPLES:
                builtin = list(BUILTIN_INTENT_SAMPLES[iname])
            elif not templates:
                log.warning("%s: built-in intent %s has no samples and none are built in; skipping it", src.file, iname)
                del d.intents[iname]
                d.stats["skipped_intents"] = d.stats.get("skipped_intents", 0) + 1
                continue
        elif not templates:
            raise src.error(f"intent {iname!r} has no samples", ip + ("samples",) if "samples" in it else ip)
        parsed.append((intent, slot_types, templates, builtin))

    # built-in samples go last, so a skill's own samples win a clash
    for intent, _, _, builtin in parsed:
        kept = []
        for s in builtin:
            if s.lower() not in sample_owner:
                sample_owner[s.lower()] = intent.name
                kept.append(s)
        builtin[:] = kept

    expander = _Expander({n: _surfaces(t) for n, t in used_types.items()}, seed, max_per_template)
    n_templates = n_builtin = 0
    for intent, slot_types, templates, builtin in parsed:
        for parts, _ in templates:
            n_templates += 1
            for text, spans in expander.expand(parts, slot_types):
                intent.utterances.append(Utterance(text, intent.name, spans, skill=name))
        for s in builtin:
            n_builtin += 1
            intent.utterances.append(Utterance(s, intent.name, [], skill=name))

    d.slot_types = {n: t for n, t in types.items() if not t.builtin or n in used_types}
    covered = sum(1 for u in expander.usage.values() for c in u.values() if c)
    d.stats.update(
        intents=len(d.intents),
        builtin_intents=sum(1 for n in d.intents if n.startswith("AMAZON.")),
        templates=n_templates,
        builtin_samples=n_builtin,
        utterances=sum(len(i.utterances) for i in d.intents.values()),
        capped_templates=expander.capped,
        duplicate_samples=n_dupes,
        slot_types=len(d.slot_types),
        builtin_slot_types=sum(1 for t in d.slot_types.values() if t.builtin),
        surface_forms=sum(len(u) for u in expander.usage.values()),
        surface_forms_covered=covered,
    )
    return d
