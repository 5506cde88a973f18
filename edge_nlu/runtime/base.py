"""The shared base: pruned WordPiece tokenizer, memory-mapped int8 embedding table, one encoder session."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from edge_nlu.errors import ArtifactError
from edge_nlu.runtime.artifacts import verify_base
from edge_nlu.words import split_words, word_key, word_shape

log = logging.getLogger(__name__)

MAX_PIECES = 64  # word-pieces per utterance, [CLS]/[SEP] included; later words are not parsed (truncated=True)
_PIECE_CACHE = 50_000  # words kept in the tokenization cache (cleared when full: bounded memory, no LRU upkeep)
_SURROGATE = re.compile("[\ud800-\udfff]")  # unpaired surrogates (e.g. from surrogateescape) break the tokenizer


@dataclass
class Tokens:
    """An utterance split into words (with character offsets) and the word-pieces of each word."""

    words: list[tuple[str, int, int]]
    pieces: list[list[int]]
    truncated: bool


@dataclass
class Sequence:
    """Encoder input for one utterance: piece ids, their word shapes, and each word's first piece position."""

    ids: np.ndarray
    case: np.ndarray
    first: list[int]


def encoder_session(
    model: Path | bytes,
    threads: int,
    where: str,
    arena: bool = True,
    initializers: dict[str, np.ndarray] | None = None,
) -> ort.InferenceSession:
    """An onnxruntime session of an encoder graph (the base's file, or a skill's own encoder bytes), checked to
    take the inputs this runtime feeds, so a wrong graph fails when it is loaded, not at parse time. ``arena``
    False: no CPU memory arena (~0.1 MB less per session, for the many small sessions of skills' own encoders).
    ``initializers``: tensors that replace the graph's own of the same names (a skill's encoder delta)."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.enable_cpu_mem_arena = arena
    values = {}
    for name, arr in (initializers or {}).items():
        # onnxruntime reads these buffers for the session's lifetime: the session keeps them (below)
        values[name] = ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(arr))
        opts.add_initializer(name, values[name])
    try:
        session = ort.InferenceSession(
            model if isinstance(model, bytes) else str(model), opts, providers=["CPUExecutionProvider"]
        )
    except Exception as e:  # onnxruntime raises its own exception types
        raise ArtifactError(f"onnxruntime cannot load it ({e.__class__.__name__})", file=where, check="onnx") from None
    inputs = sorted(i.name for i in session.get_inputs())
    if inputs != ["case", "emb"]:  # e.g. a base built before the word-shape input: a clear error, not at parse
        raise ArtifactError(
            f"encoder inputs {inputs}, this runtime feeds ['case', 'emb'] (rebuild the model)",
            file=where,
            check="onnx_inputs",
        )
    session._edge_nlu_initializers = values
    return session


class Base:
    """Loads once per process; every skill reuses its tokenizer, embedding table and encoder session."""

    def __init__(self, folder: str | Path, threads: int = 1, verify: bool = True) -> None:
        self.folder = Path(folder)
        self.manifest = verify_base(self.folder, check_sums=verify)
        self.dims = self.manifest["dims"]
        try:
            self.tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        except Exception as e:  # tokenizers raises a bare Exception on bad JSON
            raise ArtifactError(
                f"unreadable tokenizer ({e})", file=str(self.folder / "tokenizer.json"), check="tokenizer"
            ) from None
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        # memory-mapped (pages shared between processes, read on demand); viewed as a plain ndarray because
        # np.memmap's Python-level __getitem__ costs more than the gather itself
        self.emb = self._load_npy("embeddings.npy", np.int8, mmap=True).view(np.ndarray)
        self.scales = self._load_npy("scales.npy", np.float32)
        # pooled vectors for compiling new skills' NONE class: memory-mapped, so parsing never makes them resident
        self.negatives = self._load_npy("negatives.npy", np.float16, mmap=True)
        vocab, dim = self.emb.shape if self.emb.ndim == 2 else (0, 0)
        if self.emb.ndim != 2 or (vocab, dim) != (self.manifest["vocab_size"], self.dims["emb"]):
            raise ArtifactError(
                f"shape {self.emb.shape} does not match the manifest's dimensions",
                file=str(self.folder / "embeddings.npy"),
                check="dims",
            )
        if self.scales.shape != (vocab,):
            raise ArtifactError(
                f"shape {self.scales.shape}, expected ({vocab},)", file=str(self.folder / "scales.npy"), check="dims"
            )
        if self.tokenizer.get_vocab_size() != vocab:
            raise ArtifactError(
                "vocabulary size differs from the embedding table",
                file=str(self.folder / "tokenizer.json"),
                check="vocab_size",
            )
        self.threads = threads
        self.session = encoder_session(self.folder / "encoder.onnx", threads, str(self.folder / "encoder.onnx"))
        self.cls = self.tokenizer.token_to_id("[CLS]")
        self.sep = self.tokenizer.token_to_id("[SEP]")
        self.unk = self.tokenizer.token_to_id("[UNK]")
        self.routing = self.manifest.get("routing", {})
        # the manifest is the root of trust (no checksum covers it), so its routing threshold is range-checked:
        # a hand-edited or damaged value must not silently route everything to out-of-scope (or nothing)
        thr = self.routing.get("threshold", 0.5) if isinstance(self.routing, dict) else None
        if isinstance(thr, bool) or not isinstance(thr, (int, float)) or not 0.0 <= float(thr) < 1.0:
            raise ArtifactError(
                f"routing threshold {thr!r} is not a number in [0, 1)",
                file=str(self.folder / "manifest.json"),
                check="routing",
            )
        # word -> pieces: each word is tokenized on its own (is_pretokenized), so results can be reused; voice
        # commands repeat words, and a dict lookup is ~100x cheaper than a tokenizer call
        self._pieces: dict[str, list[int]] = {}
        self.base_id = self.manifest["base_id"]
        self._encoder_weights: dict[str, np.ndarray] = {}
        self._weights_lock = threading.Lock()

    def encoder_weights(self, names: list[str]) -> dict[str, np.ndarray]:
        """The encoder graph's initializers named in ``names`` (read once, then shared by every skill whose slot
        encoder is a delta of them)."""
        from edge_nlu.runtime.onnx_weights import OnnxWeightsError, read_initializers

        with self._weights_lock:
            todo = [n for n in names if n not in self._encoder_weights]
            if todo:
                path = self.folder / "encoder.onnx"
                try:
                    self._encoder_weights.update(read_initializers(path.read_bytes(), todo))
                except (OSError, OnnxWeightsError) as e:
                    raise ArtifactError(f"cannot read its weights ({e})", file=str(path), check="onnx") from None
            return {n: self._encoder_weights[n] for n in names}

    def _load_npy(self, name: str, dtype, mmap: bool = False) -> np.ndarray:
        path = self.folder / name
        try:
            arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        except Exception as e:
            raise ArtifactError(f"unreadable array ({e.__class__.__name__})", file=str(path), check="npy") from None
        if arr.dtype != dtype:
            raise ArtifactError(f"dtype {arr.dtype}, expected {np.dtype(dtype)}", file=str(path), check="dtype")
        return arr

    def tokenize(self, text: str, max_pieces: int = MAX_PIECES) -> Tokens:
        """Words and their pieces, cut at ``max_pieces`` (then ``truncated`` is True)."""
        words = split_words(text)
        if not words:
            return Tokens([], [], False)
        cache = self._pieces
        found = {w: cache.get(w) for w, _, _ in words}  # a local view: another thread may clear the cache
        missing = [w for w, v in found.items() if v is None]
        if missing:
            # the tokenizer only sees the word strings (offsets come from split_words): an unpaired surrogate,
            # which cannot be encoded as UTF-8, becomes U+FFFD (one character for one, so nothing shifts)
            texts = [w if w.isascii() or not _SURROGATE.search(w) else _SURROGATE.sub("\ufffd", w) for w in missing]
            enc = self.tokenizer.encode(texts, is_pretokenized=True, add_special_tokens=False)
            got: list[list[int]] = [[] for _ in missing]
            for pid, wid in zip(enc.ids, enc.word_ids):
                if wid is not None:
                    got[wid].append(pid)
            if len(cache) > _PIECE_CACHE:
                cache.clear()
            for w, ps in zip(missing, got):
                found[w] = cache[w] = ps
        pieces = [found[w] for w, _, _ in words]
        budget = max_pieces - 2
        out_w, out_p, used = [], [], 0
        for w, p in zip(words, pieces):
            p = p or [self.unk]
            if used + 1 > budget:
                return Tokens(out_w, out_p, True)
            p = p[: budget - used]
            out_w.append(w)
            out_p.append(p)
            used += len(p)
        return Tokens(out_w, out_p, False)

    def sequence(self, tokens: Tokens, word_from: int = 0, patch: dict[str, int] | None = None) -> Sequence:
        """[CLS] pieces [SEP] for the words from ``word_from``; a word in ``patch`` becomes its one patch row."""
        vocab = self.scales.shape[0]
        ids, case, first = [self.cls], [0], []
        for (w, _, _), pieces in zip(tokens.words[word_from:], tokens.pieces[word_from:]):
            first.append(len(ids))
            row = patch.get(word_key(w)) if patch else None
            got = [vocab + row] if row is not None else pieces
            ids.extend(got)
            case.extend([word_shape(w)] * len(got))
        ids.append(self.sep)
        case.append(0)
        return Sequence(np.asarray(ids, dtype=np.int64), np.asarray(case, dtype=np.int64), first)

    def run(self, seqs: list[Sequence], patch_q: np.ndarray | None = None, patch_s: np.ndarray | None = None):
        """Encode equal-length sequences in one call: states [B, T, 2H], pooled [B, 4H]."""
        if len(seqs) == 1:  # the parse path: a view, no copy
            ids, case = seqs[0].ids[None], seqs[0].case[None]
        else:
            ids = np.stack([q.ids for q in seqs])
            case = np.stack([q.case for q in seqs])
        return self.encode(self.embed(ids, patch_q, patch_s), case)

    def embed(self, ids: np.ndarray, patch_q: np.ndarray | None = None, patch_s: np.ndarray | None = None):
        """Float embeddings of ``ids``; ids at or past the vocabulary size index the skill's patch rows."""
        vocab = self.scales.shape[0]
        if patch_q is None or not (ids >= vocab).any():
            return self.emb[ids].astype(np.float32) * self.scales[ids][..., None]
        shared = np.minimum(ids, vocab - 1)
        out = self.emb[shared].astype(np.float32) * self.scales[shared][..., None]
        pm = ids >= vocab
        local = ids[pm] - vocab
        out[pm] = patch_q[local].astype(np.float32) * patch_s[local][:, None]
        return out

    def encode(self, emb: np.ndarray, case: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Encoder states [B, T, 2H] and pooled vectors [B, 4H] for a batch of equal-length sequences."""
        states, pooled = self.session.run(None, {"emb": emb, "case": case})
        return states, pooled
