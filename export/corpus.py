"""Training corpora for the build: which data sets make up a base, and word-piece encoding with word alignment.

Teacher and student share this so their word/tag alignment is identical to the runtime's
(``edge_nlu.words.split_words`` + the WordPiece tokenizer on each word, first piece tagged).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from edge_nlu.data import data_dir
from edge_nlu.definitions.jsonl import read_jsonl
from edge_nlu.definitions.model import Utterance
from edge_nlu.words import spans_to_bio, split_words, word_shape

log = logging.getLogger(__name__)

OOS = "oos"


@dataclass
class Corpus:
    """Utterances of several skills (``skill`` set on each row; out-of-scope rows have skill None)."""

    train: list[Utterance] = field(default_factory=list)
    dev: list[Utterance] = field(default_factory=list)
    dev_by_set: dict[str, list[Utterance]] = field(default_factory=dict)  # routing is calibrated per data set
    train_by_set: dict[str, list[Utterance]] = field(default_factory=dict)

    def skills(self) -> list[str]:
        return sorted({u.skill for u in self.train if u.skill})


def load_corpus(
    sets: dict[str, list[str] | None],
    root: Path | None = None,
    limit_per_skill: int | None = None,
    seed: int = 0,
    exclude_texts: set[str] | None = None,
) -> Corpus:
    """Load train/dev of each data set; ``sets`` maps a data set to the skills to keep (None = all)."""
    root = root or data_dir()
    corpus = Corpus()
    rng = random.Random(seed)
    for name, keep in sets.items():
        for split in ("train", "dev"):
            rows = read_jsonl(root / name / f"{split}.jsonl")
            rows = [u for u in rows if (keep is None or u.skill in keep or u.skill is None)]
            if exclude_texts:
                rows = [u for u in rows if u.text.lower() not in exclude_texts]
            if limit_per_skill and split == "train":
                by: dict[str | None, list[Utterance]] = {}
                for u in rows:
                    by.setdefault(u.skill, []).append(u)
                rows = []
                for k in sorted(by, key=str):
                    v = by[k]
                    rng.shuffle(v)
                    rows.extend(v[:limit_per_skill])
            getattr(corpus, split).extend(rows)
            getattr(corpus, f"{split}_by_set")[name] = rows
        log.info("corpus: %s loaded", name)
    return corpus


def load_tokenizer(path: str | Path) -> Tokenizer:
    tok = Tokenizer.from_file(str(path))
    tok.no_padding()
    tok.no_truncation()
    return tok


@dataclass
class Encoded:
    """One utterance as word-pieces: ids with [CLS]/[SEP], index of each word's first piece, word BIO tags."""

    ids: list[int]
    first: list[int]
    tags: list[str]
    case: list[int]  # word_shape of the word each piece belongs to (0 for [CLS]/[SEP])


def encode(tok: Tokenizer, u: Utterance | str, max_len: int = 64) -> Encoded:
    """Word-pieces of an utterance, aligned to ``split_words`` words (a word with no piece gets [UNK])."""
    text = u if isinstance(u, str) else u.text
    words = split_words(text)
    unk = tok.token_to_id("[UNK]")
    ids = [tok.token_to_id("[CLS]")]
    case = [0]
    first: list[int] = []
    if words:
        enc = tok.encode([w for w, _, _ in words], is_pretokenized=True, add_special_tokens=False)
        per_word: list[list[int]] = [[] for _ in words]
        for pid, wid in zip(enc.ids, enc.word_ids):
            if wid is not None:
                per_word[wid].append(pid)
        for (w, _, _), pieces in zip(words, per_word):
            if len(ids) >= max_len - 1:
                break
            first.append(len(ids))
            got = (pieces or [unk])[: max(1, max_len - 1 - len(ids))]
            ids.extend(got)
            case.extend([word_shape(w)] * len(got))
    ids.append(tok.token_to_id("[SEP]"))
    case.append(0)
    tags = spans_to_bio(words, u.slots)[: len(first)] if not isinstance(u, str) else ["O"] * len(first)
    return Encoded(ids, first, tags, case)


def pad_batch(seqs: list[list[int]], pad: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad id lists into an int64 matrix and a 0/1 mask."""
    n = max(len(s) for s in seqs)
    ids = np.full((len(seqs), n), pad, dtype=np.int64)
    mask = np.zeros((len(seqs), n), dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
        mask[i, : len(s)] = 1
    return ids, mask


def length_batches(
    order: list[int], length: Callable[[int], int], batch_size: int, chunk_batches: int, rng: random.Random
) -> list[list[int]]:
    """Batches of ``order`` with similar lengths inside a batch: ``order`` is shuffled in place with ``rng``, sorted
    by ``length`` inside chunks of ``chunk_batches`` batches (less padding, still random) and cut into batches of
    ``batch_size``. The batches are not shuffled: the caller does that (one ``rng.shuffle`` over all of them)."""
    rng.shuffle(order)
    chunk = batch_size * chunk_batches
    chunks = [order[i : i + chunk] for i in range(0, len(order), chunk)]
    order = [j for c in chunks for j in sorted(c, key=length)]
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
