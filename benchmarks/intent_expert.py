"""Choose the lexical intent expert's weight on dev: ``python -m benchmarks.intent_expert --model DIR``.

``DIR`` is a built model *without* intent experts. The experts (``export.lexical_expert --kind intents``) are fitted
once per skill; for each weight, a copy of the model gets them, is re-calibrated (temperatures and routing threshold,
as the build does) and is scored on every data set's dev split: intent accuracy with the skill given, and routed
among the set's skills (in-scope accuracy and out-of-scope recall where the set has out-of-scope rows). Weight 0 is
the model as built, re-calibrated the same way. Dev only: test is for the accuracy benchmark of the chosen model.
Writes ``benchmarks/results/intent_expert/intent_expert.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from benchmarks._measure import write_json
from benchmarks.report import RESULTS_DIR, pct, run_meta
from edge_nlu.metrics import evaluate

log = logging.getLogger("benchmarks.intent_expert")
WEIGHTS = (0.0, 0.25, 0.5, 1.0)


def score_dev(model: Path, dev_by_set: dict, home: str) -> dict:
    """Per data set: dev intent accuracy with the skill given, and routed among the set's skills."""
    import edge_nlu

    nlu = edge_nlu.load(model, home=home, verify=False)
    out = {}
    for name, rows in dev_by_set.items():
        skills = sorted({u.skill for u in rows if u.skill} & set(nlu.skills))
        own = [u for u in rows if u.skill in skills]
        given = evaluate(own, [nlu.parse(u.text, skill=u.skill).to_utterance() for u in own])
        rec = {"given_intent_accuracy": pct(given["intent_accuracy"]), "n": len(rows)}
        if len(skills) > 1:
            routed = evaluate(rows, [nlu.parse(u.text, skills=skills).to_utterance() for u in rows])
            rec["routed_intent_accuracy"] = pct(routed["intent_accuracy"])
            if "oos_recall" in routed:
                rec["routed_in_scope_accuracy"] = pct(routed["in_scope_accuracy"])
                rec["routed_oos_recall"] = pct(routed["oos_recall"])
        out[name] = rec
    return out


def main(argv: list[str] | None = None) -> int:
    from edge_nlu.runtime.artifacts import read_skill
    from edge_nlu.runtime.base import Base
    from export.corpus import load_corpus
    from export.lexical_expert import add_intent_expert, fit_intent_expert, intent_negatives
    from quantize.guard import apply_calibration, calibrate

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="a built model without intent experts")
    ap.add_argument("--config", default="export/configs/default.json", help="the config the model was built from")
    ap.add_argument("--weights", default=",".join(str(w) for w in WEIGHTS))
    ap.add_argument("--out", default=str(RESULTS_DIR / "intent_expert" / "intent_expert.json"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    weights = [float(w) for w in args.weights.split(",")]
    cfg = json.loads(Path(args.config).read_text())
    corpus = load_corpus(cfg["sets"])
    model = Path(args.model)
    base = Base(model / "base")
    experts = {}
    t0 = time.time()
    for p in sorted((model / "skills").glob("*.skill")):
        _, members = read_skill(p, base.manifest)
        labels = json.loads(members["labels.json"])
        if labels.get("intent_lexical"):
            raise SystemExit(f"{p} already has an intent expert: pass a model built without them")
        rows = [u for u in corpus.train if u.skill == labels["name"] and u.intent]
        experts[p.name] = fit_intent_expert(base, rows, intent_negatives(corpus, labels["name"]), labels["intents"])
    fit_s = time.time() - t0
    log.info("fitted %d intent experts in %.0f s", len(experts), fit_s)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for w in weights:
            copy = Path(tmp) / f"w{w}"
            shutil.copytree(model, copy)
            if w > 0:
                for fname, ex in experts.items():
                    add_intent_expert(copy / "skills" / fname, base.manifest, ex, w)
            cal = calibrate(copy, corpus.dev_by_set, cfg.get("oos_recall_target", 0.6))
            apply_calibration(copy, cal)
            scores = score_dev(copy, corpus.dev_by_set, str(Path(tmp) / "home"))
            results.append({"weight": w, "threshold": cal["threshold"], "sets": scores})
            log.info("weight %g: threshold %.4f %s", w, cal["threshold"], json.dumps(scores))
            shutil.rmtree(copy)
    sets = list(corpus.dev_by_set)
    head = ["weight", "threshold"]
    for s in sets:
        head.append(f"{s} given")
        if "routed_intent_accuracy" in results[0]["sets"][s]:
            head.append(f"{s} routed")
            if "routed_oos_recall" in results[0]["sets"][s]:
                head[-1] = f"{s} routed in-scope / OOS recall"
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [f"{r['weight']:g}", f"{r['threshold']:.4f}"]
        for s in sets:
            x = r["sets"][s]
            cells.append(str(x["given_intent_accuracy"]))
            if "routed_in_scope_accuracy" in x:
                cells.append(f"{x['routed_in_scope_accuracy']} / {x['routed_oos_recall']}")
            elif "routed_intent_accuracy" in x:
                cells.append(str(x["routed_intent_accuracy"]))
        lines.append("| " + " | ".join(cells) + " |")
    rec = {
        "section": "intent_expert",
        "title": "Lexical intent expert: weight chosen on dev",
        "results": results,
        "fit_seconds": round(fit_s, 1),
        "table_markdown": "\n".join(lines),
        "notes": (
            "Dev splits; intent accuracy in percent. Each weight: the model's skills get the lexical intent expert "
            "(a logistic regression on hashed word unigrams and bigrams, export.lexical_expert --kind intents) "
            "scaled by the weight (every skill here; the shipped model gives SNIPS none), then the calibration stage "
            "is re-run (temperatures, and the routing threshold whose CLINC150 dev out-of-scope recall reaches 60% at "
            "the lower end of its 95% Wilson interval). Routed: among the data set's own skills."
        ),
        **run_meta(argv, "benchmarks.intent_expert"),
    }
    write_json(Path(args.out), rec)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
