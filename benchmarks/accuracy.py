"""Accuracy on the public sets: ``python -m benchmarks.accuracy --system S --set SET [--route] [--model DIR]``.

Trains on the train split (all skills) and evaluates a split (test by default):

- ``snips``, ``atis``: the skill given (one skill each).
- ``hwu64``: the skill given; with ``--route`` no skill is given and the system routes across its 18 skills
  (written as ``<system>__hwu64__route.json``).
- ``clinc150``: always routed across its 10 domain skills, with the out-of-scope rows (in_scope_accuracy,
  oos_recall, oos_precision reported).

Writes ``benchmarks/results/accuracy/<system>__<set>[__route].json`` (metrics in percent, 2 decimals) and regenerates
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.report import RESULTS_DIR, pct, regenerate, run_meta
from benchmarks.systems import SYSTEMS, SystemUnavailable, make_system
from edge_nlu.data import split_path
from edge_nlu.definitions.jsonl import read_jsonl
from edge_nlu.metrics import evaluate

SETS = ("snips", "atis", "hwu64", "clinc150")
ROUTED = {"clinc150"}  # always routed (out-of-scope rows have no skill)
METRIC_KEYS = (
    "intent_accuracy",
    "slot_precision",
    "slot_recall",
    "slot_f1",
    "exact_match",
    "in_scope_accuracy",
    "oos_recall",
    "oos_precision",
)


def result_name(system: str, dataset: str, route: bool) -> str:
    return f"{system}__{dataset}" + ("__route" if route and dataset not in ROUTED else "") + ".json"


def run(system: str, dataset: str, split: str = "test", route: bool = False, model: str | None = None) -> dict:
    """Train ``system`` on ``dataset``'s train split, parse ``split``, return the result record."""
    train = read_jsonl(split_path(dataset, "train"))
    gold = read_jsonl(split_path(dataset, split))
    routed = route or dataset in ROUTED
    sys_ = make_system(system, model)
    t0 = time.perf_counter()
    sys_.fit(train)
    fit_wall = time.perf_counter() - t0
    skills = [None if routed else u.skill for u in gold]
    t0 = time.perf_counter()
    pred = sys_.parse([u.text for u in gold], skills)
    parse_s = time.perf_counter() - t0
    r = evaluate(gold, pred)
    metrics = {k: pct(r[k]) for k in METRIC_KEYS if k in r}
    return {
        "kind": "accuracy",
        "system": system,
        "set": dataset,
        "split": split,
        "mode": "route" if routed else "skill_given",
        "n": r["n"],
        "n_train": len(train),
        "metrics": metrics,
        "per_slot_f1": {k: pct(v["f1"]) for k, v in r["per_slot"].items()},
        "train_seconds": round(sys_.train_seconds, 1),
        "fit_wall_seconds": round(fit_wall, 1),
        "parse_seconds": round(parse_s, 2),
        "parse_ms_per_utterance": round(1000 * parse_s / max(1, len(gold)), 3),
        "system_info": sys_.describe(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--system", required=True, choices=SYSTEMS)
    ap.add_argument("--set", required=True, choices=SETS, dest="dataset")
    ap.add_argument("--split", default="test")
    ap.add_argument("--route", action="store_true", help="give no skill: route across the set's skills")
    ap.add_argument("--model", help="edge-nlu model folder (default: the embedded default model)")
    ap.add_argument("--results", default=str(RESULTS_DIR), help="results root (default benchmarks/results)")
    ap.add_argument("--no-report", action="store_true", help="do not regenerate RESULTS.md")
    args = ap.parse_args(argv)
    try:
        rec = run(args.system, args.dataset, args.split, args.route, args.model)
    except SystemUnavailable as e:
        print(f"skipped: {e}", file=sys.stderr)
        return 2
    rec.update(run_meta(argv))
    out = Path(args.results) / "accuracy" / result_name(args.system, args.dataset, args.route)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rec, indent=1) + "\n")
    m = rec["metrics"]
    print(
        f"{args.system} {args.dataset}/{args.split} [{rec['mode']}] n={rec['n']} "
        + " ".join(f"{k}={v:.2f}" if v is not None else f"{k}=n/a" for k, v in m.items())
        + f" train_s={rec['train_seconds']} parse_s={rec['parse_seconds']} -> {out}"
    )
    if not args.no_report:
        regenerate(Path(args.results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
