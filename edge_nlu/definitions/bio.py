"""Word-level BIO folders (the JointBERT layout): ``seq.in`` words, ``seq.out`` BIO tags, ``label`` intents.

Line ``n`` of the three files is one utterance; its text is the words joined by single spaces and its tags become
character spans (see :func:`edge_nlu.words.bio_to_spans`).
"""

from __future__ import annotations

import re
from pathlib import Path

from edge_nlu.definitions._yaml import read_text
from edge_nlu.definitions.model import Utterance
from edge_nlu.errors import DefinitionError
from edge_nlu.words import bio_to_spans

FILES = ("seq.in", "seq.out", "label")
_TAG = re.compile(r"O|[BI]-\S+")


def _has_files(folder: Path) -> bool:
    return all((folder / f).is_file() for f in FILES)


def bio_folder(folder: str | Path, split: str | None = None) -> Path:
    """The folder holding ``seq.in``/``seq.out``/``label``: ``folder`` itself, ``folder/split``, or the only split."""
    folder = Path(folder)
    if split is not None:
        folder = folder / split
    if folder.is_file() and folder.name in FILES:
        folder = folder.parent
    if not folder.is_dir():
        raise DefinitionError("no such folder", file=str(folder))
    if _has_files(folder):
        return folder
    splits = sorted(p.name for p in folder.iterdir() if p.is_dir() and _has_files(p))
    if len(splits) == 1:
        return folder / splits[0]
    if splits:
        raise DefinitionError(f"holds several splits, pick one: {', '.join(splits)}", file=str(folder))
    missing = [f for f in FILES if not (folder / f).is_file()]
    raise DefinitionError(f"is not a BIO folder: missing {', '.join(missing)}", file=str(folder))


def _lines(path: Path) -> tuple[str, list[str]]:
    file, text = read_text(path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return file, [ln.rstrip("\r") for ln in lines]


def read_bio(folder: str | Path, split: str | None = None) -> list[Utterance]:
    """Utterances of a BIO folder (or of its ``split`` subfolder, e.g. ``"test"``); skill is None."""
    folder = bio_folder(folder, split)
    (fin, words_lines), (fout, tag_lines), (flab, labels) = (_lines(folder / f) for f in FILES)
    counts = {fin: len(words_lines), fout: len(tag_lines), flab: len(labels)}
    if len(set(counts.values())) != 1:
        short = min(counts, key=counts.get)
        desc = ", ".join(f"{Path(f).name}: {n}" for f, n in counts.items())
        raise DefinitionError(f"the three files have different line counts ({desc})", file=short)
    rows = []
    for n, (wl, tl, label) in enumerate(zip(words_lines, tag_lines, labels, strict=True), 1):
        words = wl.split()
        tags = tl.split()
        intent = label.strip()
        if not words:
            raise DefinitionError("empty line (no words)", file=fin, line=n)
        if not intent:
            raise DefinitionError("empty intent label", file=flab, line=n)
        if len(words) != len(tags):
            raise DefinitionError(
                f"{len(tags)} tags for {len(words)} words in {Path(fin).name}", file=fout, line=n, field="tags"
            )
        for k, t in enumerate(tags):
            if not _TAG.fullmatch(t):
                raise DefinitionError(f"bad tag {t!r} (word {k + 1}; expected O, B-x or I-x)", file=fout, line=n)
        spans_words = []
        pos = 0
        for w in words:
            spans_words.append((w, pos, pos + len(w)))
            pos += len(w) + 1
        text = " ".join(words)
        rows.append(Utterance(text, intent, bio_to_spans(text, spans_words, tags)))
    if not rows:
        raise DefinitionError("holds no utterances", file=fin)
    return rows
