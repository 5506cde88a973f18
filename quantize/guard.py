"""Calibration (per-skill temperature, routing threshold) and the int8 accuracy guard, both on dev data.

The guard runs the real device runtime twice over the dev utterances (skill given): once with the fp32 encoder,
once with the int8 one. The build fails when int8 is more than ``points`` below fp32 in intent accuracy or slot F1.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort

from edge_nlu.metrics import evaluate
from edge_nlu.runtime.nlu import NLU
from edge_nlu.runtime.skill import log_softmax

log = logging.getLogger(__name__)


def _pooled(nlu: NLU, texts: list[str]) -> np.ndarray:
    return np.stack([nlu.base.run([nlu.base.sequence(nlu.base.tokenize(t))])[1][0] for t in texts])


def calibrate(model_dir: Path, dev, base_dir: Path) -> dict:
    """Temperature per skill (NLL on dev, own rows → intent, other rows → NONE) and the routing threshold."""
    nlu = NLU(model_dir, home=model_dir / "_work" / "home", verify=False)
    rows = [u for u in dev if u.skill in nlu.skills or u.skill is None]
    pooled = _pooled(nlu, [u.text for u in rows])
    temps: dict[str, float] = {}
    grid = np.exp(np.linspace(np.log(0.3), np.log(4.0), 40))
    scores = np.zeros((len(rows), len(nlu.skills)))
    correct = np.zeros((len(rows), len(nlu.skills)), dtype=bool)
    for k, name in enumerate(nlu.skills):
        sk = nlu.skill(name)
        z = pooled @ sk.intent_w + sk.intent_b
        target = np.array(
            [
                sk.intents.index(u.intent) if u.skill == name and u.intent in sk.intents else len(sk.intents) - 1
                for u in rows
            ]
        )
        nll = [-log_softmax(z / t)[np.arange(len(rows)), target].mean() for t in grid]
        t = float(grid[int(np.argmin(nll))])
        temps[name] = round(t, 4)
        p = np.exp(log_softmax(z / t))[:, : sk.n_real]
        scores[:, k] = p.max(1)
        correct[:, k] = [u.skill == name and sk.intents[int(j)] == u.intent for u, j in zip(rows, p.argmax(1))]
    best = scores.argmax(1)
    top = scores[np.arange(len(rows)), best]
    ok = correct[np.arange(len(rows)), best]
    is_oos = np.array([u.skill is None for u in rows])
    threshold = 0.5
    if is_oos.any():
        cands = np.unique(np.quantile(top, np.linspace(0.0, 0.6, 61)))
        # maximise in-scope accuracy + out-of-scope recall (each in 0..1) over thresholds
        vals = [((ok & (top >= c))[~is_oos].mean() + (top < c)[is_oos].mean(), c) for c in cands]
        threshold = float(max(vals)[1])
    log.info("calibration: threshold %.3f, temperatures %s", threshold, temps)
    return {"threshold": round(threshold, 4), "temperature": temps}


def _scores(nlu: NLU, dev) -> dict:
    rows = [u for u in dev if u.skill in nlu.skills]
    preds = []
    for u in rows:
        r = nlu.parse(u.text, skill=u.skill)
        from edge_nlu.definitions.model import SlotSpan, Utterance

        preds.append(Utterance(u.text, r.intent, [SlotSpan(s.slot, s.start, s.end, s.value) for s in r.slots], r.skill))
    m = evaluate(rows, preds)
    return {
        "intent_accuracy": round(100 * m["intent_accuracy"], 2),
        "slot_f1": round(100 * m["slot_f1"], 2),
        "exact_match": round(100 * m["exact_match"], 2),
        "n": len(rows),
    }


def guard(model_dir: Path, fp32_encoder: Path, dev, points: float = 0.3) -> dict:
    """Compare the int8 and fp32 encoders on dev with the device runtime; ``passed`` is the verdict."""
    nlu = NLU(model_dir, home=model_dir / "_work" / "home", verify=False)
    int8 = _scores(nlu, dev)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    nlu.base.session = ort.InferenceSession(str(fp32_encoder), opts, providers=["CPUExecutionProvider"])
    fp32 = _scores(nlu, dev)
    passed = all(int8[k] >= fp32[k] - points for k in ("intent_accuracy", "slot_f1"))
    log.info("int8 guard: int8 %s vs fp32 %s -> %s", int8, fp32, "passed" if passed else "FAILED")
    return {"int8": int8, "fp32": fp32, "max_drop_points": points, "passed": passed}
