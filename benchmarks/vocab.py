"""Shared vocabulary size vs accuracy and bytes: ``python -m benchmarks.vocab [--sizes 4000,8000,16000,30522]``.

Builds a SNIPS-only student per vocabulary size (same config otherwise, short schedule: ``--epochs``), evaluates
SNIPS test (skill given) with the device runtime, and records the int8 table's bytes. Writes
``benchmarks/results/vocab/vocab.json`` (section "vocab") for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from benchmarks.report import pct
from edge_nlu.data import data_dir
from edge_nlu.definitions.jsonl import read_jsonl
from edge_nlu.metrics import evaluate

OUT = Path(__file__).resolve().parent / "results" / "vocab"


def run(size: int, epochs: int, work: Path) -> dict:
    from edge_nlu.runtime.nlu import load
    from export.build import build

    out = work / f"vocab-{size}"
    cfg = {
        "name": f"vocab-{size}",
        "sets": {"snips": None},
        "vocab_size": size,
        "negatives": 200,
        "student": {"epochs": epochs},
        "threads": 1,
    }
    t0 = time.time()
    if not (out / "build_report.json").exists():
        build(cfg, out)
    seconds = time.time() - t0
    nlu = load(out, home=out / "_work" / "home")
    test = read_jsonl(data_dir() / "snips" / "test.jsonl")
    res = nlu.parse_batch([u.text for u in test], skill="snips")
    pred = [r.to_utterance() for r in res]
    m = evaluate(test, pred)
    base = out / "base"
    return {
        "vocab_size": nlu.base.scales.shape[0],
        "intent_accuracy": pct(m["intent_accuracy"]),
        "slot_f1": pct(m["slot_f1"]),
        "exact_match": pct(m["exact_match"]),
        "table_bytes": (base / "embeddings.npy").stat().st_size + (base / "scales.npy").stat().st_size,
        "tokenizer_bytes": (base / "tokenizer.json").stat().st_size,
        "build_seconds": round(seconds, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="4000,8000,16000,30522")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--work", default="runs/vocab")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    rows = [run(int(s), args.epochs, Path(args.work)) for s in args.sizes.split(",")]
    lines = [
        "| pieces | intent acc | slot F1 | exact | int8 table + scales | tokenizer.json | build s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['vocab_size']:,} | {r['intent_accuracy']} | {r['slot_f1']} | {r['exact_match']} | "
            f"{r['table_bytes'] / 1e6:.2f} MB | {r['tokenizer_bytes'] / 1e6:.2f} MB | {r['build_seconds']} |"
        )
    lines.append("")
    lines.append(
        f"SNIPS-only student, {args.epochs} epochs (a short schedule: compare rows with each other, not with "
        "the shipped model), SNIPS test with the skill given, int8."
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "vocab.json").write_text(
        json.dumps(
            {
                "section": "vocab",
                "title": "Shared vocabulary size",
                "rows": rows,
                "command": f"python -m benchmarks.vocab --sizes {args.sizes} --epochs {args.epochs}",
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "table_markdown": "\n".join(lines),
            },
            indent=1,
        )
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
