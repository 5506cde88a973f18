"""Joint intent-slot decoding, measured: ``python -m benchmarks.joint [--model DIR] [--atis-model DIR]``.

Without joint decoding a parse takes the intent classifier's argmax and decodes slots over all of the skill's tags,
so it can return intent A with a slot that only intent B ever has. With ``edge_nlu.load(..., joint_weight=W)`` a
skill that records which slots each intent may carry (labels.json ``intent_slots``, written by builds since
2026-12-04) decodes them together (``edge_nlu.runtime.skill.Skill.decode_joint``). This benchmark sets each skill's
sets itself, from its data set's train rows with the build's own function (``export.student.intent_slots_of``), in
two variants: ``strict`` (an intent may carry the slots its rows have: rule 41) and ``evidence`` (also the slots too
rare for their absence to tell, ``MIN_EXPECTED``: rule 42, what builds write). It parses SNIPS (skill given), HWU64
(given and routed) and, with ``--atis-model``, ATIS, dev and test, for W = none (off), 0, 0.5, 1, 2. Writes
``benchmarks/results/joint/joint.json``.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.report import RESULTS_DIR, pct, run_meta

log = logging.getLogger("benchmarks.joint")

WEIGHTS = (None, 0.0, 0.5, 1.0, 2.0)
VARIANTS = ("strict", "evidence")
DEFAULT_OUT = str(RESULTS_DIR / "joint" / "joint.json")
KEYS = ("intent_accuracy", "slot_f1", "exact_match")


@functools.cache  # every weight and split of a run asks again
def train_intent_slots(dataset: str, variant: str) -> dict[str, dict[str, list[str]]]:
    """skill -> intent -> allowed slots, from the data set's train rows (as a build of that set writes them)."""
    from edge_nlu.data import split_path
    from edge_nlu.definitions.jsonl import read_jsonl
    from export.student import MIN_EXPECTED, intent_slots_of

    rows = read_jsonl(split_path(dataset, "train"))
    me = MIN_EXPECTED if variant == "evidence" else None
    return {k: intent_slots_of([u for u in rows if u.skill == k], me) for k in sorted({u.skill for u in rows})}


def score(model: Path, dataset: str, split: str, routed: bool, variant: str, weight: float | None) -> dict:
    """Intent accuracy, slot F1 and exact match (percent) of one split parsed with ``weight``."""
    import edge_nlu
    from edge_nlu.data import split_path
    from edge_nlu.definitions.jsonl import read_jsonl
    from edge_nlu.metrics import evaluate_skills

    nlu = edge_nlu.load(model, joint_weight=weight)
    for name, d in train_intent_slots(dataset, variant).items():
        nlu.skill(name).set_intent_slots(d)
    gold = read_jsonl(split_path(dataset, split))
    skills = sorted({u.skill for u in gold})
    if routed:
        res = nlu.parse_batch([u.text for u in gold], skills=skills)
    else:
        res = [nlu.parse(u.text, skill=u.skill) for u in gold]
    m = evaluate_skills(gold, [r.to_utterance() for r in res])
    return {k: pct(m[k]) for k in KEYS}


def timing(model: Path, dataset: str, weights: tuple, repeats: int = 3) -> dict:
    """Per-parse wall ms (skill given, one thread) over the test split for each weight: p50, p99, mean. The weights'
    parses of each utterance are timed back to back, in turns, after a warm-up pass, so drift hits all alike."""
    import edge_nlu
    from edge_nlu.data import split_path
    from edge_nlu.definitions.jsonl import read_jsonl

    sets = train_intent_slots(dataset, "evidence")
    nlus = []
    for w in weights:
        nlu = edge_nlu.load(model, joint_weight=w)
        for name, d in sets.items():
            nlu.skill(name).set_intent_slots(d)
        nlus.append(nlu)
    gold = read_jsonl(split_path(dataset, "test"))
    for nlu in nlus:  # warm-up: sessions, caches
        for u in gold:
            nlu.parse(u.text, skill=u.skill)
    ms: list[list[float]] = [[] for _ in weights]
    for r in range(repeats):
        for u in gold:
            for k in range(len(nlus)):
                k = (k + r) % len(nlus)
                t0 = time.perf_counter()
                nlus[k].parse(u.text, skill=u.skill)
                ms[k].append(1000 * (time.perf_counter() - t0))
    out = {}
    for w, m in zip(weights, ms, strict=True):
        m.sort()
        out[str(w)] = {
            "p50": round(m[len(m) // 2], 3),
            "p99": round(m[int(0.99 * (len(m) - 1))], 3),
            "mean": round(sum(m) / len(m), 3),
            "n": len(m),
        }
    return out


def _cell(s: dict) -> str:
    return " / ".join(f"{s[k]:.2f}" for k in KEYS)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model folder for SNIPS and HWU64 (default: the embedded model)")
    ap.add_argument("--atis-model", default=None, help="a build of export/configs/atis.json (ATIS rows)")
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from benchmarks.design import DEFAULT_MODEL

    shipped = Path(args.model) if args.model else DEFAULT_MODEL
    runs = [(shipped, "snips", False), (shipped, "hwu64", False), (shipped, "hwu64", True)]
    if args.atis_model:
        runs.append((Path(args.atis_model), "atis", False))
    t0 = time.perf_counter()
    rows, table = [], []
    for model, dataset, routed in runs:
        for split in ("dev", "test"):
            for variant in VARIANTS:
                got = {str(w): score(model, dataset, split, routed, variant, w) for w in WEIGHTS}
                mode = "route" if routed else "given"
                rows.append({"set": dataset, "mode": mode, "split": split, "variant": variant, "scores": got})
                log.info("%s %s %s %s: %s", dataset, mode, split, variant, got)
                cells = " | ".join(map(_cell, got.values()))
                table.append(f"| {dataset} {mode} | {split} | {variant} | {cells} |")
    lat = {}
    for dataset in ("snips", "hwu64"):
        lat[dataset] = timing(shipped, dataset, (None, 0.5))
        log.info("%s parse ms: %s", dataset, lat[dataset])
    lat_table = [
        "",
        "| test set (skill given) | parse ms p50 / p99 / mean, off | W = 0.5 |",
        "|---|---|---|",
        *(
            f"| {k} | " + " | ".join(f"{t['p50']:.3f} / {t['p99']:.3f} / {t['mean']:.3f}" for t in v.values()) + " |"
            for k, v in lat.items()
        ),
    ]
    head = "| set | split | allowed slots | " + " | ".join("off" if w is None else f"W = {w:g}" for w in WEIGHTS) + " |"
    rec = {
        "section": "joint",
        "title": "Joint intent-slot decoding, dev and test",
        "weights": [w for w in WEIGHTS],
        "runs": rows,
        "seconds": round(time.perf_counter() - t0, 1),
        "latency_ms": lat,
        "table_markdown": "\n".join([head, "|---|---|---|" + "---|" * len(WEIGHTS), *table, *lat_table]),
        "notes": "",
        **run_meta(argv, "benchmarks.joint"),
    }
    out = Path(args.out)
    if out.exists():  # keep the hand-written notes of an earlier run (the decision record)
        rec["notes"] = json.loads(out.read_text()).get("notes", "")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rec, indent=1) + "\n")
    log.info("wrote %s in %.0f s", out, rec["seconds"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
