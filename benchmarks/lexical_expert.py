"""Choose the lexical expert's weight on dev: ``python -m benchmarks.lexical_expert --model DIR [--set hwu64]``.

``DIR`` is a model *without* lexical experts (e.g. the default model as built). For each skill of the set, the
skill's neural slot scores on dev are computed once; a lexical-only CRF (``export.lexical_expert``) is trained on
the skill's train rows for each L2; dev slot F1 and exact match are reported for a range of weights (weight 0 =
the neural CRF alone). Intents are the neural head's (the expert changes slots only). Dev only: the test split is
for the accuracy benchmark of the model the chosen weight produces. Writes
``benchmarks/results/lexical_expert/lexical_expert.json``.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


from benchmarks._measure import write_json
from benchmarks.report import RESULTS_DIR, pct, run_meta
from edge_nlu.data import data_dir
from edge_nlu.definitions.jsonl import read_jsonl
from edge_nlu.definitions.model import SlotSpan, Utterance
from edge_nlu.metrics import evaluate
from edge_nlu.runtime.lexical import lexical_emissions
from edge_nlu.runtime.skill import log_softmax, viterbi
from edge_nlu.words import bio_to_spans

log = logging.getLogger("benchmarks.lexical_expert")
WEIGHTS = (0.0, 0.1, 0.3, 0.5, 1.0)


def neural_scores(nlu, name: str, rows: list[Utterance]) -> list[tuple]:
    """(gold row, words, predicted intent, neural log-softmax slot scores) per dev row, skill given."""
    sk = nlu.skill(name)
    out = []
    for u in rows:
        it = nlu._prepare(u.text, name, None)  # the runtime's own steps: parse(skill=name) without the expert
        words = it.tokens.words[it.word_from :]
        seq, states, pooled = nlu._encode(it, sk)
        intent = sk.intents[int(sk.intent_probs(pooled[None])[0][: sk.n_real].argmax())]
        z = sk.slot_scores(sk.slot_input(nlu.base, seq, states))
        out.append((u, words, intent, log_softmax(z)))
    return out


def decode(sk, scored: list[tuple], expert, weight: float) -> list[Utterance]:
    w, b, tr = expert
    preds = []
    for u, words, intent, em in scored:
        tags = []
        if len(em):
            e, t = em, sk.transitions
            if weight > 0:
                lex = lexical_emissions([x for x, _, _ in words], w)  # the runtime's sum over bucket rows
                e, t = em + weight * (lex + b), t + weight * tr
            tags = [sk.tags[j] for j in viterbi(e, t)]
        spans = [SlotSpan(s.slot, s.start, s.end, u.text[s.start : s.end]) for s in bio_to_spans(u.text, words, tags)]
        preds.append(Utterance(u.text, intent, spans, u.skill))
    return preds


def main(argv: list[str] | None = None) -> int:
    import edge_nlu
    from export.lexical_expert import fit_lexical_crf

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="a model without lexical experts")
    ap.add_argument("--set", default="hwu64")
    ap.add_argument("--l2", default="1e-4,1e-3", help="comma-separated L2 strengths")
    ap.add_argument("--out", default=str(RESULTS_DIR / "lexical_expert" / "lexical_expert.json"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    l2s = [float(x) for x in args.l2.split(",")]
    train = [u for u in read_jsonl(data_dir() / args.set / "train.jsonl") if u.intent]
    dev = [u for u in read_jsonl(data_dir() / args.set / "dev.jsonl") if u.intent]
    with tempfile.TemporaryDirectory() as home:
        nlu = edge_nlu.load(args.model, home=home)
        names = sorted({u.skill or args.set for u in dev} & set(nlu.skills))
        gold: list[Utterance] = []
        pred: dict[tuple[float, float], list[Utterance]] = {(l2, g): [] for l2 in l2s for g in WEIGHTS}
        for name in names:
            t0 = time.time()
            sk = nlu.skill(name)
            if sk.lex_w is not None:
                raise SystemExit(f"skill {name} already has lexical features: pass a model built without experts")
            scored = neural_scores(nlu, name, [u for u in dev if (u.skill or args.set) == name])
            gold += [s[0] for s in scored]
            rows = [u for u in train if (u.skill or args.set) == name]
            for l2 in l2s:
                expert = fit_lexical_crf(nlu.base, rows, sk.tags, l2=l2)
                for g in WEIGHTS:
                    pred[(l2, g)] += decode(sk, scored, expert, g)
            log.info("%s: %d dev rows, %d train rows, %.1f s", name, len(scored), len(rows), time.time() - t0)
    results = []
    for (l2, g), p in pred.items():
        m = evaluate(gold, p)
        results.append({"l2": l2, "weight": g, "slot_f1": pct(m["slot_f1"]), "exact_match": pct(m["exact_match"])})
    lines = [
        f"## Lexical CRF expert: weight chosen on {args.set} dev (skill given, n={len(gold)})",
        "",
        "| L2 | weight | slot F1 | exact match |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['l2']:g} | {r['weight']:g} | {r['slot_f1']} | {r['exact_match']} |" for r in results]
    rec = {
        "section": "lexical_expert",
        "title": "Lexical CRF expert (product of experts with the neural slot CRF)",
        "set": args.set,
        "n": len(gold),
        "results": results,
        "table_markdown": "\n".join(lines[2:]),
        "notes": (
            f"{args.set} dev, skill given; weight 0 = the neural CRF alone. Slot scores of the two CRFs add up "
            "(export.lexical_expert); intents are unchanged."
        ),
        **run_meta(argv, "benchmarks.lexical_expert"),
    }
    write_json(Path(args.out), rec)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
