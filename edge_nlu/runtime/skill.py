"""A loaded skill: its heads, label maps, BIO-valid decoder, embedding patch and entity catalog."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edge_nlu.errors import ArtifactError
from edge_nlu.runtime.artifacts import npz_arrays, read_skill
from edge_nlu.runtime.lexical import (
    BUCKETS,
    INTENT_TEMPLATES,
    TEMPLATES,
    intent_emissions,
    lexical_emissions,
    lexical_ok,
)
from edge_nlu.words import N_SHAPES, word_key

if TYPE_CHECKING:
    from edge_nlu.runtime.base import Base, Sequence

NONE = "__none__"
# joint intent-slot decoding, for skills that record which slots each intent has (labels.json "intent_slots"): the
# JOINT_CANDIDATES most probable intents i are scored log p(i) + W * (V_i - V), V_i the best slot path's score with
# only i's slots allowed and V the unrestricted one; the best i is the intent, and its path the slots (W = 0: the
# classifier's intent, its slots restricted to it). W is the skill's own (labels.json "joint_weight", chosen per data
# set by cross-validation on train; none: off) unless edge_nlu.load(..., joint_weight=...) sets one for all skills.
# Rules 41-44 (RESULTS, joint decoding): it helps SNIPS, not ATIS, so it is a per-skill setting
JOINT_CANDIDATES = 3


def is_weight(w: object) -> bool:
    """A joint decoding weight: a finite real number >= 0 (not a bool)."""
    return not isinstance(w, bool) and isinstance(w, (int, float, np.integer, np.floating)) and 0 <= w < float("inf")


def bio_allowed(tags: list[str]) -> np.ndarray:
    """[n+1, n] allowed transitions (row n = start): I-x only after B-x or I-x."""
    n = len(tags)
    ok = np.ones((n + 1, n), dtype=bool)
    for j, t in enumerate(tags):
        if t.startswith("I-"):
            for i in range(n + 1):
                prev = tags[i] if i < n else "O"
                ok[i, j] = prev[2:] == t[2:] and prev[:2] in ("B-", "I-")
    return ok


def slot_features(kind: str, states: np.ndarray, first: list[int], emb: np.ndarray, case: np.ndarray) -> np.ndarray:
    """Per-word input of a slot head. ``"states"``: the encoder state of each word's first piece (skills trained
    with the shared encoder). ``"context"``: that state, its neighbours' states, the word's own embedding and
    shape, which lets a head trained on a frozen encoder from a few dozen utterances use the word itself."""
    f = states[first]
    if kind == "states" or len(f) == 0:
        return f
    z = np.zeros((1, f.shape[1]), dtype=f.dtype)
    prev = np.concatenate([z, f[:-1]])
    nxt = np.concatenate([f[1:], z])
    shape = np.eye(N_SHAPES, dtype=np.float32)[case[first]]
    return np.concatenate([f, prev, nxt, emb[first], shape], axis=1)


def slot_feature_dim(kind: str, dims: dict) -> int:
    return dims.get("states", 0) if kind == "states" else 3 * dims.get("states", 0) + dims.get("emb", 0) + N_SHAPES


def viterbi(emissions: np.ndarray, transitions: np.ndarray, into: np.ndarray | None = None) -> list[int]:
    """Best tag path for per-word scores [n, k] under transition scores [k+1, k] (row k = start); ``into`` is
    ``transitions[:k].T`` made contiguous, when the caller keeps one."""
    return viterbi_scored(emissions, transitions, into)[0]


def viterbi_scored(
    emissions: np.ndarray, transitions: np.ndarray, into: np.ndarray | None = None
) -> tuple[list[int], float]:
    """:func:`viterbi`'s best path and its score (emissions + transitions along it)."""
    n, k = emissions.shape
    if n == 0:
        return [], 0.0
    # [to, from] layout: each step's reductions run along contiguous rows (~25% faster per step than [from, to];
    # a step is a few small numpy calls, so call count, not arithmetic, is what a parse pays for)
    if into is None:
        into = np.ascontiguousarray(transitions[:k].T)
    rows = np.arange(k)
    score = transitions[k] + emissions[0]
    back = []
    for i in range(1, n):
        cand = into + score
        arg = cand.argmax(1)
        back.append(arg)
        score = cand[rows, arg]
        score += emissions[i]
    path = [int(score.argmax())]
    best = float(score[path[0]])
    for arg in reversed(back):
        path.append(int(arg[path[-1]]))
    return path[::-1], best


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = x - x.max(axis=axis, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


class Skill:
    """Per-skill part of the model; small enough that loading one is a few milliseconds."""

    def __init__(self, path: str | Path, base_manifest: dict | None = None) -> None:
        self.path = Path(path)
        self.manifest, members = read_skill(self.path, base_manifest)
        where = str(self.path)
        try:
            labels = json.loads(members["labels.json"])
            patch = json.loads(members["patch.json"])
            self._catalog_bytes = members["catalog.json"]  # parsed on the first slot that needs it
            # the skill's own slot encoder (compiled with fine-tuning): a session is made on the first parse
            self._encoder_bytes: bytes | None = members.get("encoder.onnx")
            self._delta_bytes: bytes | None = members.get("encoder_delta.npz")  # or a delta of the base's weights
            self._encoder_form = "full" if self._encoder_bytes else "delta" if self._delta_bytes else None
            self._encoder = None
            self._encoder_lock = threading.Lock()
            arrays = npz_arrays(members["weights.npz"])
        except Exception as e:
            raise ArtifactError(
                f"unreadable skill member ({e.__class__.__name__})", file=where, check="members"
            ) from None
        try:
            self.name: str = labels["name"]
            self.invocation_name: str | None = labels.get("invocation_name")
            self.intents: list[str] = labels["intents"]
            self.tags: list[str] = labels["tags"]
            self.temperature = float(labels.get("temperature", 1.0))
            self.slot_types: dict[str, dict] = labels.get("slot_types", {})
            self.slot_features: str = labels.get("slot_features", "states")
            intent_slots = labels.get("intent_slots")
            joint_weight = labels.get("joint_weight")
            self.intent_w = arrays["intent_w"].astype(np.float32)
            self.intent_b = arrays["intent_b"].astype(np.float32)
            self.slot_w = arrays["slot_w"].astype(np.float32)
            self.slot_b = arrays["slot_b"].astype(np.float32)
            self.patch_q = arrays["patch_q"]
            self.patch_s = arrays["patch_s"].astype(np.float32)
            words = patch["words"]
            self.lexical: str | None = labels.get("lexical")
            # kept as stored (int8 with a scale per tag, or float16 in older skills): only the rows a parse gathers
            # are widened, which keeps resident memory at a quarter (a half) of float32
            self.lex_w = arrays["lex_w"] if "lex_w" in arrays else None
            self.lex_s = arrays["lex_s"].astype(np.float32) if "lex_s" in arrays else None
            # lexical intent expert (optional): int8 n-gram weights, their per-intent scale, and a bias
            self.intent_lexical: str | None = labels.get("intent_lexical")
            self.intent_lex_w = arrays.get("intent_lex_w")
            self.intent_lex_s = arrays["intent_lex_s"].astype(np.float32) if "intent_lex_s" in arrays else None
            self.intent_lex_b = arrays["intent_lex_b"].astype(np.float32) if "intent_lex_b" in arrays else None
        except (KeyError, TypeError, ValueError) as e:
            raise ArtifactError(f"missing or bad field {e}", file=where, check="members") from None
        dims = self.manifest.get("dims", {})
        ok = (
            self.intent_w.shape == (dims.get("pooled"), len(self.intents))
            and self.intent_b.shape == (len(self.intents),)
            and self.slot_w.shape == (slot_feature_dim(self.slot_features, dims), len(self.tags))
            and self.slot_b.shape == (len(self.tags),)
            and self.patch_q.dtype == np.int8
            and self.patch_q.shape == (len(words), dims.get("emb"))
            and self.patch_s.shape == (len(words),)
            and self.intents[-1:] == [NONE]
            and self.slot_features in ("states", "context")
            and lexical_ok(self.lex_w, self.lex_s, len(self.tags))
        )
        n_int = len(self.intents)
        has = [a is not None for a in (self.intent_lex_w, self.intent_lex_s, self.intent_lex_b)]
        ok = ok and (
            not any(has)
            or (
                all(has)
                and self.intent_lex_w.dtype == np.int8
                and self.intent_lex_w.shape == (BUCKETS, n_int)  # intent_ids hashes into BUCKETS rows
                and self.intent_lex_s.shape == (n_int,)
                and self.intent_lex_b.shape == (n_int,)
            )
        )
        if not ok:
            raise ArtifactError("weights do not match the label maps or dimensions", file=where, check="dims")
        if self.intent_lex_w is not None and self.intent_lexical != INTENT_TEMPLATES:
            raise ArtifactError(
                f"intent feature templates {self.intent_lexical!r}, this runtime computes {INTENT_TEMPLATES!r}",
                file=where,
                check="lexical",
            )
        self.gazetteer = None  # the built-in gazetteer, for a skill whose lexical features include it
        if self.lex_w is not None and self.lexical != TEMPLATES:
            wanted = TEMPLATES
            if isinstance(self.lexical, str) and self.lexical.startswith(TEMPLATES + ",gz@"):
                from edge_nlu.runtime.gazetteer import gazetteer, gazetteer_templates

                try:
                    wanted = gazetteer_templates()
                    self.gazetteer = gazetteer()
                except (OSError, ValueError, KeyError) as e:  # the package's own file: a broken install
                    raise ArtifactError(
                        f"needs the built-in gazetteer, unreadable ({e.__class__.__name__}): reinstall edge-nlu",
                        file=where,
                        check="lexical",
                    ) from None
            if self.lexical != wanted:
                raise ArtifactError(
                    f"lexical feature templates {self.lexical!r}, this runtime computes {wanted!r}: recompile the "
                    "skill with this version (edge-nlu build-skill)",
                    file=where,
                    check="lexical",
                )
        self.patch: dict[str, int] = {w: i for i, w in enumerate(words)}
        self.transitions = np.where(bio_allowed(self.tags), 0.0, -1e9).astype(np.float32)
        if "transitions" in arrays:  # learned CRF transition scores (absent: softmax tagger, constraints only)
            learned = arrays["transitions"].astype(np.float32)
            if learned.shape != self.transitions.shape:
                raise ArtifactError("transitions do not match the tags", file=where, check="dims")
            self.transitions = self.transitions + learned
        self._into = np.ascontiguousarray(self.transitions[:-1].T)
        self.n_real = len(self.intents) - 1
        try:
            self.set_intent_slots(intent_slots)
        except (TypeError, ValueError) as e:
            raise ArtifactError(f"bad field intent_slots ({e})", file=where, check="members") from None
        if joint_weight is not None and not is_weight(joint_weight):
            raise ArtifactError(f"bad field joint_weight ({joint_weight!r})", file=where, check="members")
        # the weight of joint decoding a parse uses by default (None: off; see JOINT_CANDIDATES)
        self.joint_weight: float | None = None if joint_weight is None else float(joint_weight)
        self._resolvers: dict = {}
        self._catalog: dict | None = None

    # -- heads -----------------------------------------------------------------------------------------------
    def intent_probs(self, pooled: np.ndarray, ids: list[int] | None = None) -> np.ndarray:
        """Calibrated probabilities over this skill's intents + NONE (last), for [B, 4H] pooled vectors; ``ids``:
        the utterance's intent n-gram buckets (:func:`~edge_nlu.runtime.lexical.intent_ids`), added as the
        lexical intent expert's scores when the skill has one (one utterance: B = 1)."""
        z = (pooled @ self.intent_w + self.intent_b) / self.temperature
        if ids is not None and self.intent_lex_w is not None:
            z = z + self.intent_lexical_scores(ids)
        return np.exp(log_softmax(z))

    def intent_lexical_scores(self, ids: list[int]) -> np.ndarray:
        """The lexical intent expert's scores [n_intents] (for a skill that has one)."""
        return intent_emissions(ids, self.intent_lex_w, self.intent_lex_s, self.intent_lex_b)

    def uses_patch(self, words: list[tuple[str, int, int]]) -> bool:
        """Whether one of ``words`` has a row in this skill's embedding patch (then the encoder input differs)."""
        return bool(self.patch) and any(word_key(w) in self.patch for w, _, _ in words)

    @property
    def encoder_form(self) -> str | None:
        """How the skill ships its own slot encoder: "full" (an int8 graph), "delta" (a low-rank delta of the
        base's weights) or None (it reads the base's states)."""
        return self._encoder_form

    @property
    def has_encoder(self) -> bool:
        """Whether the skill carries its own fine-tuned encoder for its slot head (else it reads the base's)."""
        return self._encoder_form is not None

    def slot_states(self, base: Base, seq: Sequence, emb: np.ndarray | None = None) -> np.ndarray:
        """Per-piece states [T, 2H] of ``seq`` from the skill's own encoder (a copy of the base's, fine-tuned on the
        skill's utterances at compile time); ``emb``: ``seq``'s embeddings when the caller has them. Only the slot
        head reads them: intents are scored on the base encoder's pooled vector, so routing compares every skill on
        the same features."""
        sess = self._encoder
        if sess is None:
            with self._encoder_lock:  # one session per skill, even when threads parse with it at once
                if self._encoder is None:
                    self._encoder = self._make_encoder(base)
                sess = self._encoder
        if emb is None:
            emb = base.embed(seq.ids, self.patch_q, self.patch_s)
        return sess.run(["states"], {"emb": emb[None], "case": seq.case[None]})[0][0]

    def _make_encoder(self, base: Base):
        from edge_nlu.runtime.base import encoder_session

        if self._delta_bytes is not None:
            where = f"{self.path}:encoder_delta.npz"
            sess = encoder_session(
                base.folder / "encoder.onnx", base.threads, where, arena=False, initializers=self._delta(base, where)
            )
        else:
            where = f"{self.path}:encoder.onnx"
            sess = encoder_session(self._encoder_bytes, base.threads, where, arena=False)
        width = sess.get_outputs()[0].shape[-1]
        if sess.get_outputs()[0].name != "states" or width != base.dims.get("states"):
            raise ArtifactError(
                f"encoder outputs {sess.get_outputs()[0].name} of width {width}, the base's states are "
                f"{base.dims.get('states')} wide",
                file=where,
                check="dims",
            )
        self._encoder_bytes = self._delta_bytes = None  # the session holds what it needs (290 KB less for a copy)
        return sess

    def _delta(self, base: Base, where: str) -> dict[str, np.ndarray]:
        """The base encoder's weights with this skill's low-rank delta added (edge_nlu.runtime.encoder_delta)."""
        from edge_nlu.runtime.encoder_delta import DeltaError, apply_delta, role_names

        try:
            delta = npz_arrays(self._delta_bytes)
        except Exception as e:
            raise ArtifactError(f"unreadable delta ({e.__class__.__name__})", file=where, check="members") from None
        try:
            # ArtifactError naming the base graph when it lacks one of the names
            weights = base.encoder_weights(list(role_names(delta).values()))
            return apply_delta(weights, delta)
        except DeltaError as e:
            raise ArtifactError(str(e), file=where, check="encoder_delta") from None
        except (ValueError, TypeError, IndexError) as e:  # e.g. a name that points at a tensor of another role
            raise ArtifactError(
                f"delta does not fit the base's weights ({e.__class__.__name__})", file=where, check="encoder_delta"
            ) from None

    def slot_input(self, base: Base, seq: Sequence, states: np.ndarray) -> np.ndarray:
        """Per-word input of the slot head [n_words, F] for a sequence the base encoded into ``states``
        (:func:`slot_features`); a skill with its own slot encoder reads its own states instead."""
        emb = None
        own = self._encoder_form is not None
        if self.slot_features == "context" or own:
            emb = base.embed(seq.ids, self.patch_q, self.patch_s)
        if own:
            states = self.slot_states(base, seq, emb)
        return slot_features(self.slot_features, states, seq.first, emb, seq.case)

    def slot_scores(self, feats: np.ndarray) -> np.ndarray:
        """The neural slot emissions [n_words, n_tags] of the slot head's input."""
        return feats @ self.slot_w + self.slot_b

    def set_intent_slots(self, intent_slots: dict[str, list[str]] | None) -> None:
        """Which slots each intent may carry, for joint decoding (None: any slot with any intent; an intent left
        out may carry any slot)."""
        self.intent_slots = intent_slots
        self._allowed: np.ndarray | None = None
        if intent_slots is None:
            return
        if not isinstance(intent_slots, dict) or not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in intent_slots.values()
        ):
            raise TypeError("expected {intent: [slot, ...]}")
        allowed = np.ones((self.n_real, len(self.tags)), dtype=bool)
        for i, name in enumerate(self.intents[: self.n_real]):
            if name in intent_slots:
                ok = set(intent_slots[name])
                allowed[i] = [t == "O" or t[2:] in ok for t in self.tags]
        self._allowed = allowed

    def emissions(self, feats: np.ndarray, words: list[str] | None = None) -> np.ndarray:
        """Per-word tag scores [n_words, n_tags]: the slot head's, plus the hashed lexical emissions of ``words``
        when the skill has them."""
        z = self.slot_scores(feats)
        if self.lex_w is not None and words is not None:
            z = z + lexical_emissions(words, self.lex_w, self.gazetteer, self.lex_s)
        # no log-softmax: it shifts all tags of a word equally, which no path comparison can see
        return z

    def decode(self, feats: np.ndarray, words: list[str] | None = None) -> list[str]:
        """BIO-valid Viterbi (with the learned CRF transitions when the skill has them) over per-word slot
        features [n_words, F], plus the hashed lexical emissions of ``words`` when the skill has them."""
        if len(feats) == 0:
            return []
        return [self.tags[j] for j in viterbi(self.emissions(feats, words), self.transitions, self._into)]

    def decode_joint(
        self, feats: np.ndarray, words: list[str] | None, probs: np.ndarray, weight: float
    ) -> tuple[int, list[str]]:
        """(intent index, tags) decoded together with weight ``weight`` (see ``JOINT_CANDIDATES``); ``probs``: the
        real intents' probabilities. Without intent_slots, or when the best intent allows the best path, this is
        ``(argmax, decode(...))``."""
        j = int(probs.argmax())
        if len(feats) == 0:
            return j, []
        z = self.emissions(feats, words)
        path, v_all = viterbi_scored(z, self.transitions, self._into)
        allowed = self._allowed
        if allowed is None or allowed[j][path].all():
            return j, [self.tags[t] for t in path]
        best: tuple[float, int, list[int]] = (-np.inf, j, path)
        for i in np.argsort(-probs, kind="stable")[: JOINT_CANDIDATES if weight > 0 else 1]:
            i = int(i)
            if allowed[i][path].all():
                p_i, v_i = path, v_all
            else:  # the tags of the slots i cannot have are ruled out (O always remains, so a path exists)
                p_i, v_i = viterbi_scored(np.where(allowed[i], z, np.float32(-1e4)), self.transitions, self._into)
            score = float(np.log(max(float(probs[i]), 1e-30))) + weight * (v_i - v_all)
            if score > best[0]:
                best = (score, i, p_i)
        return best[1], [self.tags[t] for t in best[2]]

    def resolve(self, slot: str, value: str) -> dict | None:
        """Canonical value and id of a slot value: built-in types (numbers, dates, times, durations) resolve to
        their normal form first; otherwise, or when that fails, the skill's catalog (values, synonyms, ids)."""
        from edge_nlu.runtime.resolve import CatalogResolver, resolve_builtin

        info = self.slot_types.get(slot) or {}
        if info.get("builtin"):
            hit = resolve_builtin(info["builtin"], value)
            if hit is not None:
                return hit
        tname = info.get("type", slot)
        if tname not in self._resolvers:
            self._resolvers[tname] = self._catalog_resolver(tname, CatalogResolver)
        res = self._resolvers[tname]
        if res is not None:
            hit = res.resolve(value)
            if hit is not None:
                return hit
        return None

    def _catalog_resolver(self, tname: str, cls):
        """The resolver of one slot type's catalog. Close (fuzzy) matches only where the catalog allows them:
        curated catalogs (entries with synonyms or ids); a list of values merely seen in training is matched
        exactly (normalised), which keeps parsing fast and avoids resolving new values to old ones."""
        if self._catalog is None:
            try:
                self._catalog = json.loads(self._catalog_bytes)
            except ValueError:
                raise ArtifactError("catalog.json is not valid JSON", file=str(self.path), check="catalog") from None
            self._catalog_bytes = b""
        data = self._catalog.get(tname) if isinstance(self._catalog, dict) else None
        if not isinstance(data, dict):
            return None
        values = data.get("values") or []
        curated = any(isinstance(v, dict) and (v.get("synonyms") or v.get("id")) for v in values)
        res = cls.from_dict({**data, "fuzzy": bool(data.get("fuzzy", True)) and curated})
        self._catalog.pop(tname, None)  # the resolver holds what it needs
        return res

    def nbytes(self) -> int:
        arrays = [self.intent_w, self.intent_b, self.slot_w, self.slot_b, self.patch_q, self.patch_s]
        extra = [
            a
            for a in (self.lex_w, self.lex_s, self.intent_lex_w, self.intent_lex_s, self.intent_lex_b)
            if a is not None
        ]
        return sum(a.nbytes for a in arrays + extra) + len(self._encoder_bytes or b"") + len(self._delta_bytes or b"")
