"""The device-side NLU: one shared base, many skills (loaded on first use, LRU-capped), routing and resolution."""

from __future__ import annotations

import logging
import operator
import re
import threading
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_nlu.errors import ArtifactError, EdgeNLUError, InputError, UnknownSkillError
from edge_nlu.limits import MAX_CHARS
from edge_nlu.result import Alternative, ParseResult, Slot
from edge_nlu.runtime.artifacts import read_json_file
from edge_nlu.runtime.base import Base, Tokens
from edge_nlu.runtime.lexical import BUCKETS, intent_emissions, intent_ids
from edge_nlu.runtime.skill import Skill, is_weight
from edge_nlu.runtime.store import SkillStore, check_name, user_home
from edge_nlu.words import bio_to_spans, split_words, word_key

log = logging.getLogger(__name__)

LAUNCH = "LaunchRequest"
_CARRIER = re.compile(
    r"^\s*(?:(?:please|hey|ok|okay)\s+)?(?:ask|tell|open|launch|start|use|run|load|talk\s+to|begin|play)\s+(?:the\s+)?",
    re.IGNORECASE,
)
_JOIN = re.compile(r"^\s*(?:to|for|about|that|if|whether|and|,)?\s*", re.IGNORECASE)


class _Router:
    """Every candidate skill's intent head stacked into one matrix: routing is one matmul, whatever the count.

    Kept apart from the LRU of loaded skills, so routing over hundreds of enabled skills never reloads them.
    """

    def __init__(self, skills: list[Skill]) -> None:
        self.names = [sk.name for sk in skills]
        self.w = np.concatenate([sk.intent_w for sk in skills], axis=1)
        self.b = np.concatenate([sk.intent_b for sk in skills])
        self.inv_t = np.concatenate([np.full(len(sk.intents), 1.0 / sk.temperature, np.float32) for sk in skills])
        sizes = [len(sk.intents) for sk in skills]
        self.starts = np.cumsum([0] + sizes[:-1])
        self.stops = self.starts + np.asarray(sizes)
        self.is_none = np.zeros(len(self.b), dtype=bool)
        self.is_none[self.stops - 1] = True
        # lexical intent experts, stacked the same way (zero columns for skills without one)
        self.lex_w = self.lex_s = self.lex_b = None
        if any(sk.intent_lex_w is not None for sk in skills):  # (Skill checked each table's shape at load)
            has = [sk.intent_lex_w is not None for sk in skills]
            self.lex_w = np.concatenate(
                [sk.intent_lex_w if h else np.zeros((BUCKETS, k), np.int8) for sk, h, k in zip(skills, has, sizes)], 1
            )
            self.lex_s = np.concatenate(
                [sk.intent_lex_s if h else np.zeros(k, np.float32) for sk, h, k in zip(skills, has, sizes)]
            )
            self.lex_b = np.concatenate(
                [sk.intent_lex_b if h else np.zeros(k, np.float32) for sk, h, k in zip(skills, has, sizes)]
            )

    def probs(self, pooled: np.ndarray, ids: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-column probabilities (softmax within each skill) and each skill's best in-skill probability;
        ``ids``: the utterance's intent n-gram buckets, for the skills' lexical intent experts."""
        z = (pooled @ self.w + self.b) * self.inv_t
        if ids is not None and self.lex_w is not None:
            z = z + intent_emissions(ids, self.lex_w, self.lex_s, self.lex_b)
        z = z - np.repeat(np.maximum.reduceat(z, self.starts), self.stops - self.starts)
        e = np.exp(z)
        p = e / np.repeat(np.add.reduceat(e, self.starts), self.stops - self.starts)
        best = np.maximum.reduceat(np.where(self.is_none, -1.0, p), self.starts)
        return p, best


@dataclass
class _Item:
    text: str
    tokens: Tokens
    skill: str | None  # forced by the caller or by an invocation name
    candidates: list[str]
    word_from: int  # words before this index are the invocation carrier phrase
    launch: bool = False


class NLU:
    """Parse utterances into skill, intent and slots. Create with :func:`edge_nlu.load`."""

    def __init__(
        self,
        model_dir: str | Path,
        *,
        home: str | Path | None = None,
        threads: int = 1,
        max_resident: int = 32,
        verify: bool = True,
        joint_weight: float | str | None = "auto",
    ) -> None:
        threads, max_resident = _count("threads", threads), _count("max_resident", max_resident)
        if not (joint_weight is None or joint_weight == "auto" or is_weight(joint_weight)):
            raise ValueError(f'joint_weight must be "auto", None or a number >= 0, got {joint_weight!r}')
        # joint intent-slot decoding (edge_nlu.runtime.skill.JOINT_CANDIDATES): "auto" each skill's own weight,
        # None off, a number that weight for every skill that records its intents' slots
        self.joint_weight = joint_weight if joint_weight in (None, "auto") else float(joint_weight)
        model_dir = Path(model_dir)
        self.model_dir = model_dir
        self.base = Base(model_dir / "base", threads=threads, verify=verify)
        self.config = (
            read_json_file(model_dir / "config.json", "config") if (model_dir / "config.json").exists() else {}
        )
        _check_config(self.config, model_dir / "config.json")
        self.builtin = SkillStore(model_dir / "skills", writable=False)
        self.user = SkillStore(user_home() if home is None else Path(home), writable=True)
        self.user.folder = self.user.folder / self.base.base_id
        self.max_resident = max_resident
        self._cache: OrderedDict[str, Skill] = OrderedDict()
        self._lock = threading.RLock()
        self._routers: OrderedDict[tuple[str, ...], _Router] = OrderedDict()
        self.threshold = float(self.base.routing.get("threshold", 0.5))
        if self.user.folder.is_dir():  # temporary files of an install that was killed half-way
            with self.user.lock():
                self.user.cleanup_temp()
        self._refresh()

    # -- skills --------------------------------------------------------------------------------------------
    def _refresh(self) -> None:
        with self._lock:
            paths = {n: self.builtin.path(n) for n in self.builtin.names()}
            paths.update({n: self.user.path(n) for n in self.user.names()})
            self._paths = paths
            self._routers = OrderedDict()
            state = self.user.read_state()
            enabled = set(self.config.get("enabled", list(self.builtin.names())))
            enabled |= set(self.user.names())
            enabled |= set(state.get("enabled", []))
            enabled -= set(state.get("disabled", []))
            self._enabled = sorted(n for n in enabled if n in paths)
            self._warned_none_enabled = False
            # invocation name -> skill, as word keys (case, Unicode form and invisible characters do not matter)
            invocations: dict[tuple[str, ...], str] = {}
            for n, inv in {**self.config.get("invocations", {}), **state.get("invocations", {})}.items():
                if n in paths and inv:
                    key = tuple(word_key(w) for w, _, _ in split_words(inv))
                    if key:
                        invocations[key] = n
            self._invocations = invocations
            # the lengths to try, longest first ("pizza palace deluxe" wins over "pizza palace"): a parse does one
            # dict lookup per length, not one comparison per installed invocation
            self._inv_lengths = sorted({len(k) for k in invocations}, reverse=True)

    @property
    def skills(self) -> list[str]:
        """Names of every available skill (embedded default and user store)."""
        return sorted(self._paths)

    @property
    def enabled_skills(self) -> list[str]:
        """Skills that content-based routing considers when no skill is given."""
        return list(self._enabled)

    def skill(self, name: str) -> Skill:
        """The loaded skill ``name`` (loads it on first use; evicts the least recently used past the cap)."""
        with self._lock:
            sk = self._cache.get(name)
            if sk is not None:
                self._cache.move_to_end(name)
                return sk
            path = self._paths.get(name)
            if path is None:
                raise UnknownSkillError(f"unknown skill {name!r} (installed: {', '.join(self.skills) or 'none'})")
            sk = Skill(path, self.base.manifest)
            self._cache[name] = sk
            while len(self._cache) > self.max_resident:
                self._cache.popitem(last=False)
            return sk

    def install_skill(self, path: str | Path, name: str | None = None, enable: bool = True) -> str:
        """Verify a skill file against this base and install it (atomically) into the user store."""
        path = Path(path)
        manifest = Skill(path, self.base.manifest).manifest  # everything a parse would check, once, now
        name = check_name(name or manifest.get("name") or path.stem)
        data = path.read_bytes()
        if name in self.builtin.names():
            log.warning("skill %r from %s replaces the embedded skill of that name in this user store", name, path)
        with self._lock, self.user.lock():
            self.user.install_bytes(name, data)
            state = self.user.read_state()
            inv = manifest.get("invocation_name")
            if enable:
                state["enabled"] = sorted(set(state.get("enabled", [])) | {name})
                state["disabled"] = [n for n in state.get("disabled", []) if n != name]
            if inv:
                state.setdefault("invocations", {})[name] = inv
            self.user.write_state(state)
            self._cache.pop(name, None)
            self._refresh()
        log.info("installed skill %s from %s", name, path)
        return name

    def remove_skill(self, name: str) -> None:
        """Remove a user-installed skill (skills of the embedded default can only be disabled)."""
        with self._lock, self.user.lock():
            if name not in self.user.names():
                if name in self.builtin.names():  # (not _paths: another process may have removed a user skill)
                    raise EdgeNLUError(
                        f"skill {name!r} is part of the read-only model: disable it instead "
                        "(NLU.set_enabled(name, False), or 'edge-nlu skills disable')"
                    )
                raise UnknownSkillError(f"unknown skill {name!r}")
            self.user.remove(name)
            state = self.user.read_state()
            state["enabled"] = [n for n in state.get("enabled", []) if n != name]
            state.get("invocations", {}).pop(name, None)
            self.user.write_state(state)
            self._cache.pop(name, None)
            self._refresh()

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Enable or disable a skill for content-based routing (kept in the user store)."""
        if name not in self._paths:
            raise UnknownSkillError(f"unknown skill {name!r}")
        with self._lock, self.user.lock():
            state = self.user.read_state()
            on, off = set(state.get("enabled", [])), set(state.get("disabled", []))
            (on.add if enabled else on.discard)(name)
            (off.discard if enabled else off.add)(name)
            state["enabled"], state["disabled"] = sorted(on), sorted(off)
            self.user.write_state(state)
            self._refresh()

    # -- parsing -------------------------------------------------------------------------------------------
    def parse(
        self, text: str, skill: str | None = None, n_best: int = 1, skills: Collection[str] | None = None
    ) -> ParseResult:
        """Parse one utterance. ``skill`` forces a skill; ``skills`` limits routing to a set (not both).

        Raises :class:`InputError` for text that is not a string or is over ``MAX_CHARS``, ``n_best`` < 1, or a
        ``skills`` that is empty or a plain string, :class:`UnknownSkillError` for a name not installed."""
        return self.parse_batch([text], skill=skill, n_best=n_best, skills=skills)[0]

    def parse_batch(
        self,
        texts: Sequence[str],
        skill: str | None = None,
        n_best: int = 1,
        skills: Collection[str] | None = None,
    ) -> list[ParseResult]:
        """Parse many utterances; each result is identical to ``parse`` of the same text."""
        if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
            raise InputError(f"parse_batch takes a list of strings, not {type(texts).__name__}")
        n_best = _count("n_best", n_best)
        if skill is not None and skills is not None:
            raise InputError("give skill (force one skill) or skills (route among a set), not both")
        if skill is not None:
            if not isinstance(skill, str):
                raise InputError(f"skill must be a skill name, not {type(skill).__name__}")
            self.skill(skill)  # unknown skill: clear error before any work
        cands = None
        if skills is not None:
            if isinstance(skills, (str, bytes)) or not isinstance(skills, Collection):
                raise InputError(f"skills must be a list of skill names, not {type(skills).__name__}")
            if not all(isinstance(n, str) for n in skills):
                raise InputError("skills must be a list of skill names (strings)")
            # a name given twice is routed once; a set has no order of its own, so it is sorted (stable n-best ties)
            cands = list(dict.fromkeys(skills)) if isinstance(skills, Sequence) else sorted(skills)
            if not cands:
                raise InputError("skills is empty: name at least one skill (or pass None for the enabled skills)")
            for s in cands:
                if s not in self._paths:
                    raise UnknownSkillError(f"unknown skill {s!r}")
        elif skill is None and not self._enabled and not self._warned_none_enabled:
            self._warned_none_enabled = True  # once per change of the enabled set, not once per utterance
            log.warning("no skill is enabled: every utterance without a skill is out of scope")
        items = [self._prepare(t, skill, cands) for t in texts]
        results: list[ParseResult] = []
        for it in items:
            if not it.tokens.words[it.word_from :] or it.launch or not it.candidates:
                results.append(self._trivial(it))
                continue
            # one utterance per encoder call: the int8 LSTM quantizes activations per call, so batching would
            # make a result depend on its batch neighbours (and a batch of one is already ~0.2 ms); with one skill
            # (given, or named by its invocation) the encoder reads its patch rows at once instead of a second call
            sk = self.skill(it.candidates[0]) if len(it.candidates) == 1 else None
            seq, states, pooled = self._encode(it, sk)
            results.append(self._finish(it, seq, states, pooled, n_best))
        return results

    def _encode(self, it: _Item, sk: Skill | None = None):
        """(sequence, states [T, 2H], pooled [4H]) of the item's words, through ``sk``'s patch rows when one of its
        patch words occurs (else the plain sequence, the same for every skill)."""
        if sk is None or not sk.uses_patch(it.tokens.words[it.word_from :]):
            seq = self.base.sequence(it.tokens, it.word_from)
            st, po = self.base.run([seq])
        else:
            seq = self.base.sequence(it.tokens, it.word_from, sk.patch)
            st, po = self.base.run([seq], sk.patch_q, sk.patch_s)
        return seq, st[0], po[0]

    def _prepare(self, text: str, skill: str | None, cands: list[str] | None) -> _Item:
        if not isinstance(text, str):
            raise InputError(f"an utterance must be a string, not {type(text).__name__}")
        if len(text) > MAX_CHARS:
            raise InputError(f"utterance is {len(text)} characters; the limit is {MAX_CHARS}")
        tokens = self.base.tokenize(text)
        word_from, launch = 0, False
        if skill is None and cands is None and self._invocations:
            m = _CARRIER.match(text)
            if m:
                words = tokens.words
                k0 = next((i for i, (_, s, _) in enumerate(words) if s >= m.end()), len(words))
                keys = tuple(word_key(w) for w, _, _ in words[k0 : k0 + self._inv_lengths[0]])
                for n in self._inv_lengths:
                    name = self._invocations.get(keys[:n]) if n <= len(keys) else None
                    if name is not None:
                        j = words[k0 + n - 1][2]  # offsets from the words: nothing lower-cased shifts them
                        j += _JOIN.match(text[j:]).end()
                        word_from = sum(1 for _, s, _ in tokens.words if s < j)
                        skill = name
                        # "open pizza palace" (and "open pizza palace." / "…?"): nothing left but punctuation
                        launch = all(not any(c.isalnum() for c in w) for w, _, _ in tokens.words[word_from:])
                        break
        candidates = [skill] if skill else (cands if cands is not None else self._enabled)
        return _Item(text, tokens, skill, candidates, word_from, launch)

    def _trivial(self, it: _Item) -> ParseResult:
        if it.launch:
            return ParseResult(
                it.text, it.skill, LAUNCH, 1.0, [], [Alternative(it.skill, LAUNCH, 1.0)], False, it.tokens.truncated
            )
        # nothing to parse (empty input, or no skill to route to): out of scope, with no in-scope probability
        return ParseResult(it.text, None, None, 1.0, [], [], True, it.tokens.truncated)

    def _router(self, names: list[str]) -> _Router:
        with self._lock:
            # a candidate removed by another thread since _prepare picked it is no longer routed to
            key = tuple(n for n in names if n in self._paths) or tuple(names)
            r = self._routers.get(key)
            if r is None:
                r = self._routers[key] = _Router([self.skill(n) for n in key])
                r.names = list(key)  # installed names: a skill installed under another name keeps its own inside
                while len(self._routers) > 8:
                    self._routers.popitem(last=False)
            else:
                self._routers.move_to_end(key)
            return r

    def _finish(self, it: _Item, seq, states: np.ndarray, pooled: np.ndarray, n_best: int) -> ParseResult:
        # (in-skill probability, skill, that skill's probabilities incl. NONE), best first
        said = [w for w, _, _ in it.tokens.words[it.word_from :]]
        if len(it.candidates) == 1:  # skill given: its own head (the stacked router costs ~4x more for one skill)
            sk = self.skill(it.candidates[0])
            ids = intent_ids(said) if sk.intent_lex_w is not None else None
            pr = sk.intent_probs(pooled[None], ids)[0]
            scored = [(float(pr[: sk.n_real].max()), it.candidates[0], pr)]
        else:
            router = self._router(it.candidates)
            ids = intent_ids(said) if router.lex_w is not None else None
            cols, best = router.probs(pooled, ids)
            order = np.argsort(-best, kind="stable")
            scored = [(float(best[k]), router.names[k], cols[router.starts[k] : router.stops[k]]) for k in order]
            sk = self.skill(scored[0][1])
        best_p, best_name, _ = scored[0]
        forced = it.skill is not None
        oos = not forced and best_p < self.threshold
        probs = scored[0][2]
        # routed: re-encode with the chosen skill's patch when one of its words occurs (one candidate: done already)
        if len(it.candidates) > 1 and sk.uses_patch(it.tokens.words[it.word_from :]):
            seq, states, pooled = self._encode(it, sk)
            probs = sk.intent_probs(pooled[None], ids)[0]  # ids is set whenever the chosen skill has an expert
        real = probs[: sk.n_real]
        if forced:
            real = real / max(real.sum(), 1e-9)
        alts = []
        for _, name, pr in scored[:n_best]:  # the n best intents come from at most n_best skills
            s2 = self.skill(name) if name != best_name else sk
            if name == best_name:  # the chosen skill's scores after its patch, so they agree with the result
                pr = probs
            r = pr[: s2.n_real] / max(pr[: s2.n_real].sum(), 1e-9) if forced else pr[: s2.n_real]
            for k in np.argsort(-r)[:n_best]:
                alts.append(Alternative(name, s2.intents[int(k)], float(r[int(k)])))
        alts.sort(key=lambda a: -a.confidence)
        alts = alts[:n_best]
        if oos:
            return ParseResult(it.text, None, None, float(1.0 - best_p), [], alts, True, it.tokens.truncated)
        words = it.tokens.words[it.word_from :]
        lex_words = said if sk.lex_w is not None else None  # only skills with lexical slot features
        feats = sk.slot_input(self.base, seq, states)
        weight = sk.joint_weight if self.joint_weight == "auto" else self.joint_weight
        if weight is None:
            j, tags = int(real.argmax()), sk.decode(feats, lex_words)
        else:
            j, tags = sk.decode_joint(feats, lex_words, real, weight)
            if alts and (alts[0].skill, alts[0].intent) != (best_name, sk.intents[j]):  # the slots moved the intent
                rest = [a for a in alts if (a.skill, a.intent) != (best_name, sk.intents[j])]
                alts = [Alternative(best_name, sk.intents[j], float(real[j])), *rest][: len(alts)]
        slots = [
            Slot(s.slot, s.value, s.start, s.end, sk.resolve(s.slot, s.value))
            for s in bio_to_spans(it.text, words, tags)
        ]
        return ParseResult(it.text, best_name, sk.intents[j], float(real[j]), slots, alts, False, it.tokens.truncated)


def _count(name: str, value: object) -> int:
    """A whole number >= 1 (any integer type, numpy's included; not a bool, a float or a string)."""
    if not isinstance(value, bool):
        try:
            n = operator.index(value)
        except TypeError:
            n = None
        if n is not None and n >= 1:
            return n
    raise InputError(f"{name} must be a whole number >= 1, not {value!r}")


def _check_config(config: object, where: Path) -> None:
    """config.json: ``enabled`` a list of skill names, ``invocations`` a {skill: phrase} object."""
    if not isinstance(config, dict):
        raise ArtifactError(f"{where}: must be a JSON object")
    enabled = config.get("enabled", [])
    if not isinstance(enabled, list) or not all(isinstance(n, str) for n in enabled):
        raise ArtifactError(f"{where}: 'enabled' must be a list of skill names, not {enabled!r}")
    inv = config.get("invocations", {})
    if not isinstance(inv, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in inv.items()):
        raise ArtifactError(f"{where}: 'invocations' must map skill names to phrases, not {inv!r}")


def load(path: str | Path | None = None, **kwargs) -> NLU:
    """Load a model folder (``base/``, ``skills/``, ``config.json``); None loads the embedded default."""
    if path is None:
        path = Path(__file__).resolve().parent.parent / "models" / "default"
        if not (path / "base").is_dir():
            raise EdgeNLUError(f"the embedded default model is missing from {path}; reinstall edge-nlu")
    path = Path(path)
    if not (path / "base").is_dir():
        raise EdgeNLUError(f"{path} is not an edge-nlu model folder (no base/ inside)")
    return NLU(path, **kwargs)
