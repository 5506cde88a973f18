"""Skill definitions: the data model and the readers of every supported format.

``read_definition(path)`` reads any of :data:`FORMATS` (detected from the extension and content when not given); every
reader reports user mistakes as :class:`edge_nlu.errors.DefinitionError` with the file, line and field.
"""

from __future__ import annotations

from pathlib import Path

from edge_nlu.definitions._yaml import read_text
from edge_nlu.definitions.alexa import read_alexa
from edge_nlu.definitions.bio import read_bio
from edge_nlu.definitions.jsonl import definition_from_utterances, definitions_from_jsonl, read_jsonl
from edge_nlu.definitions.model import Intent, SkillDefinition, Slot, SlotSpan, SlotType, SlotValue, Utterance
from edge_nlu.definitions.rasa import read_rasa
from edge_nlu.definitions.snips import read_snips
from edge_nlu.errors import DefinitionError

FORMATS = ("alexa", "snips", "rasa", "jsonl", "bio")

__all__ = [
    "FORMATS",
    "DefinitionError",
    "Intent",
    "SkillDefinition",
    "Slot",
    "SlotSpan",
    "SlotType",
    "SlotValue",
    "Utterance",
    "detect_format",
    "read_alexa",
    "read_bio",
    "read_definition",
    "read_jsonl",
    "read_rasa",
    "read_snips",
]


def detect_format(path: str | Path) -> str:
    """The format of ``path``: a folder is BIO; ``.jsonl``, ``.yml``/``.yaml``; ``.json`` by its top-level keys."""
    path = Path(path)
    if path.is_dir() or path.name in ("seq.in", "seq.out", "label"):
        return "bio"
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return "jsonl"
    if suffix in (".yml", ".yaml"):
        return "rasa"
    if suffix == ".json":
        file, text = read_text(path)
        head = text[:20000]
        if '"interactionModel"' in head or '"languageModel"' in head:
            return "alexa"
        if '"intents"' in head and ('"entities"' in head or '"utterances"' in head):
            return "snips"
        raise DefinitionError(
            "cannot tell the format of this JSON file (expected an Alexa interaction model or a Snips dataset); "
            "name it: --format alexa|snips (format= in Python)",
            file=file,
        )
    raise DefinitionError(
        f"cannot tell the format from the extension {suffix or '(none)'!r}; pass one of: {', '.join(FORMATS)}",
        file=str(path),
    )


def read_definition(path: str | Path, format: str | None = None, name: str | None = None) -> SkillDefinition:
    """Read a skill definition in any of :data:`FORMATS` (auto-detected when ``format`` is None).

    For a JSONL file holding several skills ``name`` picks one; for the other formats it renames the skill.
    """
    fmt = format if format is not None else detect_format(path)
    if fmt not in FORMATS:
        raise DefinitionError(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}", field="format")
    if fmt == "jsonl":
        defs = definitions_from_jsonl(path)
        if name is not None:
            if name not in defs:
                raise DefinitionError(
                    f"holds no skill {name!r}; skills: {', '.join(sorted(defs))}", file=str(path), field="skill"
                )
            return defs[name]
        if len(defs) > 1:
            raise DefinitionError(
                f"holds several skills, pick one (--name, or name= in Python): {', '.join(sorted(defs))}",
                file=str(path),
                field="skill",
            )
        return next(iter(defs.values()))
    if fmt == "bio":
        p = Path(path)
        rows = read_bio(p)
        if name is None:
            name = p.parent.name if p.name in ("train", "dev", "test", "valid") and p.parent.name != "bio" else p.name
            if p.name in ("train", "dev", "test", "valid") and p.parent.name == "bio":
                name = p.parent.parent.name
        return definition_from_utterances(name, rows, source=str(p))
    reader = {"alexa": read_alexa, "snips": read_snips, "rasa": read_rasa}[fmt]
    d = reader(path)
    if name is not None:
        d.name = name
        for u in d.utterances():
            u.skill = name
    return d
