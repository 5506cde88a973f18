"""The Snips 2017 few-shot protocol: ``python -m benchmarks.snips2017 --system S [--sizes ...] [--seeds ...]``.

Exactly the protocol of ``../shared/data/README.md``: for each of the 7 intents separately, draw N utterances from its
``train_full.jsonl`` with ``random.Random(seed).sample`` (N = 10, 20, 50, 70; seeds 0, 1, 2), train a one-intent
model (one skill named after the intent), parse the 100 ``validate.jsonl`` utterances with that skill given, and
score with :func:`edge_nlu.metrics.snips2017_slot_scores` (slot F1 averaged over the draws, weighted by gold slot
counts). Writes ``benchmarks/results/snips2017/<system>.json`` (scores in percent) after every size, so a long run can
be followed, and regenerates ``benchmarks/RESULTS.md`` at the end.

``--heldout K`` is for choosing a method without looking at the validate sets: the same draws, scored on K rows of
``train_full.jsonl`` that none of the draws took (fixed sample), written to ``snips2017_heldout/<system>.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from benchmarks.report import RESULTS_DIR, pct, regenerate, run_meta
from benchmarks.systems import SYSTEMS, SystemUnavailable, make_system
from edge_nlu.data import data_dir
from edge_nlu.definitions.jsonl import read_jsonl
from edge_nlu.definitions.model import Utterance
from edge_nlu.metrics import SNIPS2017_INTENTS, SNIPS2017_SIZES, snips2017_slot_scores

SEEDS = (0, 1, 2)


def draw(rows: list[Utterance], size: int, seed: int) -> list[Utterance]:
    """The protocol's draw: ``random.Random(seed).sample(rows, size)`` over the rows in file order."""
    return random.Random(seed).sample(rows, size)


def intent_files(intent: str, root: Path | None = None) -> tuple[Path, Path]:
    d = (root or data_dir()) / "snips2017" / intent
    return d / "train_full.jsonl", d / "validate.jsonl"


def _ints(s: str) -> list[int]:
    return [int(x) for x in s.split(",") if x.strip()]


def heldout_rows(pool: list[Utterance], size: int, seeds: list[int], k: int) -> list[Utterance]:
    """``k`` rows of ``pool`` that none of the seeds' draws of ``size`` took (a fixed sample: seed 12345)."""
    taken = {id(u) for seed in seeds for u in draw(pool, size, seed)}
    rest = [u for u in pool if id(u) not in taken]
    return random.Random(12345).sample(rest, min(k, len(rest)))


def _run_intent(job: tuple) -> tuple[dict, float, float]:
    """Train and score one intent at one size over the seeds: (per-intent record, train s, parse s)."""
    system, model, intent, size, seeds, heldout = job
    pool, gold = (read_jsonl(p) for p in intent_files(intent))
    if heldout:
        gold = heldout_rows(pool, size, seeds, heldout)
    preds, train_s, parse_s = [], 0.0, 0.0
    for seed in seeds:
        s = make_system(system, model, protocol=True)
        s.fit(draw(pool, size, seed))
        t0 = time.perf_counter()
        preds.append(s.parse([u.text for u in gold], [intent] * len(gold)))
        parse_s += time.perf_counter() - t0
        train_s += s.train_seconds
        del s
    sc = snips2017_slot_scores(gold, preds)
    res = {
        "score": pct(sc["score"]),
        "train_seconds": round(train_s, 2),
        "slots": {
            k: {
                "f1": pct(v["f1"]),
                "precision": pct(v["precision"]),
                "recall": pct(v["recall"]),
                "support": v["support"],
            }
            for k, v in sc["slots"].items()
        },
    }
    return res, train_s, parse_s


HELDOUT_TITLES = {
    "snips2017_heldout": "Snips 2017: compiled-skill variants on held-out rows",
    "snips2017_base": "Snips 2017: protocol base variants on held-out rows",
}


def _label(d: dict, stem: str) -> str:
    """A run's column label: its system, and its ``--tag`` (from the file name) unless that is the gazetteer's."""
    tag = stem[len(d["system"].split()[0]) + 1 :]
    return d["system"] + (f" [{tag}]" if tag and tag != "gazetteer" else "")


def heldout_section(folder: Path, section: str | None = None) -> dict:
    """The report's plug-in section for the held-out runs in ``folder`` (named for the folder where that is one of
    ``HELDOUT_TITLES``): per intent and size, each variant's score, then the folder's ``notes.md`` (the decisions
    taken on those runs), so re-running a variant rewrites the table without losing them."""
    recs = []
    for p in sorted(folder.glob("*.json")):
        d = json.loads(p.read_text())
        if d.get("kind") == "snips2017_heldout":
            d["label"] = _label(d, p.stem)
            recs.append(d)
    recs.sort(key=lambda d: (d["system"], d["label"] != d["system"], d.get("date", "")))  # system, then its variants
    cols = [(d, size) for d in recs for size in d["by_size"]]
    head = ["intent", *[f"{d['label']} N={size}" for d, size in cols]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    intents = recs[0]["intents"] if recs else []
    for intent in [*intents, "mean"]:
        cells = []
        for d, size in cols:
            by = d["by_size"][size]
            v = by["mean"] if intent == "mean" else by["intents"].get(intent, {}).get("score")
            cells.append("–" if v is None else (f"**{v:.2f}**" if intent == "mean" else f"{v:.2f}"))
        lines.append(f"| {'**mean**' if intent == 'mean' else intent} | " + " | ".join(cells) + " |")
    section = section or (folder.name if folder.name in HELDOUT_TITLES else "snips2017_heldout")
    # the decisions taken on these runs (rules set before them, outcomes): hand-written, kept beside the records
    decisions = folder / "notes.md"
    extra = " " + decisions.read_text().strip() if decisions.is_file() else ""
    return {
        "section": section,
        "title": HELDOUT_TITLES.get(section, section),
        "table_markdown": "\n".join(lines),
        "notes": (
            "For choosing how skills are compiled without the validate sets: the protocol's draws (seeds 0-2), "
            "each intent scored on the same 200 train_full rows that none of its draws took (slot F1, value match; "
            "percent). "
            "--gazetteer: the built-in gazetteer's features and gazetteer names in the augmentation of place slots. "
            "[tag]: the run's --tag. Bases: "
            + "; ".join(f"{d['label']}: {d['system_info'].get('model', 'the embedded model')}" for d in recs)
            + "."
            + extra
        ),
        "command": " ; ".join(sorted({d.get("command", "") for d in recs})),
        "date": max((d.get("date", "") for d in recs), default=""),
    }


def compiler_setting(item: str) -> dict:
    """``NAME=VALUE`` (``head_l2=3e-3``) as {constant: value} for export.skill_compiler; the value keeps the
    constant's type, and an unknown name is an error that lists the known ones."""
    from export import skill_compiler

    name, sep, value = item.partition("=")
    key = name.strip().upper()
    known = sorted(skill_compiler.SETTINGS)
    if not sep or key not in known:
        names = ", ".join(k.lower() for k in known)
        raise SystemExit(f"--compiler {item!r}: expected NAME=VALUE with NAME one of {names}")
    old = getattr(skill_compiler, key)
    try:
        if isinstance(old, bool):
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError(value)
            new: object = value.lower() in ("true", "1")
        else:
            new = type(old)(value)
    except ValueError:
        raise SystemExit(f"--compiler {item!r}: {value!r} is not a {type(old).__name__}") from None
    return {key: new}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--system", required=True, choices=SYSTEMS)
    ap.add_argument("--sizes", default=",".join(map(str, SNIPS2017_SIZES)))
    ap.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    ap.add_argument("--intents", default=",".join(SNIPS2017_INTENTS))
    ap.add_argument("--model", help="edge-nlu base model folder (default: the embedded default model)")
    ap.add_argument("--results", default=str(RESULTS_DIR))
    ap.add_argument("--no-report", action="store_true")
    ap.add_argument("--jobs", type=int, default=1, help="intents trained in parallel processes (default 1)")
    ap.add_argument(
        "--heldout", type=int, default=0, help="score on K undrawn train_full rows instead of validate (method choice)"
    )
    ap.add_argument("--tag", default="", help="suffix of the results file name (e.g. a variant's name)")
    ap.add_argument("--gazetteer", action="store_true", help="edge-nlu: compile skills with the gazetteer")
    ap.add_argument(
        "--section",
        default="snips2017_heldout",
        help="--heldout: the results folder and report section (snips2017_base: protocol base variants)",
    )
    ap.add_argument(
        "--compiler",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="edge-nlu: set one of the skill compiler's settings for this run, e.g. head_l2=3e-3 or augment=4 "
        "(export.skill_compiler's upper-case constants; repeatable; name a variant with --tag)",
    )
    args = ap.parse_args(argv)
    # the compiler's settings, set before any worker process forks (so the workers inherit them)
    settings = {"GAZETTEER": True} if args.gazetteer else {}
    for item in args.compiler:
        settings.update(compiler_setting(item))
    if settings:
        from export import skill_compiler

        for k, v in settings.items():
            setattr(skill_compiler, k, v)
    sizes, seeds = _ints(args.sizes), _ints(args.seeds)
    intents = [i for i in args.intents.split(",") if i]
    kind = "snips2017_heldout" if args.heldout else "snips2017"
    tag = args.tag or ("gazetteer" if args.gazetteer else "")
    out = (
        Path(args.results) / (args.section if args.heldout else kind) / f"{args.system}{'-' + tag if tag else ''}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        info = make_system(args.system, args.model, protocol=True).describe()
    except SystemUnavailable as e:
        print(f"skipped: {e}", file=sys.stderr)
        return 2
    rec: dict = {
        "kind": kind,
        "heldout": args.heldout,
        "system": args.system + (" --gazetteer" if args.gazetteer else ""),
        "sizes": sizes,
        "seeds": seeds,
        "intents": intents,
        "by_size": {},
        "train_seconds_total": 0.0,
        "parse_seconds_total": 0.0,
        "complete": False,
        "system_info": info,
    }
    rec.update(run_meta(argv))
    t_start = time.perf_counter()
    for size in sizes:
        per_intent = {}
        work = [(args.system, args.model, intent, size, seeds, args.heldout) for intent in intents]
        if args.jobs > 1:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(args.jobs) as pool:
                done = list(pool.map(_run_intent, work))
        else:
            done = map(_run_intent, work)
        for intent, (res, train_s, parse_s) in zip(intents, done):
            per_intent[intent] = res
            rec["train_seconds_total"] += train_s
            rec["parse_seconds_total"] += parse_s
            print(
                f"[{time.perf_counter() - t_start:7.1f}s] {args.system} N={size} {intent}: {res['score']:.2f}"
                f" (train {train_s:.1f}s for {len(seeds)} draws)",
                file=sys.stderr,
                flush=True,
            )
        mean = sum(v["score"] for v in per_intent.values()) / len(per_intent)
        rec["by_size"][str(size)] = {"intents": per_intent, "mean": round(mean, 2)}
        rec["train_seconds_total"] = round(rec["train_seconds_total"], 1)
        rec["parse_seconds_total"] = round(rec["parse_seconds_total"], 1)
        rec["wall_seconds"] = round(time.perf_counter() - t_start, 1)
        rec["complete"] = size == sizes[-1]
        out.write_text(json.dumps(rec, indent=1) + "\n")
        print(f"{args.system} N={size}: mean slot F1 {mean:.2f} -> {out}", flush=True)
    if args.heldout:
        sec = heldout_section(out.parent, args.section)
        (out.parent / "table.json").write_text(json.dumps(sec, indent=1) + "\n")
    if not args.no_report:
        regenerate(Path(args.results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
