"""Prune the teacher's WordPiece vocabulary to the pieces that matter, as a `tokenizers` tokenizer.json.

Piece frequency is counted over every training set in the data folder plus a general English word list
(wordfreq, weighted by Zipf frequency) so the shared vocabulary serves skills it has never seen. Every single
character piece of the teacher vocabulary (ASCII and Latin-1) is kept so any word still tokenizes without [UNK].
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

from tokenizers import Tokenizer

from edge_nlu.data import data_dir
from edge_nlu.words import split_words

log = logging.getLogger(__name__)

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def corpus_texts(root: Path | None = None) -> list[str]:
    """Texts of every train split in the data folder (all sets, including snips2017 full pools)."""
    root = root or data_dir()
    texts = []
    for p in sorted(root.glob("*/train*.jsonl")) + sorted(root.glob("snips2017/*/train_full.jsonl")):
        for line in p.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    return texts


def piece_counts(teacher_tok: Tokenizer, texts: list[str], n_general: int = 60000) -> Counter:
    """How often each teacher piece is used: corpus occurrences + general English words weighted by frequency."""
    counts: Counter = Counter()
    words = Counter(w.lower() for t in texts for w, _, _ in split_words(t))
    try:
        from wordfreq import top_n_list, zipf_frequency

        for w in top_n_list("en", n_general):
            # a general word counts like a word seen a few times in the corpus, more if it is common
            words[w] += max(1, int(zipf_frequency(w, "en") - 2))
    except ImportError:  # pragma: no cover
        log.warning("wordfreq not installed: vocabulary from the training sets only")
    items = list(words.items())
    enc = teacher_tok.encode_batch([[w] for w, _ in items], is_pretokenized=True, add_special_tokens=False)
    for (_, c), e in zip(items, enc):
        for t in e.tokens:
            counts[t] += c
    return counts


def build_vocab(teacher_tokenizer: Path, size: int, root: Path | None = None) -> tuple[Tokenizer, list[int]]:
    """A pruned WordPiece tokenizer of ``size`` pieces and, for each new id, the teacher id it came from."""
    teacher = Tokenizer.from_file(str(teacher_tokenizer))
    tvocab: dict[str, int] = teacher.get_vocab()
    keep: list[str] = list(SPECIALS)
    seen = set(keep)
    for tokn in sorted(tvocab, key=tvocab.get):  # single characters, in teacher order
        base = tokn[2:] if tokn.startswith("##") else tokn
        if len(base) == 1 and ord(base) < 0x250 and tokn not in seen:
            keep.append(tokn)
            seen.add(tokn)
    counts = piece_counts(teacher, corpus_texts(root))
    for tokn, _ in counts.most_common():
        if len(keep) >= size:
            break
        if tokn not in seen and tokn in tvocab:
            keep.append(tokn)
            seen.add(tokn)
    spec = json.loads(teacher.to_str())
    spec["model"]["vocab"] = {t: i for i, t in enumerate(keep)}
    spec["truncation"] = None
    spec["padding"] = None
    for a in spec.get("added_tokens", []):
        a["id"] = keep.index(a["content"])
    pp = spec.get("post_processor") or {}
    for st in (pp.get("special_tokens") or {}).values():
        st["ids"] = [keep.index(t) for t in st["tokens"]]
    tok = Tokenizer.from_str(json.dumps(spec))
    log.info("vocabulary: %d pieces kept of %d (%d counted)", len(keep), len(tvocab), len(counts))
    return tok, [tvocab[t] for t in keep]
