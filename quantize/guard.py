"""Calibration (per-skill temperature, routing threshold) and the int8 accuracy guard, both on dev data.

The guard runs the real device runtime twice over the dev utterances (skill given): once with the fp32 encoder,
once with the int8 one. The build fails when int8 is more than ``points`` below fp32 in intent accuracy or slot F1.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort

from edge_nlu.metrics import evaluate, evaluate_skills
from edge_nlu.runtime.lexical import intent_ids
from edge_nlu.runtime.nlu import NLU
from edge_nlu.runtime.skill import log_softmax

log = logging.getLogger(__name__)


def _pooled(nlu: NLU, tokens: list) -> np.ndarray:
    return np.stack([nlu.base.run([nlu.base.sequence(t)])[1][0] for t in tokens])


def wilson_lower(hits: int, n: int, z: float) -> float:
    """Lower end of the Wilson score interval of a proportion (``z`` standard deviations)."""
    if n == 0:
        return 0.0
    p = hits / n
    centre = p + z * z / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float((centre - spread) / (1 + z * z / n))


def calibrate(
    model_dir: Path, dev_by_set: dict[str, list], oos_recall: float = 0.6, confidence_z: float = 1.645
) -> dict:
    """Temperature per skill (NLL on dev, own rows → intent, other rows → NONE) and the routing threshold.

    Each data set's dev rows are routed among that set's skills (how a device enables a coherent skill set, and how
    the benchmarks route). The threshold is the lowest one whose dev out-of-scope recall is at least ``oos_recall``
    with confidence: the lower end of its Wilson interval (``confidence_z``; 1.645: one-sided 95%) must reach the
    target, because CLINC150 dev has only 100 out-of-scope rows (a recall measured on them is ±5 points), and a
    threshold set to exactly the target on dev misses it on new data half the time. Every in-scope utterance it
    rejects is a miss, so reject no more than that (0 without out-of-scope rows).
    """
    nlu = NLU(model_dir, home=model_dir / "_work" / "home", verify=False)
    sets = {k: [u for u in v if u.skill in nlu.skills or u.skill is None] for k, v in dev_by_set.items()}
    rows = [u for v in sets.values() for u in v]
    group = np.concatenate([np.full(len(v), i) for i, v in enumerate(sets.values())]) if rows else np.zeros(0)
    tokens = [nlu.base.tokenize(u.text) for u in rows]
    pooled = _pooled(nlu, tokens)
    ids = [intent_ids([w for w, _, _ in t.words]) for t in tokens]
    temps: dict[str, float] = {}
    grid = np.exp(np.linspace(np.log(0.3), np.log(4.0), 40))
    scores = np.full((len(rows), len(nlu.skills)), -1.0)
    correct = np.zeros((len(rows), len(nlu.skills)), dtype=bool)
    for k, name in enumerate(nlu.skills):
        sk = nlu.skill(name)
        z = pooled @ sk.intent_w + sk.intent_b
        # the lexical intent expert's scores are added after the temperature, as the runtime does
        lex = np.stack([sk.intent_lexical_scores(i) for i in ids]) if sk.intent_lex_w is not None and ids else 0.0
        none = len(sk.intents) - 1
        target = np.array(
            [sk.intents.index(u.intent) if u.skill == name and u.intent in sk.intents else none for u in rows]
        )
        nll = [-log_softmax(z / t + lex)[np.arange(len(rows)), target].mean() for t in grid]
        t = float(grid[int(np.argmin(nll))])
        temps[name] = round(t, 4)
        p = np.exp(log_softmax(z / t + lex))[:, : sk.n_real]
        in_set = np.array([name in {u.skill for u in v} for v in sets.values()])[group.astype(int)]
        scores[:, k] = np.where(in_set, p.max(1), -1.0)
        correct[:, k] = [u.skill == name and sk.intents[int(j)] == u.intent for u, j in zip(rows, p.argmax(1))]
    best = scores.argmax(1)
    top = scores[np.arange(len(rows)), best]
    ok = correct[np.arange(len(rows)), best]
    is_oos = np.array([u.skill is None for u in rows], dtype=bool)
    threshold = 0.0
    if is_oos.any():
        oos_top = np.sort(top[is_oos])
        n = len(oos_top)
        k = next((k for k in range(1, n + 1) if wilson_lower(k, n, confidence_z) >= oos_recall), n)
        threshold = float(oos_top[k - 1]) + 1e-6  # rejects the k lowest-scoring out-of-scope rows
    in_acc = float((ok & (top >= threshold))[~is_oos].mean())
    rec = float((top < threshold)[is_oos].mean()) if is_oos.any() else None
    log.info("calibration: threshold %.4f (dev in-scope acc %.4f, OOS recall %s)", threshold, in_acc, rec)
    return {
        "threshold": round(threshold, 6),
        "temperature": temps,
        "dev_in_scope_accuracy": round(in_acc, 4),
        "dev_oos_recall": rec,
    }


def apply_calibration(model_dir: Path, cal: dict) -> None:
    """Write the routing threshold into the base manifest and each skill's temperature into its file.

    Neither changes the base id (a hash of tokenizer, embeddings and encoder), so skills stay compatible.
    """
    import json
    import os

    from edge_nlu.runtime.artifacts import rewrite_skill

    mpath = model_dir / "base" / "manifest.json"
    manifest = json.loads(mpath.read_text())
    manifest["routing"] = {"threshold": cal["threshold"]}
    tmp = mpath.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, mpath)

    def set_temperature(members: dict[str, bytes]) -> None:
        labels = json.loads(members["labels.json"])
        labels["temperature"] = cal["temperature"].get(labels["name"], labels.get("temperature", 1.0))
        members["labels.json"] = json.dumps(labels).encode()

    for path in sorted((model_dir / "skills").glob("*.skill")):
        rewrite_skill(path, manifest, set_temperature)


def _scores(nlu: NLU, dev) -> dict:
    rows = [u for u in dev if u.skill in nlu.skills]
    preds = [nlu.parse(u.text, skill=u.skill).to_utterance() for u in rows]
    return {**_pct(evaluate(rows, preds), ("intent_accuracy", "slot_f1", "exact_match")), "n": len(rows)}


def _pct(m: dict, keys: tuple[str, ...]) -> dict:
    """Those of ``m``'s scores as percentages with 2 decimals (None, an undefined score, stays None)."""
    return {k: None if m[k] is None else round(100 * m[k], 2) for k in keys if k in m}


def guard(model_dir: Path, fp32_encoder: Path, dev, points: float = 0.3) -> dict:
    """Compare the int8 and fp32 encoders on dev with the device runtime; ``passed`` is the verdict."""
    nlu = NLU(model_dir, home=model_dir / "_work" / "home", verify=False)
    int8 = _scores(nlu, dev)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    nlu.base.session = ort.InferenceSession(str(fp32_encoder), opts, providers=["CPUExecutionProvider"])
    fp32 = _scores(nlu, dev)
    # a score undefined on this dev set (no slots anywhere) has nothing to guard
    checked = [k for k in ("intent_accuracy", "slot_f1") if fp32[k] is not None and int8[k] is not None]
    passed = all(int8[k] >= fp32[k] - points for k in checked)
    if not checked:
        log.warning("int8 guard: no dev rows of these skills to compare on; nothing was checked")
    log.info("int8 guard: int8 %s vs fp32 %s -> %s", int8, fp32, "passed" if passed else "FAILED")
    return {"int8": int8, "fp32": fp32, "max_drop_points": points, "passed": passed}


def dev_scores(model_dir: Path, dev_by_set: dict[str, list]) -> dict[str, dict]:
    """Per data set, the finished model's dev scores in percent: ``given`` over the rows that name a skill, parsed
    with it (``edge-nlu eval`` without its routing of skill-less rows), and, for a set of several skills, ``routed``
    over every row, out-of-scope ones included, among the set's skills (``edge-nlu eval --route``)."""
    nlu = NLU(model_dir, home=model_dir / "_work" / "home", verify=False)
    out: dict[str, dict] = {}
    for name, rows in dev_by_set.items():
        rows = [u for u in rows if u.skill is None or u.skill in nlu.skills]
        skills = sorted({u.skill for u in rows if u.skill})
        if not rows or not skills:
            continue
        rec: dict[str, dict] = {}
        own = [u for u in rows if u.skill]
        if own:
            preds = [nlu.parse(u.text, skill=u.skill).to_utterance() for u in own]
            rec["given"] = _pct(evaluate(own, preds), ("intent_accuracy", "slot_f1", "exact_match"))
        if len(skills) > 1:
            pred = [nlu.parse(u.text, skills=skills).to_utterance() for u in rows]
            keys = ("intent_accuracy", "in_scope_accuracy", "oos_recall")
            rec["routed"] = _pct(evaluate_skills(rows, pred), keys)
        out[name] = rec
    return out
