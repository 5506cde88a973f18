"""The data model every reader produces and every trainer consumes (standard library only)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SlotSpan:
    """A slot occurrence: character offsets into the utterance text, end exclusive."""

    slot: str
    start: int
    end: int
    value: str

    def to_dict(self) -> dict:
        return {"slot": self.slot, "start": self.start, "end": self.end, "value": self.value}


@dataclass
class Utterance:
    """An annotated utterance; ``intent`` is None (or "oos") for out-of-scope rows."""

    text: str
    intent: str | None
    slots: list[SlotSpan] = field(default_factory=list)
    skill: str | None = None

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "intent": self.intent,
            "skill": self.skill,
            "slots": [s.to_dict() for s in self.slots],
        }


@dataclass
class SlotValue:
    """A catalog entry: canonical value, its synonyms and an optional id (for entity resolution)."""

    value: str
    synonyms: list[str] = field(default_factory=list)
    id: str | None = None


@dataclass
class SlotType:
    """A slot type: a catalog of values, or a built-in type resolved by the runtime (``builtin=True``)."""

    name: str
    values: list[SlotValue] = field(default_factory=list)
    builtin: bool = False
    extensible: bool = True


@dataclass
class Slot:
    """A slot of an intent, with the name of its type."""

    name: str
    type: str


@dataclass
class Intent:
    """An intent: its slots and its annotated training utterances (templates already expanded)."""

    name: str
    slots: list[Slot] = field(default_factory=list)
    utterances: list[Utterance] = field(default_factory=list)


@dataclass
class SkillDefinition:
    """What a skill author writes, in any reader's format, normalised.

    ``stats`` records what the reader did (e.g. how many utterances template expansion produced).
    """

    name: str
    intents: dict[str, Intent] = field(default_factory=dict)
    slot_types: dict[str, SlotType] = field(default_factory=dict)
    invocation_name: str | None = None
    source: str | None = None
    stats: dict[str, int] = field(default_factory=dict)
    # True when each intent's ``slots`` is the author's declaration of the slots it takes (an Alexa interaction
    # model), not just the slots its examples happen to show: a compiled skill then allows exactly those per intent
    declares_intent_slots: bool = False

    def utterances(self) -> list[Utterance]:
        """All training utterances, intent by intent, in definition order."""
        return [u for intent in self.intents.values() for u in intent.utterances]

    def slot_type_of(self, intent: str, slot: str) -> SlotType | None:
        """The type of ``slot`` in ``intent`` (None when unknown)."""
        it = self.intents.get(intent)
        if it is None:
            return None
        for s in it.slots:
            if s.name == slot:
                return self.slot_types.get(s.type)
        return None

    def slot_names(self) -> list[str]:
        """Every slot name used by any intent, sorted."""
        return sorted({s.name for it in self.intents.values() for s in it.slots})
