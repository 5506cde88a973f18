"""The parse result and its JSON form (the schema is documented in README.md, "Parse result")."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass
class Slot:
    """A slot found in the utterance: ``text[start:end] == value`` always holds (character offsets)."""

    slot: str
    value: str
    start: int
    end: int
    resolved: dict | None = None


@dataclass
class Alternative:
    skill: str | None
    intent: str | None
    confidence: float


@dataclass
class ParseResult:
    """What the device gets back for one utterance."""

    text: str
    skill: str | None
    intent: str | None
    confidence: float
    slots: list[Slot] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)
    out_of_scope: bool = False
    truncated: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        d["confidence"] = round(float(self.confidence), 4)
        for a in d["alternatives"]:
            a["confidence"] = round(float(a["confidence"]), 4)
        return d

    def to_utterance(self):
        """The result as an annotated utterance (for edge_nlu.metrics); out of scope -> intent None."""
        from edge_nlu.definitions.model import SlotSpan, Utterance

        spans = [SlotSpan(s.slot, s.start, s.end, s.value) for s in self.slots]
        return Utterance(self.text, None if self.out_of_scope else self.intent, spans, self.skill)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)
