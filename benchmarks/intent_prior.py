"""Intent prior correction chosen by k-fold CV on train: ``python -m benchmarks.intent_prior --set atis``.

A skill trained on a skewed intent distribution (ATIS: 74% ``atis_flight``) may under-predict its rare intents. Post-hoc
logit adjustment moves each intent's bias by ``-tau * log(prior)`` (prior from the skill's training rows). Whether it
helps is a question for held-out rows the test set must not answer, and a 500-row dev split holds too few rare intents
to tell, so: the train split is cut into k folds (``random.Random(0)``), the data set's config is built on k-1 folds
with the held-out fold as its dev split, and every tau is scored on every held-out row (argmax, so the calibrated
temperature does not matter). Writes ``benchmarks/results/intent_prior/<set>.json``.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from benchmarks._measure import write_json
from benchmarks.report import RESULTS_DIR, run_meta
from edge_nlu.data import data_dir

log = logging.getLogger("benchmarks.intent_prior")
TAUS = (0.0, 0.25, 0.5, 0.75, 1.0)


def make_folds(root: Path, name: str, k: int, work: Path) -> list[Path]:
    """k data roots: each links the other data sets and holds ``name``'s train minus one fold, that fold as dev."""
    lines = (root / name / "train.jsonl").read_text().splitlines()
    order = list(range(len(lines)))
    random.Random(0).shuffle(order)
    roots = []
    for f in range(k):
        fold = work / f"fold{f}"
        (fold / name).mkdir(parents=True, exist_ok=True)
        for other in root.iterdir():
            if other.is_dir() and other.name != name and not (fold / other.name).exists():
                (fold / other.name).symlink_to(other.resolve())
        held = set(order[f::k])
        (fold / name / "train.jsonl").write_text("".join(x + "\n" for i, x in enumerate(lines) if i not in held))
        (fold / name / "dev.jsonl").write_text("".join(lines[i] + "\n" for i in sorted(held)))
        roots.append(fold)
    return roots


def build(config: Path, data: Path, out: Path) -> None:
    env = {**os.environ, "EDGE_NLU_DATA": str(data), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "export.build", "--config", str(config), "--out", str(out)]
    with open(out.with_suffix(".log"), "w") as logf:
        subprocess.run(cmd, env=env, check=True, stdout=logf, stderr=subprocess.STDOUT)


def score(model: Path, data: Path, name: str, taus: list[float]) -> dict[float, list[int]]:
    """For each tau: per held-out row, 1 if the adjusted argmax is the gold intent."""
    import edge_nlu
    from edge_nlu.definitions.jsonl import read_jsonl

    nlu = edge_nlu.load(model, home=str(model / "_home"), verify=False)
    train = read_jsonl(data / name / "train.jsonl")
    held = read_jsonl(data / name / "dev.jsonl")
    out: dict[float, list[int]] = {t: [] for t in taus}
    for skill in sorted({u.skill for u in held}):
        sk = nlu.skill(skill)
        counts = {i: 1.0 for i in sk.intents[:-1]}  # add-one: an intent with no training row keeps a finite bias
        for u in train:
            if u.skill == skill and u.intent in counts:
                counts[u.intent] += 1
        prior = np.array([counts[i] for i in sk.intents[:-1]])
        b0 = sk.intent_b.copy()
        for t in taus:
            sk.intent_b = b0.copy()
            sk.intent_b[:-1] -= t * np.log(prior / prior.sum())
            out[t] += [int(nlu.parse(u.text, skill=skill).intent == u.intent) for u in held if u.skill == skill]
        sk.intent_b = b0
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", default="atis")
    ap.add_argument("--config", help="build config (default: export/configs/<set>.json)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--taus", default=",".join(str(t) for t in TAUS))
    ap.add_argument("--jobs", type=int, default=2, help="fold builds run side by side (one thread each)")
    ap.add_argument("--work", help="folder for the fold data and models (default: a temporary folder)")
    ap.add_argument("--out", help="result JSON (default: benchmarks/results/intent_prior/<set>.json)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    taus = [float(t) for t in args.taus.split(",")]
    config = Path(args.config or f"export/configs/{args.set}.json")
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        roots = make_folds(data_dir(), args.set, args.folds, work)
        models = [work / f"model{f}" for f in range(args.folds)]
        todo = [(r, m) for r, m in zip(roots, models) if not (m / "build_report.json").exists()]
        log.info("building %d fold models (%d side by side) ...", len(todo), args.jobs)
        with ThreadPoolExecutor(args.jobs) as pool:
            for k, _ in enumerate(pool.map(lambda rm: build(config, *rm), todo)):
                log.info("fold model %d/%d built (%.0f s)", k + 1, len(todo), time.time() - t0)
        right: dict[float, list[int]] = {t: [] for t in taus}
        for r, m in zip(roots, models):
            for t, v in score(m, r, args.set, taus).items():
                right[t] += v
    n = len(right[taus[0]])
    acc = {t: 100.0 * sum(v) / n for t, v in right.items()}
    base = np.array(right[0.0]) if 0.0 in right else None
    lines = ["| tau | CV intent acc | rows gained − lost vs tau 0 |", "|---|---|---|"]
    for t in taus:
        diff = "–" if base is None or t == 0.0 else f"{int((np.array(right[t]) - base).sum()):+d}"
        lines.append(f"| {t:g} | {acc[t]:.2f} | {diff} |")
    rec = {
        "section": "intent_prior",
        "title": f"Intent prior correction: {args.folds}-fold CV on {args.set} train",
        "set": args.set,
        "n": n,
        "accuracy": {str(t): round(a, 2) for t, a in acc.items()},
        "seconds": round(time.time() - t0, 1),
        "table_markdown": "\n".join(lines),
        "notes": (
            f"{n} train rows of {args.set}, each scored by the model built without its fold ({config}); the skill's "
            "intent biases moved by -tau * log(prior of the intent in the fold model's training rows), argmax. "
            f"{round(time.time() - t0)} s."
        ),
        **run_meta(argv, "benchmarks.intent_prior"),
    }
    write_json(Path(args.out or RESULTS_DIR / "intent_prior" / f"{args.set}.json"), rec)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
