"""Encoder kind vs accuracy, size and speed: ``python -m benchmarks.encoder [--kinds lstm:1,cnn:3,...]``.

Builds one student per encoder kind and data set (``--sets``, each its own one-skill build, the same config
otherwise: 16k shared pieces, 128-d embeddings, 256-wide states, ``--epochs``), scores the set's dev split (skill
given) with the device runtime, and times every dev parse (thread CPU time, one thread, after a warm-up pass). Writes
``benchmarks/results/encoder/encoder.json`` (section "encoder") for benchmarks/RESULTS.md.

Why: the student's encoder was a BiLSTM from the first build; this is the measurement behind keeping it (or not).
Dev splits only: the table chooses, the accuracy tables report.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.report import pct
from edge_nlu.data import data_dir
from edge_nlu.definitions.jsonl import read_jsonl
from edge_nlu.metrics import evaluate

OUT = Path(__file__).resolve().parent / "results" / "encoder"
log = logging.getLogger("benchmarks.encoder")


def parse_kinds(text: str) -> list[tuple[str, int]]:
    """``lstm:1,cnn:3`` -> [("lstm", 1), ("cnn", 3)] (a kind without ``:N`` gets 1 layer)."""
    from export.student import ENCODERS

    out = []
    for item in filter(None, text.split(",")):
        kind, _, layers = item.partition(":")
        if kind not in ENCODERS:
            raise SystemExit(f"--kinds: unknown encoder {kind!r} (one of {', '.join(ENCODERS)})")
        try:
            n = int(layers or 1)
        except ValueError:
            raise SystemExit(f"--kinds: {item!r}: the layer count must be a whole number") from None
        if n < 1:
            raise SystemExit(f"--kinds: {item!r}: at least one layer")
        out.append((kind, n))
    if not out:
        raise SystemExit("--kinds: name at least one encoder")
    return out


def config(kind: str, layers: int, dataset: str, args: argparse.Namespace) -> dict:
    vocab, emb, hidden = args.dims
    cfg = {
        "name": f"enc-{kind}{layers}-{dataset}",
        "sets": {dataset: None},
        "encoder": kind,
        "layers": layers,
        "vocab_size": vocab,
        "emb_dim": emb,
        "hidden": hidden,
        "negatives": 200,
        "seed": args.seed,
        "student": {"epochs": args.epochs},
        "threads": 1,
        "guard_points": args.guard_points,
    }
    if args.limit_per_skill:
        cfg["limit_per_skill"] = args.limit_per_skill
    return cfg


def _dims(text: str) -> tuple[int, int, int]:
    try:
        vocab, emb, hidden = (int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected VOCAB,EMB,HIDDEN (three whole numbers)") from None
    return vocab, emb, hidden


def build_one(cfg: dict, out: Path) -> float:
    """Build ``cfg`` into ``out`` unless a finished build of the same effective config is there; returns its
    seconds."""
    from export.build import build, effective_config

    report = out / "build_report.json"
    if report.is_file() and json.loads(report.read_text()).get("config") == effective_config(cfg):
        return json.loads(report.read_text())["total_seconds"]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    return build(cfg, out)["total_seconds"]


def score(out: Path, dataset: str) -> dict:
    """Dev scores (skill given) and per-parse wall time of the built model in ``out``."""
    from edge_nlu.runtime.nlu import load

    nlu = load(out, home=out / "_work" / "home")
    dev = read_jsonl(data_dir() / dataset / "dev.jsonl")
    skills = [u.skill or nlu.skills[0] for u in dev]  # each row parsed by its own skill (HWU64: one of 18)
    for u, sk in zip(dev, skills):  # warm-up: sessions, allocations, every skill loaded
        nlu.parse(u.text, skill=sk)
    ms, results = [], []
    for u, sk in zip(dev, skills):  # thread CPU time, as benchmarks.latency: wall time moves with the host's load
        t0 = time.thread_time_ns()
        results.append(nlu.parse(u.text, skill=sk))
        ms.append((time.thread_time_ns() - t0) / 1e6)
    m = evaluate(dev, [r.to_utterance() for r in results])
    rep = json.loads((out / "build_report.json").read_text())
    return {
        "intent_accuracy": pct(m["intent_accuracy"]),
        "slot_f1": pct(m["slot_f1"]),
        "exact_match": pct(m["exact_match"]),
        "n": len(dev),
        "parameters": rep["parameters"],
        "encoder_bytes": (out / "base" / "encoder.onnx").stat().st_size,
        "train_seconds": rep["stages"]["student_training"]["seconds"],
        "parse_ms_p50": round(float(np.median(ms)), 3),
        "parse_ms_p99": round(float(np.percentile(ms, 99)), 3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kinds", default="lstm:1,gru:1,cnn:3,transformer:2", help="KIND:LAYERS,... (first: reference)")
    ap.add_argument("--sets", default="snips,atis", help="data sets, each built on its own (dev split scored)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", default="runs/encoder", help="build folder (reused: a finished build is not redone)")
    ap.add_argument("--jobs", type=int, default=1, help="builds side by side (each uses one thread)")
    ap.add_argument("--dims", type=_dims, default=(16000, 128, 128), help="VOCAB,EMB,HIDDEN (states are 2 x HIDDEN)")
    ap.add_argument("--limit-per-skill", type=int, default=0, help="train rows per skill (0: all; for smoke runs)")
    ap.add_argument("--guard-points", type=float, default=0.3, help="the build's int8 guard (see export.build)")
    ap.add_argument("--out", default=str(OUT / "encoder.json"))
    ap.add_argument("--note", default="", help="text put under the table (e.g. the decision rule and its outcome)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    kinds = parse_kinds(args.kinds)
    sets = [s for s in args.sets.split(",") if s]
    for s in sets:
        if not (data_dir() / s / "dev.jsonl").is_file():
            raise SystemExit(f"--sets: no dev split for {s!r} under {data_dir()}")
    jobs = [(k, n, s) for k, n in kinds for s in sets]
    outs = {j: Path(args.work) / f"{j[0]}{j[1]}-{j[2]}-e{args.epochs}-s{args.seed}" for j in jobs}
    t0 = time.time()
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {j: pool.submit(build_one, config(*j, args), outs[j]) for j in jobs}
        for j, f in futures.items():
            log.info("built %s: %.0f s (%.0f s since start)", outs[j].name, f.result(), time.time() - t0)
    rows = []
    for k, n in kinds:
        row = {"encoder": k, "layers": n, "sets": {}}
        for s in sets:
            row["sets"][s] = score(outs[(k, n, s)], s)
        rows.append(row)
    head = "| encoder | layers | params | int8 encoder KB |"
    rule = "|---|---|---|---|"
    for s in sets:
        head += f" {s} dev intent / slot F1 / exact | {s} train s | {s} parse CPU ms p50 / p99 |"
        rule += "---|---|---|"
    lines = [head, rule]
    for r in rows:
        first = r["sets"][sets[0]]
        size = f"{first['parameters'] / 1e6:.2f}M | {first['encoder_bytes'] / 1e3:.0f}"
        line = f"| {r['encoder']} | {r['layers']} | {size} |"
        for s in sets:
            m = r["sets"][s]
            line += (
                f" {m['intent_accuracy']} / {m['slot_f1']} / {m['exact_match']} | {m['train_seconds']:.0f} |"
                f" {m['parse_ms_p50']} / {m['parse_ms_p99']} |"
            )
        lines.append(line)
    lines.append("")
    lines.append(
        f"Each cell: a one-skill build of that set alone ({args.dims[0]:,} shared pieces, {args.dims[1]}-d "
        f"embeddings, states 2x{args.dims[2]} wide, {args.epochs} epochs, seed {args.seed}, hard labels"
        + (f", {args.limit_per_skill} train rows" if args.limit_per_skill else "")
        + "), int8, scored on the set's dev split with the skill "
        "given; params: embeddings + encoder + heads of the first set's build. Parse: CPU ms per utterance (thread "
        "time), one thread, text to result. gru: onnxruntime has no int8 GRU, so its weights stay fp32."
        + (f" {args.note}" if args.note else "")
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = f"python -m benchmarks.encoder --kinds {args.kinds} --sets {args.sets} --epochs {args.epochs}"
    cmd += f" --seed {args.seed}" if args.seed else ""
    out.write_text(
        json.dumps(
            {
                "section": "encoder",
                "title": "Student encoder: BiLSTM vs BiGRU, CNN, transformer",
                "rows": rows,
                "command": cmd,
                "seconds": round(time.time() - t0, 1),
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "table_markdown": "\n".join(lines),
            },
            indent=1,
        )
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
